"""The raw hop (the denominator of every ratio): pika alone, no database.

A durable queue pre-filled with N persistent ~300-byte messages is drained
(prefetch 400, cumulative ack every 200 messages or when idle) and every
message is republished to a second durable queue with publisher confirms,
at most 1,000 in flight. Rate = N / time until the last republish is confirmed.
"""
from __future__ import annotations

import time

import pika

SOURCE, TARGET = "bench.raw.source", "bench.raw.target"
BODY = b"x" * 300


def prefill(params: pika.URLParameters, n: int) -> None:
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    for q in (SOURCE, TARGET):
        ch.queue_declare(q, durable=True)
        ch.queue_purge(q)
    conn.close()
    _publish_fast(params, n, pika.BasicProperties(delivery_mode=2))


def _publish_fast(params, n, props):
    state = {"sent": 0, "confirmed": 0}

    def on_open(conn):
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch):
        ch.confirm_delivery(lambda frame: on_confirm(ch, frame))
        pump(ch)

    def pump(ch):
        while state["sent"] < n and state["sent"] - state["confirmed"] < 2000:
            ch.basic_publish("", SOURCE, BODY, props)
            state["sent"] += 1

    def on_confirm(ch, frame):
        tag, multiple = frame.method.delivery_tag, frame.method.multiple
        state["confirmed"] = tag if multiple else state["confirmed"] + 1
        if state["confirmed"] >= n:
            ch.connection.close()
        else:
            pump(ch)

    conn = pika.SelectConnection(params, on_open_callback=on_open,
                                  on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.start()


def run(amqp_url: str, n: int) -> dict:
    params = pika.URLParameters(amqp_url)
    prefill(params, n)
    state = {"consumed": 0, "unacked": 0, "last_tag": 0, "in_flight": 0, "confirmed": 0,
             "published": 0, "t0": None, "t1": None}
    props = pika.BasicProperties(delivery_mode=2)

    def on_open(conn):
        conn.channel(on_open_callback=on_consume_channel)

    def on_consume_channel(consume_ch):
        def on_publish_channel(publish_ch):
            publish_ch.confirm_delivery(on_confirm)
            state["publish_ch"] = publish_ch
            consume_ch.basic_qos(prefetch_count=400)
            state["t0"] = time.perf_counter()
            consume_ch.basic_consume(SOURCE, on_message)
            schedule_idle_ack()
        state["consume_ch"] = consume_ch
        consume_ch.connection.channel(on_open_callback=on_publish_channel)

    def ack(multiple_tag):
        state["consume_ch"].basic_ack(multiple_tag, multiple=True)
        state["unacked"] = 0

    def on_message(ch, method, properties, body):
        state["publish_ch"].basic_publish("", TARGET, body, props)
        state["in_flight"] += 1
        state["published"] += 1
        state["unacked"] += 1
        state["last_tag"] = method.delivery_tag
        if state["unacked"] >= 200 and state["in_flight"] < 1000:
            ack(method.delivery_tag)

    def schedule_idle_ack():
        if state["t1"] is not None:
            return  # every message is through and the connection is closing
        conn = state["consume_ch"].connection
        if state["unacked"] and state["in_flight"] < 1000:
            ack(state["last_tag"])
        conn.ioloop.call_later(0.005, schedule_idle_ack)

    def on_confirm(frame):
        tag, multiple = frame.method.delivery_tag, frame.method.multiple
        done = tag - state["confirmed"] if multiple else 1
        state["confirmed"] += done
        state["in_flight"] -= done
        if state["confirmed"] >= n and state["t1"] is None:
            state["t1"] = time.perf_counter()
            state["consume_ch"].connection.close()

    conn = pika.SelectConnection(params, on_open_callback=on_open,
                                  on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.start()
    seconds = state["t1"] - state["t0"]
    return {"n": n, "seconds": seconds, "rate": n / seconds}


if __name__ == "__main__":
    import sys
    print(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20000))
