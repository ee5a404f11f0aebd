"""Runs one service in this process: what `nameko run` does, plus what a supervisor
(Kubernetes, compose, `make run`) relies on.

    python -m shared.runner --config services/billing/config.yaml services.billing.service:BillingService

- The exit status says what happened: 0 after a requested stop, 1 when the service
  died (a background loop that could not go on), 2 when it could not start (the
  HTTP port is taken, a setting is missing). A supervisor restarts on non-zero.
- SIGTERM (or SIGINT) stops it gracefully: no new work, the batch in hand finished
  or released, within `STOP_TIMEOUT_SECONDS` (8; Kubernetes waits 30). Past that
  the container is killed, and an alarm ends the process whatever else happens.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402  (before anything imports socket or threading)

import argparse  # noqa: E402
import errno  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import logging.config  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402

from shared import resilience  # noqa: E402
from shared.settings import CannotStart, load_config  # noqa: E402

log = logging.getLogger("shared.runner")

EXIT_STOPPED, EXIT_DIED, EXIT_CANNOT_START = 0, 1, 2


def load_service(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run(service_cls, config: dict) -> int:
    container = ServiceContainer(service_cls, config)
    stop_seconds = float(config.get("STOP_TIMEOUT_SECONDS", 8))
    stop_requested = []

    def stop_gracefully():
        try:
            with eventlet.Timeout(stop_seconds):
                container.stop()
        except eventlet.Timeout:
            log.warning("%s did not stop within %.0f s; killing it", service_cls.name, stop_seconds)
            container.kill()

    def on_signal(signum, _frame):
        if not stop_requested:
            stop_requested.append(signum)
            signal.alarm(int(stop_seconds) + 2)  # nothing may hold the process past this
            eventlet.spawn_n(stop_gracefully)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # A loop that cannot go on kills the container; should that hang, the alarm ends it.
    resilience.fatal_hooks.append(lambda: signal.alarm(15))
    try:
        container.start()
    except CannotStart as exc:
        container.kill()
        print(f"{service_cls.name}: cannot start: {exc}", file=sys.stderr)
        log.critical("cannot start: %s", exc)
        return EXIT_CANNOT_START
    waiter = eventlet.spawn(container.wait)
    while True:
        try:
            waiter.wait()
        except OSError as exc:
            if exc.errno == errno.EINTR:  # a signal arrived while waiting
                continue
            raise
        except Exception:
            log.critical("%s died; exiting so that it is restarted", service_cls.name)
            return EXIT_DIED
        log.info("%s stopped", service_cls.name)
        return EXIT_STOPPED


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the service's config.yaml")
    parser.add_argument("service", help="module:Class, e.g. services.billing.service:BillingService")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if "LOGGING" in config:
        logging.config.dictConfig(config["LOGGING"])
    else:
        logging.basicConfig(level=logging.INFO)
    return run(load_service(args.service), config)


if __name__ == "__main__":
    sys.exit(main())
