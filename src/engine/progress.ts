// Progress of long byte streams (backup, restore, checks): ReaR prints "Archived N MiB [avg K KiB/sec]";
// we add the rate in MiB/s and, when the total is known (a restore knows its archive's size), the share
// done and the time left. Pure formatting plus a clock-driven throttle.

const MiB = 1048576;

export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** "Restored 512 of 2048 MiB (25%), 120.0 MiB/s, about 13 s left" — `total` unknown: "Archived 512 MiB, 24.1 MiB/s". */
export function progressLine(verb: string, bytes: number, elapsedSecs: number, total?: number): string {
  const rate = elapsedSecs > 0 ? bytes / MiB / elapsedSecs : 0;
  const mib = Math.round(bytes / MiB);
  const speed = `${rate.toFixed(1)} MiB/s`;
  if (!total || total <= 0) return `${verb} ${mib} MiB, ${speed}`;
  const pct = Math.min(100, Math.floor((bytes / total) * 100));
  const left = rate > 0 ? (total - bytes) / MiB / rate : undefined;
  return `${verb} ${mib} of ${Math.round(total / MiB)} MiB (${pct}%), ${speed}${left !== undefined && bytes < total ? `, about ${formatDuration(left)} left` : ""}`;
}

/** Calls `show` at most every `everyMs` with the line for the bytes so far. */
export function progressReporter(verb: string, show: (line: string) => void, opts: { total?: number; everyMs?: number; now?: () => number } = {}) {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  let last = t0;
  return {
    update(bytes: number): void {
      const t = now();
      if (t - last < (opts.everyMs ?? 2000)) return;
      last = t;
      show(progressLine(verb, bytes, (t - t0) / 1000, opts.total));
    },
    /** seconds since the start */
    elapsed(): number {
      return (now() - t0) / 1000;
    },
  };
}
