"""The operator's command line.

    python -m shared.ops start | stop | status | migrate
    python -m shared.ops queues                        depth, consumers, rates, dead letters
    python -m shared.ops dead-letters list SERVICE
    python -m shared.ops dead-letters show SERVICE EVENT_ID
    python -m shared.ops dead-letters replay SERVICE (EVENT_ID | --all)
    python -m shared.ops dead-letters discard SERVICE EVENT_ID
    python -m shared.ops trace CORRELATION_ID          one learner's journey across services
    python -m shared.ops demo                          one learner end to end (services running)
    python -m shared.ops serve SERVICE                 run one service in this process (containers)

AMQP_URI and RABBIT_API (management API, default http://guest:guest@localhost:15672/api)
say where the broker is; OPERATOR_TOKEN is the bearer token for the services (in
development one is minted from var/keys).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import quote, urlparse

import requests
from rich.console import Console
from rich.table import Table

from . import local

console = Console(width=max(Console().width, 110))


def _amqp_uri() -> str:
    return os.environ["AMQP_URI"]


def _vhost() -> str:
    path = urlparse(_amqp_uri()).path
    return requests.utils.unquote(path[1:]) if path not in ("", "/") else "/"


def _operator_token() -> str:
    if os.environ.get("OPERATOR_TOKEN"):
        return os.environ["OPERATOR_TOKEN"]
    from shared.tokens import ensure_dev_keys, mint
    private, _ = ensure_dev_keys(local.VAR / "keys")
    return mint(private.read_bytes(), "operator")


def queues(args) -> int:
    api = os.environ.get("RABBIT_API", "http://guest:guest@localhost:15672/api")
    parsed = urlparse(api)
    auth = (parsed.username or "guest", parsed.password or "guest")
    base = parsed._replace(netloc=parsed.hostname + (f":{parsed.port}" if parsed.port else "")).geturl()
    rows = requests.get(f"{base}/queues/{quote(_vhost(), safe='')}", auth=auth, timeout=10).json()
    table = Table(title=f"queues in vhost {_vhost()}")
    for column in ("queue", "ready", "unacked", "consumers", "in /s", "out /s", "acked /s"):
        table.add_column(column, justify="left" if column == "queue" else "right")
    for q in sorted(rows, key=lambda q: q["name"]):
        stats = q.get("message_stats", {})
        rate = lambda k: f"{stats.get(k + '_details', {}).get('rate', 0):.1f}"  # noqa: E731
        name = q["name"]
        style = "bold red" if name.endswith(".dead-letter") and q.get("messages", 0) else None
        table.add_row(name, str(q.get("messages_ready", 0)), str(q.get("messages_unacknowledged", 0)),
                      str(q.get("consumers", 0)), rate("publish"), rate("deliver_get"), rate("ack"),
                      style=style)
    console.print(table)
    return 0


def dead_letters(args) -> int:
    from .deadletters import DeadLetters, operational_view
    with DeadLetters(_amqp_uri(), args.service) as dlq:
        letters = dlq.fetch()
        if args.action == "list":
            table = Table(title=f"{args.service}: {len(letters)} dead letters")
            for column in ("event id", "type", "attempts", "reason", "when", "error"):
                table.add_column(column)
            for d in letters:
                table.add_row(d.message_id, d.type, str(d.headers.get("x-cea-attempts", "")),
                              str(d.headers.get("x-cea-reason", "")),
                              str(d.headers.get("x-cea-dead-lettered-at", ""))[:19], d.error[:80])
            console.print(table)
            return 0
        chosen = [d for d in letters if args.all or d.message_id == args.event_id]
        if not chosen:
            console.print(f"no dead letter {args.event_id} in {args.service}")
            return 1
        for d in chosen:
            if args.action == "show":  # ids and times only: an operator sees no personal data
                console.print_json(json.dumps(operational_view(d), default=str, ensure_ascii=False))
            elif args.action == "replay":
                dlq.replay(d)
                console.print(f"replayed {d.message_id} to {args.service}")
            elif args.action == "discard":
                dlq.discard(d)
                console.print(f"discarded {d.message_id}")
    return 0


def trace(args) -> int:
    token = _operator_token()
    steps = []
    for service in local.SERVICES:
        try:
            answer = requests.get(f"{local.url_of(service)}/{service}/journeys/{args.correlation_id}",
                                  headers={"Authorization": f"Bearer {token}"}, timeout=10)
        except requests.RequestException as exc:
            console.print(f"[yellow]{service}: unreachable ({exc})[/]")
            continue
        if answer.status_code == 200:
            steps += answer.json()["steps"]
    print_journey(steps)
    return 0 if steps else 1


def print_journey(steps) -> None:
    """Each event where it was emitted (when it happened) and handled (when committed)."""
    def when(s):
        return s["occurred_at"] if s["direction"] == "emitted" else s["at"]

    table = Table(title="journey")
    for column in ("time (UTC)", "service", "", "event", "event id"):
        table.add_column(column, no_wrap=True)
    for s in sorted(steps, key=lambda s: (when(s), s["direction"] == "handled")):
        table.add_row(when(s)[11:23], s["service"],
                      "→ emitted" if s["direction"] == "emitted" else "← handled", s["type"], s["event_id"][:8])
    console.print(table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start")
    sub.add_parser("stop")
    sub.add_parser("status")
    sub.add_parser("migrate")
    sub.add_parser("queues")
    sub.add_parser("demo")
    serve = sub.add_parser("serve", help="run one service in this process (container entrypoint)")
    serve.add_argument("service", choices=list(local.SERVICES))
    t = sub.add_parser("trace")
    t.add_argument("correlation_id")
    d = sub.add_parser("dead-letters")
    d.add_argument("action", choices=["list", "show", "replay", "discard"])
    d.add_argument("service")
    d.add_argument("event_id", nargs="?")
    d.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return local.serve(args.service)
    local.load_dev_env()
    if args.command == "dead-letters" and args.action != "list" and not (args.event_id or args.all):
        parser.error("give an EVENT_ID (or --all for replay/discard)")
    handlers = {"start": lambda a: local.start(), "stop": lambda a: local.stop(),
                "status": lambda a: local.status(),
                "migrate": lambda a: local.migrate() or 0, "queues": queues,
                "dead-letters": dead_letters, "trace": trace, "demo": _demo}
    return handlers[args.command](args)


def _demo(args) -> int:
    from .journey import demo
    return demo()


if __name__ == "__main__":
    sys.exit(main())
