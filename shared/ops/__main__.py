"""The operator's command line.

    python -m shared.ops start | stop | status | migrate
    python -m shared.ops migrate SERVICE [--wait SECONDS]     one service's schema (a Job;
                                                              --wait: an init container)
    python -m shared.ops queues [--json]                      depth, consumers, rates, dead letters
    python -m shared.ops dead-letters list SERVICE [--json]
    python -m shared.ops dead-letters show SERVICE EVENT_ID [--json]
    python -m shared.ops dead-letters replay SERVICE (EVENT_ID | --all)
    python -m shared.ops dead-letters discard SERVICE EVENT_ID
    python -m shared.ops trace ENROLLMENT_ID [--via URL] [--json]   one learner's journey
    python -m shared.ops demo                                  one learner end to end (services running)
    python -m shared.ops serve SERVICE [--relay]               run one service (or its outbox relay)
                                                               in this process
    python -m shared.ops gateway-docs DIR                      write the API documentation page under DIR/docs

EVENT_ID may be any unambiguous prefix (at least 4 characters) of an event id, as
the tables show them. Settings (environment): AMQP_URI, the broker and its vhost;
RABBIT_API, the management API (default http://guest:guest@localhost:15672/api);
OPERATOR_TOKEN, the bearer token for the services (in development one is minted
from var/keys); GATEWAY_URL, reach the services through the gateway.
"""
from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from . import local
from .deadletters import operational_view
from .operator import (OperatorError, dumps, fetch_dead_letters, journey_rows, journey_steps, known_service,
                       letter_summary, match_prefix, open_dead_letters, queue_rows, short_ids)

console = Console(width=max(Console().width, 110))


def queues(args) -> int:
    rows = queue_rows()
    if args.json:
        print(dumps(rows))
        return 0
    from .operator import vhost
    table = Table(title=f"queues in vhost {vhost()}")
    for column in ("queue", "ready", "unacked", "consumers", "in /s", "out /s", "acked /s"):
        table.add_column(column, justify="left" if column == "queue" else "right", no_wrap=True)
    for q in rows:
        style = "bold red" if q["dead_letters"] and q["ready"] + q["unacked"] else None
        table.add_row(q["queue"], str(q["ready"]), str(q["unacked"]), str(q["consumers"]),
                      f"{q['in_per_s']:.1f}", f"{q['out_per_s']:.1f}", f"{q['acked_per_s']:.1f}", style=style)
    console.print(table)
    return 0


def dead_letters(args) -> int:
    known_service(args.service)
    with open_dead_letters(args.service) as dlq:
        letters = fetch_dead_letters(dlq, args.service)
        shown = short_ids([d.message_id for d in letters])
        if args.action == "list":
            summaries = [letter_summary(d, shown[d.message_id]) for d in letters]
            if args.json:
                print(dumps(summaries))
                return 0
            table = Table(title=f"{args.service}: {len(letters)} dead letters")
            for column in ("event id", "type", "attempts", "reason", "when", "error"):
                table.add_column(column, no_wrap=column != "error")
            for d in summaries:
                table.add_row(d["shown_id"], d["type"], str(d["attempts"] or ""), d["reason"],
                              d["dead_lettered_at"][:19], d["error"][:80])
            console.print(table)
            return 0
        if args.all:
            chosen = letters
        else:
            wanted = match_prefix(args.event_id, [d.message_id for d in letters],
                                  f"{args.service} dead letter")
            chosen = [d for d in letters if d.message_id == wanted]
        done = []
        for d in chosen:
            if args.action == "show":  # ids and times only: an operator sees no personal data
                shown_letter = {**letter_summary(d, shown[d.message_id]), **operational_view(d)}
                if args.json:
                    print(dumps(shown_letter))
                else:
                    console.print_json(json.dumps(shown_letter, default=str, ensure_ascii=False))
                continue
            if args.action == "replay":
                dlq.replay(d)
            else:
                dlq.discard(d)
            done.append(d.message_id)
            if not args.json:
                console.print(f"{'replayed' if args.action == 'replay' else 'discarded'} {d.message_id} "
                              f"({d.type}){' to ' + args.service if args.action == 'replay' else ''}")
        if args.json and args.action != "show":
            print(dumps({"discarded" if args.action == "discard" else "replayed": done}))
    return 0


def trace(args) -> int:
    rows = journey_rows(journey_steps(args.correlation_id, via=args.via,
                                      warn=lambda text: print(text, file=sys.stderr)))
    if args.json:
        print(dumps(rows))
    else:
        print_journey(rows)
    return 0


def print_journey(rows) -> None:
    table = Table(title="journey")
    for column in ("time (UTC)", "service", "", "event", "event id"):
        table.add_column(column, no_wrap=True)
    for r in rows:
        direction = "→ emitted" if r["direction"] == "emitted" else "← handled"
        table.add_row(r["at"][11:23], r["service"], direction, r["type"], r["shown_id"])
    console.print(table)


def gateway_docs(args) -> int:
    from .gateway import write_docs
    print(write_docs(args.directory, list(local.SERVICES)))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start")
    sub.add_parser("stop")
    sub.add_parser("status")
    migrate = sub.add_parser("migrate", help="every service's schema (development), or one service's")
    migrate.add_argument("service", nargs="?", choices=list(local.SERVICES))
    migrate.add_argument("--wait", type=float, metavar="SECONDS",
                         help="change nothing: wait until the schema is at head "
                              "(exit 1 when it is not in time)")
    sub.add_parser("demo")
    q = sub.add_parser("queues")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    serve = sub.add_parser("serve", help="run one service in this process (container entrypoint)")
    serve.add_argument("service", choices=list(local.SERVICES))
    serve.add_argument("--relay", action="store_true", help="the service's outbox relay process instead")
    t = sub.add_parser("trace")
    t.add_argument("correlation_id", metavar="ENROLLMENT_ID")
    t.add_argument("--via", help="the gateway's URL (default: GATEWAY_URL, else each service's own port)")
    t.add_argument("--json", action="store_true")
    d = sub.add_parser("dead-letters")
    d.add_argument("action", choices=["list", "show", "replay", "discard"])
    d.add_argument("service")
    d.add_argument("event_id", nargs="?", help="an event id or an unambiguous prefix of one")
    d.add_argument("--all", action="store_true")
    d.add_argument("--json", action="store_true")
    g = sub.add_parser("gateway-docs")
    g.add_argument("directory")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return local.serve(args.service, relay=args.relay)
    if args.command == "migrate" and args.service:  # in a container: no development settings
        from . import schema
        if args.wait is not None:
            return schema.wait_until_current(args.service, args.wait)
        return schema.migrate(args.service)
    local.load_dev_env()
    if args.command == "dead-letters" and args.action != "list" and not (args.event_id or args.all):
        parser.error("give an EVENT_ID (or --all for replay/discard)")
    if args.command == "dead-letters" and args.all and args.action not in ("replay", "discard"):
        parser.error("--all is for replay and discard")
    handlers = {"start": lambda a: local.start(), "stop": lambda a: local.stop(),
                "status": lambda a: local.status(),
                "migrate": lambda a: local.migrate() or 0, "queues": queues,
                "dead-letters": dead_letters, "trace": trace, "demo": _demo, "gateway-docs": gateway_docs}
    try:
        return handlers[args.command](args)
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader (head, a script) stopped reading
        sys.stderr.close()
        return 0


def _demo(args) -> int:
    from .journey import demo
    return demo()


if __name__ == "__main__":
    sys.exit(main())
