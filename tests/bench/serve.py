"""Runs one service container in this process for a hop measurement and prints
the instant it starts consuming (the hop's t0). Usage:
    python -m tests.bench.serve <module:Class> <config.json>"""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from eventlet.hubs import trampoline  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402


def main():
    module, _, name = sys.argv[1].partition(":")
    cls = getattr(importlib.import_module(module), name)
    config = json.loads(open(sys.argv[2]).read())
    container = ServiceContainer(cls, config)
    profile = None
    if os.environ.get("BENCH_PROFILE"):  # python -m tests.bench with a profile of the service
        import cProfile
        profile = cProfile.Profile()
        profile.enable()
    container.start()
    # The hop starts when the service does: its consumer is spawned and connects now
    # (start-up work before it — imports, the migrations check — is not the hop's).
    print(f"T0 {time.time():.6f}", flush=True)
    try:
        # The driver closes stdin to stop us; wait for that without blocking the hub.
        trampoline(sys.stdin.fileno(), read=True)
    finally:
        container.stop()
        if profile:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])


if __name__ == "__main__":
    main()
