"""The operator's commands: queues, dead letters, a learner's journey.

Each refusal is an `OperatorError` with one line that says what is wrong and what to
do; `python -m shared.ops` prints it and exits 1, never with a traceback. Event ids
are shown by a prefix (8 characters, longer where two would look alike) and any
unambiguous prefix is accepted. `--json` prints what a script reads instead of a table.

Settings: AMQP_URI (the broker and its vhost), RABBIT_API (the management API,
default http://guest:guest@localhost:15672/api), OPERATOR_TOKEN (bearer token for
the services' journeys; in development one is minted from var/keys), GATEWAY_URL
(reach every service through the gateway instead of each one's own port).
"""
from __future__ import annotations

import json
import os
import uuid
from urllib.parse import quote, urlparse

import requests

from . import local

SHOWN_ID = 8
SHORTEST_PREFIX = 4


class OperatorError(Exception):
    """One line for the operator: what is wrong and what to do."""


def redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    return parsed.geturl()


def known_service(name: str) -> str:
    if name not in local.SERVICES:
        raise OperatorError(f"unknown service {name!r}; the services are {', '.join(local.SERVICES)}")
    return name


def short_ids(ids: list[str]) -> dict[str, str]:
    """Each id's shortest shown prefix: 8 characters, longer while two would look alike."""
    shown = {}
    for i in ids:
        length = SHOWN_ID
        while length < len(i) and any(o != i and o.startswith(i[:length]) for o in ids):
            length += 1
        shown[i] = i[:length]
    return shown


def match_prefix(prefix: str, ids: list[str], what: str) -> str:
    if len(prefix) < SHORTEST_PREFIX:
        raise OperatorError(f"give at least {SHORTEST_PREFIX} characters of the {what} id (got {prefix!r})")
    found = sorted({i for i in ids if i.startswith(prefix.lower())})
    if not found:
        raise OperatorError(f"no {what} with an id starting {prefix!r}")
    if len(found) > 1:
        raise OperatorError(f"{prefix!r} is the start of {len(found)} {what} ids "
                            f"({', '.join(short_ids(found).values())}): give more characters")
    return found[0]


# -- the broker -------------------------------------------------------------------

def amqp_uri(env=os.environ) -> str:
    return env["AMQP_URI"]


def vhost(env=os.environ) -> str:
    path = urlparse(amqp_uri(env)).path
    return requests.utils.unquote(path[1:]) if path not in ("", "/") else "/"


def management_get(path: str, env=os.environ):
    api = env.get("RABBIT_API", "http://guest:guest@localhost:15672/api")
    parsed = urlparse(api)
    base = parsed._replace(netloc=f"{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")).geturl()
    where = f"the RabbitMQ management API at {redact(api)}"
    try:
        answer = requests.get(base.rstrip("/") + path, timeout=10,
                              auth=(parsed.username or "guest", parsed.password or "guest"))
    except requests.RequestException as exc:
        raise OperatorError(f"{where} does not answer ({_reason(exc)}): enable it with "
                            "`rabbitmq-plugins enable rabbitmq_management`, or set RABBIT_API") from None
    if answer.status_code == 401:
        raise OperatorError(f"{where} refused user {parsed.username or 'guest'}: "
                            "set RABBIT_API=http://USER:PASSWORD@HOST:15672/api")
    if answer.status_code == 404:
        return None
    if answer.status_code != 200 or "json" not in answer.headers.get("Content-Type", ""):
        raise OperatorError(f"{where} answered {answer.status_code}, not the management API: "
                            "check RABBIT_API")
    return answer.json()


def queue_rows(env=os.environ) -> list[dict]:
    rows = management_get(f"/queues/{quote(vhost(env), safe='')}", env)
    if rows is None:
        raise OperatorError(f"the broker has no vhost {vhost(env)!r} (the one AMQP_URI names)")
    out = []
    for q in sorted(rows, key=lambda q: q["name"]):
        stats = q.get("message_stats", {})
        rate = lambda k: round(stats.get(k + "_details", {}).get("rate", 0.0), 1)  # noqa: E731
        out.append({"queue": q["name"], "ready": q.get("messages_ready", 0),
                    "unacked": q.get("messages_unacknowledged", 0), "consumers": q.get("consumers", 0),
                    "in_per_s": rate("publish"), "out_per_s": rate("deliver_get"), "acked_per_s": rate("ack"),
                    "dead_letters": q["name"].endswith(".dead-letter")})
    return out


