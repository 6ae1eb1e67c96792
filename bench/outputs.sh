#!/usr/bin/env bash
# mkrescue per output: ISO, USB, PXE, RAWDISK and PORTABLE (ours only), our mkrescue and ReaR 2.7's
# (the Debian package) in the same BIOS guest under TCG, with the same local.conf (FIRMWARE_FILES=(no),
# MODULES=(loaded_modules): ReaR's lean settings; its defaults are bench/mkrescue.sh's ISO figure). Prints
# the wall time and the bytes each run wrote (test/vm/lib/outputs.ts, ~30 minutes).
#   bench/outputs.sh [--no-run] [--record]   (needs root, QEMU and the guest image; `npm run build` first)
# --no-run prints the recorded figures (bench/results/outputs/mkrescue.json); --record records the new run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --no-run ]; then
  node_modules/.bin/bun -e '
    const { renderOutputs } = await import("./test/vm/lib/outputs.ts");
    const r = JSON.parse(require("fs").readFileSync("bench/results/outputs/mkrescue.json", "utf8"));
    console.log(renderOutputs(r));'
  exit 0
fi
[ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
exec node_modules/.bin/bun test/vm/run.ts outputs "$@"
