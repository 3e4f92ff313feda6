#!/bin/sh
# Prints a demo bearer token (RS256, signed with bff/demo-keys/demo-rs256.key.pem, valid for a
# day) for the demo profiles' protected routes.
#   usage: scripts/demo-token.sh [SUBJECT] [SCOPES]
set -eu
cd "$(dirname "$0")/.."
SUB=${1:-42}
SCOPES=${2:-"orders:read profile"}
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
NOW=$(date +%s)
HEADER=$(printf '{"alg":"RS256","typ":"JWT","kid":"demo"}' | b64)
PAYLOAD=$(printf '{"sub":"%s","iss":"https://id.demo.bffd","aud":"bffd-demo","iat":%s,"exp":%s,"scope":"%s","plan":"free"}' \
    "$SUB" "$NOW" $((NOW + 86400)) "$SCOPES" | b64)
SIG=$(printf '%s.%s' "$HEADER" "$PAYLOAD" | openssl dgst -sha256 -sign bff/demo-keys/demo-rs256.key.pem | b64)
printf '%s.%s.%s\n' "$HEADER" "$PAYLOAD" "$SIG"