def open_dead_letters(service: str, env=os.environ):
    import pika.exceptions

    from .deadletters import DeadLetters
    known_service(service)
    try:
        return DeadLetters(amqp_uri(env), service)
    except pika.exceptions.ProbableAuthenticationError:
        raise OperatorError(f"RabbitMQ at {redact(amqp_uri(env))} refused the credentials: "
                            "check AMQP_URI") from None
    except pika.exceptions.AMQPConnectionError as exc:
        raise OperatorError(f"RabbitMQ is not reachable at {redact(amqp_uri(env))} ({_reason(exc)}): "
                            "start it (`make run` says how) or set AMQP_URI") from None


def fetch_dead_letters(dlq, service: str, env=os.environ):
    import pika.exceptions
    try:
        return dlq.fetch()
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            raise OperatorError(f"{service} has no dead-letter queue in vhost {vhost(env)!r} yet "
                                "(it is declared when the service first starts)") from None
        raise


def letter_summary(d, shown: str) -> dict:
    return {"event_id": d.message_id, "shown_id": shown, "type": d.type,
            "attempts": d.headers.get("x-cea-attempts"), "reason": str(d.headers.get("x-cea-reason", "")),
            "dead_lettered_at": str(d.headers.get("x-cea-dead-lettered-at", "")), "error": d.error}


# -- a learner's journey ----------------------------------------------------------

def operator_token(env=os.environ) -> str:
    if env.get("OPERATOR_TOKEN"):
        return env["OPERATOR_TOKEN"]
    from shared.tokens import ensure_dev_keys, mint
    private, _ = ensure_dev_keys(local.VAR / "keys")
    return mint(private.read_bytes(), "operator")


def service_urls(via: str | None, env=os.environ) -> dict[str, str]:
    """Where each service answers: all through the gateway (`via`), or each on its port."""
    via = via or env.get("GATEWAY_URL")
    if via:
        return {s: via.rstrip("/") for s in local.SERVICES}
    return {s: local.url_of(s, env) for s in local.SERVICES}


def journey_steps(correlation_id: str, via: str | None = None, env=os.environ, warn=print) -> list[dict]:
    try:
        key = str(uuid.UUID(correlation_id))
    except ValueError:
        raise OperatorError(f"{correlation_id!r} is not an enrollment id (a UUID, "
                            "e.g. 3f1c5a2e-8d4b-4c7e-9a10-2b6f0e4d8c11)") from None
    token = operator_token(env)
    steps, reached = [], 0
    for service, base in service_urls(via, env).items():
        url = f"{base}/{service}/journeys/{key}"
        try:
            answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        except requests.RequestException as exc:
            warn(f"{service}: not reachable at {base} ({_reason(exc)})")
            continue
        if answer.status_code in (401, 403):
            raise OperatorError(f"{service} refused the operator token ({answer.status_code}): "
                                "set OPERATOR_TOKEN to a token of role operator")
        if answer.status_code == 200:
            reached += 1
            steps += answer.json()["steps"]
        elif answer.status_code == 404 and "json" in answer.headers.get("Content-Type", ""):
            reached += 1  # this service has no event of that journey
        else:
            warn(f"{service}: {url} answered {answer.status_code}")
    if not reached:
        raise OperatorError("no service answered: are they running (`make status`)? "
                            "Through a gateway, set GATEWAY_URL or pass --via")
    if not steps:
        raise OperatorError(f"no service has an event of journey {key}: check the enrollment id")
    return steps


def journey_rows(steps: list[dict]) -> list[dict]:
    """Each event where it was emitted (when it happened) and handled (when committed), in order."""
    def when(s):
        return s["occurred_at"] if s["direction"] == "emitted" else s["at"]

    ordered = sorted(steps, key=lambda s: (when(s), s["direction"] == "handled"))
    shown = short_ids(sorted({s["event_id"] for s in ordered}))
    return [{"at": when(s), "service": s["service"], "direction": s["direction"], "type": s["type"],
             "event_id": s["event_id"], "shown_id": shown[s["event_id"]]} for s in ordered]


def _reason(exc: BaseException) -> str:
    text = f"{exc} {exc!r}"
    for known in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if known.lower() in text.lower():
            return known.lower()
    return (str(exc) or type(exc).__name__).splitlines()[0][:120]


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
