#!/usr/bin/env bash
# npm run proto:check — the contract gate:
#   1. buf lint (STANDARD + COMMENTS)
#   2. buf breaking (WIRE_JSON) against the committed baseline image proto/baseline.binpb
#   3. gen/, openapi/openapi.json and openapi/openapi.d.ts are exactly what `npm run generate` makes from proto/ now
# Accepting a schema change: `npm run proto:baseline` and commit proto/baseline.binpb.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

buf lint
buf breaking --against proto/baseline.binpb

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/openapi/plugin"
cp -r openapi/plugin/. "$tmp/openapi/plugin/" 2>/dev/null || true
buf generate -o "$tmp"
status=0
diff -r "$tmp/gen" gen || { echo "proto:check: gen/ is not what 'npm run generate' makes from proto/ (never edit gen/ by hand)" >&2; status=1; }
for f in "$tmp"/openapi/*.json; do
  [ -e "$f" ] || continue
  diff "$f" "openapi/$(basename "$f")" || { echo "proto:check: openapi/$(basename "$f") is stale: run 'npm run generate'" >&2; status=1; }
done
# The contract types: openapi-typescript on the freshly generated document, as `npm run generate` does.
if [ -e "$tmp/openapi/openapi.json" ]; then
  openapi-typescript "$tmp/openapi/openapi.json" -o "$tmp/openapi/openapi.d.ts" >/dev/null \
    || { echo "proto:check: openapi-typescript failed on the generated openapi.json" >&2; status=1; }
  diff "$tmp/openapi/openapi.d.ts" openapi/openapi.d.ts || { echo "proto:check: openapi/openapi.d.ts is stale: run 'npm run generate'" >&2; status=1; }
else
  echo "proto:check: buf generate made no openapi/openapi.json (is the openapi plugin in buf.gen.yaml?)" >&2
  status=1
fi
[ $status -eq 0 ] && echo "proto:check: lint, breaking (WIRE_JSON) and generated code are clean"
exit $status
