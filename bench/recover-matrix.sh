#!/usr/bin/env bash
# Recover figures: every VM scenario (test/vm/scenarios/) recovered with our tool (and, with --rear27, with
# ReaR 2.7), one at a time, each recorded in bench/results/<tool>-<scenario>.json; then the table of
# bench/results/README.md (ours next to ReaR 2.7: mkbackup, rescue image, recover, rescue boot → recovered
# login, restore rate) is printed.
#   bench/recover-matrix.sh [--rear27] [SCENARIO ...]     (root, QEMU and the guest image; `npm run build` first)
# Under TCG each scenario takes 14-25 minutes (ReaR 2.7's 20-30): all of them about four hours for ours.
# Scenarios that fail are in the table as FAIL with the failed check or phase; the script goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
TOOLS=(ours)
if [ "${1:-}" = --rear27 ]; then TOOLS+=(rear27); shift; fi
[ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
if [ $# -gt 0 ]; then SCENARIOS=("$@"); else mapfile -t SCENARIOS < <(node_modules/.bin/bun test/vm/run.ts list | sed -n 's/^\([a-z0-9-]*\): .*/\1/p'); fi
for s in "${SCENARIOS[@]}"; do
  for t in "${TOOLS[@]}"; do
    echo "== $s with $t ($(date +%T))"
    node_modules/.bin/bun test/vm/run.ts --scenario "$s" --tool "$t" --record | tail -n 3
  done
done
sed -n '/^## Ours next to ReaR 2.7/,$p' bench/results/README.md
