#!/usr/bin/env bash
# Use the mock from a test harness in any language: start it on a free port, wait for the ready
# file, read the URL from it, and go. The server stops when the script exits.
set -euo pipefail
ready="$(mktemp -d)/mock.url"
aem-guides-mock serve --port 0 --ready-file "$ready" --scenario seeded-replay > /dev/null &
server=$!
trap 'kill "$server"; wait "$server" || true' EXIT
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
url="$(cat "$ready")"
curl --silent --fail --user admin:admin --header 'Content-Type: application/json' \
     --data '{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}' \
     "$url/bin/guides/v1/assets/process"
