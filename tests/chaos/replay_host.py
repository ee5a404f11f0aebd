"""The five services in one process, relays off, for one replay order (scenario 5b).
Prints READY once every container runs; stops them when stdin closes.

    python -m tests.chaos.replay_host <config.json>
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import json  # noqa: E402
import sys  # noqa: E402

from eventlet.hubs import trampoline  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402

from shared.tokens import generate_key_pair  # noqa: E402
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS, load_class  # noqa: E402

PUBLIC_KEY = generate_key_pair()[1].decode()  # the replay takes no HTTP calls; a key is required


def main():
    config = json.loads(open(sys.argv[1]).read())
    containers = []
    for name, url in config["databases"].items():
        containers.append(ServiceContainer(load_class(SERVICE_CLASSES[name]), {
            **TEST_SETTINGS, "AMQP_URI": config["amqp_uri"], "DATABASE_URL": url,
            "WEB_SERVER_ADDRESS": "127.0.0.1:0", "OUTBOX_RELAY": "false", "ID_HASH_KEY": "chaos-id-hash-key",
            "RETRY_DELAYS_SECONDS": "0.2,0.4,0.8", "DEFER_MAX_ATTEMPTS": "400",
            "EXPIRY_INTERVAL_SECONDS": "3600", "CLOSE_INTERVAL_SECONDS": "3600",
            "JWT_PUBLIC_KEY": PUBLIC_KEY}))
    for container in containers:
        container.start()
    print("READY", flush=True)
    try:
        trampoline(sys.stdin.fileno(), read=True)  # the driver closes stdin to stop us
    finally:
        for container in containers:
            container.stop()


if __name__ == "__main__":
    main()
