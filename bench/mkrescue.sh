#!/usr/bin/env bash
# Rescue image figures: wall time of `mkrescue` and the ISO's size, ours next to ReaR 2.7's with its
# defaults (MODULES=(all_modules), all firmware) and with FIRMWARE_FILES=(no) MODULES=(loaded_modules),
# all three in the same TCG guest (a Debian 12 machine with MD, LUKS, LVM, xfs, btrfs, vfat and swap:
# test/vm/lib/rescue.ts), measured by `bun test/vm/run.ts rescue --rear27`. Targets (issue 6): at most
# 1/5 of ReaR's default time and 1/2 of its default ISO size. Our ISO is also booted and checked there.
#   bench/mkrescue.sh [--no-run] [bios|uefi|all]   (needs root, QEMU and the guest image; `npm run build` first)
# Without --no-run it runs the harness first (one guest at a time, ~15 minutes per firmware under TCG),
# then prints the newest result of each firmware from $REAR_VM_CACHE/rescue/*/result.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=1
if [ "${1:-}" = --no-run ]; then RUN=; shift; fi
WHICH=${1:-bios}
CACHE=${REAR_VM_CACHE:-/var/cache/rear-vm}
if [ -n "$RUN" ]; then
  [ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
  node_modules/.bin/bun test/vm/run.ts rescue --firmware "$WHICH" --rear27 || true
fi
node_modules/.bin/bun -e '
  const { readdirSync, readFileSync, existsSync, statSync } = require("fs");
  const [cache, which] = process.argv.slice(1);
  const dir = `${cache}/rescue`;
  const newest = {};
  for (const d of existsSync(dir) ? readdirSync(dir) : []) {
    const f = `${dir}/${d}/result.json`;
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, "utf8"));
    if (!r.rear27 || (which !== "all" && r.firmware !== which)) continue;
    const t = statSync(f).mtimeMs;
    if (!newest[r.firmware] || newest[r.firmware].t < t) newest[r.firmware] = { r, t };
  }
  const s = (ms) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
  const m = (b) => (b === undefined ? "-" : (b / 1048576).toFixed(1));
  const ratio = (a, b) => (a === undefined || b === undefined ? "-" : `1/${(b / a).toFixed(1)}`);
  for (const { r } of Object.values(newest)) {
    const d = r.rear27.default ?? {};
    const l = r.rear27.lean ?? {};
    console.log(`firmware ${r.firmware} (${r.accel}), ${r.startedAt}: our ISO ${r.ok ? "boots and passes its checks" : "FAILED its checks"}`);
    console.log(["", "mkrescue (s)", "ISO (MiB)", "exit"].join("\t"));
    console.log(["ours", s(r.ours.ms), m(r.ours.isoBytes), r.ours.exitCode].join("\t"));
    console.log(["ReaR 2.7 default", s(d.ms), m(d.isoBytes), d.exitCode].join("\t"));
    console.log(["ReaR 2.7 lean", s(l.ms), m(l.isoBytes), l.exitCode].join("\t"));
    console.log(`ours vs ReaR default: time ${ratio(r.ours.ms, d.ms)}, size ${ratio(r.ours.isoBytes, d.isoBytes)}; vs lean: time ${ratio(r.ours.ms, l.ms)}, size ${ratio(r.ours.isoBytes, l.isoBytes)}`);
    console.log(`our rescue system booted to "ready" in ${s(r.ours.bootToReadyMs)} s (TCG)`);
  }
  if (!Object.keys(newest).length) console.log("no results with ReaR 2.7 figures yet");
' "$CACHE" "$WHICH"
