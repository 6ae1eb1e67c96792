#!/usr/bin/env bash
# How many cases of the bad-input corpus (test/fixtures/bad-input) get a clear error from dist/rear: the
# expected exit code, the expected message on one line, no stack trace, no hang. Prints a line per
# family and the cases that fail. Run as root after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/bun bench/bad-input.ts "$@"
