#!/usr/bin/env bash
# Makes sure the broker (with its management API) and PostgreSQL the tests use are
# up on this machine, starting them from their Debian packages when they are down.
# Also installs the Debian packages the tests and the PDFs need (a CJK font,
# chromium and its driver for the browser test, nginx for the gateway, prometheus
# for promtool and the alert tests) when they are missing.
# Used by `make test` and .ci/run; harmless when everything is already there.
set -uo pipefail

PACKAGES=(fonts-dejavu-core fonts-droid-fallback chromium chromium-driver nginx prometheus)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || { echo "could not install ${missing[*]}" >&2; exit 1; }
  else
    echo "missing Debian packages: ${missing[*]} (install them as root)" >&2
  fi
fi

rabbit_up() { curl -sf -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! amqp_up; then
  if command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
    rabbitmqctl await_startup --timeout 120 >/dev/null
  else
    echo "RabbitMQ is not reachable on 127.0.0.1:5672 and not installed here" >&2; exit 1
  fi
fi
if ! rabbit_up; then
  echo "enabling the RabbitMQ management plugin"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
  rabbit_up || { echo "RabbitMQ management API did not come up" >&2; exit 1; }
fi
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 60); do pg_up && break; sleep 1; done
  fi
  pg_up || echo "PostgreSQL is not reachable: the PostgreSQL variants of the tests will be skipped" >&2
fi
exit 0
