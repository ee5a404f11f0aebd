#!/bin/sh
# Writes the broker's definitions (users, the cea vhost, the policies) with the users'
# credentials from their Secrets: the operator's default user (administrator) and the
# services' user (cea-rabbitmq-user). Runs as an init container of every broker pod;
# RabbitMQ imports the file at boot (load_definitions), so a rotated password takes
# effect at the next restart. Credentials must be URL-safe (the services put them in a URL).
set -eu
template=${1:-/etc/cea-broker/definitions.template.json}
out=${2:-/etc/rabbitmq/definitions/definitions.json}
for name in ADMIN_USERNAME ADMIN_PASSWORD CEA_USERNAME CEA_PASSWORD; do
  eval "value=\${$name:-}"
  case "$value" in
    "") echo "render-definitions: $name is empty" >&2; exit 1 ;;
    *[!A-Za-z0-9._~-]*) echo "render-definitions: $name has characters other than A-Z a-z 0-9 . _ ~ -" >&2; exit 1 ;;
  esac
done
umask 077
sed -e "s|@ADMIN_USERNAME@|$ADMIN_USERNAME|g" -e "s|@ADMIN_PASSWORD@|$ADMIN_PASSWORD|g" \
    -e "s|@CEA_USERNAME@|$CEA_USERNAME|g" -e "s|@CEA_PASSWORD@|$CEA_PASSWORD|g" \
    "$template" > "$out.tmp"
mv "$out.tmp" "$out"
echo "render-definitions: wrote $out"
