#!/usr/bin/env bash
# Recreation figures: wall time of `layoutonly` (the layout recreated on the same disks, mounted at
# /mnt/local), ours next to ReaR 2.7's, per VM layout (test/vm/layouts/: LVM thin, RAID1, LUKS2+LVM,
# btrfs subvolumes, …), measured inside one TCG builder guest by `bun test/vm/run.ts recreate`.
#   bench/recreate.sh [--no-run] [LAYOUT|all]    (needs root, QEMU and the guest image; `npm run build` first)
# Without --no-run it first runs the harness for the layouts (one guest at a time, minutes each), then
# prints the newest result of each layout from $REAR_VM_CACHE/recreate/*/result.json.
# Not quite the same work: ReaR 2.7 starts with nothing active on the disks (the harness stops the stacks
# for it) and, by default (DISKS_TO_BE_WIPED=false), wipes nothing; ours starts with the source's
# LVM/MD/LUKS stacks active, releases them and wipes every target disk. ReaR 2.7 asks nothing here
# (MIGRATION_MODE=false), so no UserInput timeout is in its time. "result" says whether the recreated
# layout, saved again by our savelayout, equals the source (test/vm/lib/recreate-compare.ts says what is
# relaxed); ours is PASS/FAIL of all the harness's checks (backup disk untouched, migration, …).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=1
if [ "${1:-}" = --no-run ]; then RUN=; shift; fi
WHICH=${1:-all}
CACHE=${REAR_VM_CACHE:-/var/cache/rear-vm}
if [ -n "$RUN" ]; then
  [ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
  # the harness exits 1 when a layout fails; the table shows which
  node_modules/.bin/bun test/vm/run.ts recreate --layout "$WHICH" --no-migrate || true
fi
node_modules/.bin/bun -e '
  const { readdirSync, readFileSync, existsSync, statSync } = require("fs");
  const [cache, which] = process.argv.slice(1);
  const dir = `${cache}/recreate`;
  const newest = {};
  for (const d of existsSync(dir) ? readdirSync(dir) : []) {
    const f = `${dir}/${d}/result.json`;
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, "utf8"));
    if (which !== "all" && !which.split(",").includes(r.layout)) continue;
    const t = statSync(f).mtimeMs;
    if (!newest[r.layout] || newest[r.layout].t < t) newest[r.layout] = { r, t };
  }
  const s = (ms) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
  const res = (x) => (!x ? "-" : x.exitCode !== 0 ? `exit ${x.exitCode ?? "-"}` : !x.comparison ? "?" : x.comparison.same ? "= source" : "differs");
  const rows = [["layout", "ours (s)", "ReaR 2.7 (s)", "ratio", "ours result", "ReaR 2.7 result", "save ours", "save 2.7", "date"]];
  for (const { r } of Object.values(newest).sort((a, b) => a.r.layout.localeCompare(b.r.layout))) {
    const a = r.ours?.ms, b = r.rear27?.ms;
    rows.push([r.layout, s(a), s(b), a && b && r.rear27?.exitCode === 0 ? `${(b / a).toFixed(1)}x` : "", r.ok ? "PASS" : "FAIL", res(r.rear27), s(r.ours?.savelayoutMs), s(r.rear27?.savelayoutMs), r.startedAt.slice(0, 16)]);
  }
  if (rows.length === 1) { console.log(`no results in ${dir}`); process.exit(0); }
  const w = rows[0].map((_, i) => Math.max(...rows.map((x) => String(x[i]).length)));
  console.log("layoutonly inside the VM guests (TCG), same disks; wall time of the command:");
  for (const x of rows) console.log(x.map((c, i) => (i ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join("  "));
' "$CACHE" "$WHICH"
