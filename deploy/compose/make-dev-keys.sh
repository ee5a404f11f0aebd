#!/bin/sh
# Development keys for the compose file, made once (the volumes keep them): the
# development token pair, whose private half only the token minter mounts; the
# certificate signing key, which only the certificate service mounts; and identity's
# token signing key, which only identity mounts (it publishes the public half as JWKS).
# Runs in a one-shot container of the image as root (to write the fresh volumes), then
# hands the files to the services' user.
# Usage: make-dev-keys.sh PUBLIC_DIR CERTIFICATE_DIR TOKEN_DIR IDENTITY_DIR
set -eu
public=${1:-/keys/public}
certificate=${2:-/keys/certificate}
token=${3:-/keys/token}
identity=${4:-/keys/identity}
owner=${CEA_KEYS_OWNER:-10001:10001}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -s "$token/jwt-private.pem" ] || [ ! -s "$public/jwt-public.pem" ]; then
  (cd "$work" && python -m shared.tokens keys)
  cp "$work/var/keys/jwt-private.pem" "$token/jwt-private.pem"
  cp "$work/var/keys/jwt-public.pem" "$public/jwt-public.pem"
  echo "made the development token signing key pair"
fi
if [ ! -s "$certificate/certificate-signing.pem" ]; then
  python -m services.certificate.signing keys --file "$certificate/certificate-signing.pem"
  echo "made the development certificate signing key"
fi
if [ ! -s "$identity/token-signing.pem" ]; then
  mkdir -p "$work/identity"
  (cd "$work/identity" && python -m shared.tokens keys)
  cp "$work/identity/var/keys/jwt-private.pem" "$identity/token-signing.pem"
  echo "made identity's development token signing key"
fi
chown "$owner" "$token/jwt-private.pem" "$public/jwt-public.pem" "$certificate/certificate-signing.pem" \
  "$identity/token-signing.pem"
chmod 0400 "$token/jwt-private.pem" "$certificate/certificate-signing.pem" "$identity/token-signing.pem"
chmod 0444 "$public/jwt-public.pem"
