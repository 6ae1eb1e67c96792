#!/usr/bin/env bash
# Reading big layout files: wall time and peak memory of `showlayout` (read, check, tree), `showlayout
# --json` and `layoutonly --dry-run` (read, check, map, plan; root only) on generated disklayout.conf
# files of 10 000 and 100 000 partitions, 128 per GPT disk, and 100 000 on a single disk (the case
# where a quadratic step shows: 22 s before the reading was made linear).
#   bench/layout-read.sh [REAR ...]     (default ./dist/rear; run `npm run build` first)
# Give two binaries (e.g. one built from an older commit) to see them side by side; LAYOUTONLY=0
# leaves out layoutonly (a quadratic one takes more than 15 minutes on 100 000 partitions).
# Needs GNU time (/usr/bin/time). Nothing outside a temporary directory is touched: layoutonly gets
# its own configuration and REAR_VAR and only reads (a dry run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- ./dist/rear
for b in "$@"; do [ -x "$b" ] || { echo "bench: $b is missing: run 'npm run build' first" >&2; exit 1; }; done
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 1; }
W=$(mktemp -d /var/tmp/rear-bench-layout-read.XXXXXX)
trap 'rm -rf "$W"' EXIT

# gen N PER_DISK: a valid layout, 1 MiB partitions from 1 MiB on, each disk 2 MiB bigger than its partitions
gen() {
  awk -v n="$1" -v per="$2" 'BEGIN {
    print "# Disk layout dated 20250101000000 (YYYYmmddHHMMSS)"
    p = 0
    for (d = 0; p < n; d++) {
      dev = sprintf("/dev/sd%d", d)
      cnt = (n - p < per) ? n - p : per
      printf "disk %s %.0f gpt\n", dev, (cnt + 2) * 1048576
      for (i = 1; i <= cnt; i++) { printf "part %s 1048576 %.0f rear-noname none %sp%d\n", dev, i * 1048576, dev, i; p++ }
    }
  }'
}
gen 10000 128 >"$W/10k.conf"
gen 100000 128 >"$W/100k.conf"
gen 100000 100000 >"$W/100k-one-disk.conf"

# run LABEL CMD...: one line with the wall time and the peak resident memory
run() {
  local label=$1 t
  shift
  if /usr/bin/time -o "$W/time" -f '%e %M' "$@" >/dev/null 2>"$W/err"; then
    t=$(tail -1 "$W/time")
    printf '%-48s %8s s %8s MiB\n' "$label" "${t%% *}" "$(( ${t##* } / 1024 ))"
  else
    printf '%-48s failed: %s\n' "$label" "$(tail -1 "$W/err")"
  fi
}

echo "this machine: $(uname -r), $(nproc) CPUs"
for b in "$@"; do
  echo "$b ($("$b" --version 2>/dev/null | head -1))"
  for f in 10k 100k 100k-one-disk; do
    run "  showlayout $f" "$b" showlayout "$W/$f.conf"
    run "  showlayout --json $f" "$b" showlayout --json "$W/$f.conf"
    if [ "$(id -u)" = 0 ] && [ "${LAYOUTONLY:-1}" != 0 ]; then
      c="$W/case-$f"
      rm -rf "$c" && mkdir -p "$c/etc" "$c/var/lib/rear/layout" "$c/tmp" && : >"$c/etc/local.conf"
      cp "$W/$f.conf" "$c/var/lib/rear/layout/disklayout.conf"
      run "  layoutonly --dry-run $f" env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin REAR_VAR="$c/var" TMPDIR="$c/tmp" timeout 900 "$b" -c "$c/etc" -p layoutonly --dry-run
    fi
  done
done
