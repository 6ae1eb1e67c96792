// Figures read from the tool's own log (ReaR's format, which ours shares: every line starts with
// `YYYY-mm-dd HH:MM:SS.nnnnnnnnn`): how long the rescue image took and how long the backup itself.

const TS = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{9}) /;

function lineTime(line: string): number | undefined {
  const m = TS.exec(line);
  return m ? Date.parse(`${m[1]}T${m[2]}.${m[3]!.slice(0, 3)}Z`) : undefined;
}

export function mkbackupFigures(log: string): { imageBuildMs?: number; backupMs?: number } {
  const lines = log.split("\n");
  const start = lines.map(lineTime).find((t) => t !== undefined);
  const at = (re: RegExp) => {
    const l = lines.find((x) => re.test(x));
    return l ? lineTime(l) : undefined;
  };
  // ReaR: "Making backup"; ours: the first module of the backup stage
  const backupStart = at(/ Making backup /) ?? at(/ Including backup\//);
  const end = at(/ Exiting rear mkbackup /);
  return {
    ...(start !== undefined && backupStart !== undefined ? { imageBuildMs: backupStart - start } : {}),
    ...(backupStart !== undefined && end !== undefined ? { backupMs: end - backupStart } : {}),
  };
}

/** The restore's size and time from the rescue system's console: ours "Restored 445 MiB in 66.5 s", ReaR's "Restored 410 MiB in 22 seconds". */
export function restoreFigures(console: string): { restoredMiB?: number; restoreMs?: number } {
  const all = [...console.matchAll(/Restored (\d+) MiB in ([\d.]+) s(?:econds)?\b/g)];
  const m = all[all.length - 1];
  return m ? { restoredMiB: Number(m[1]), restoreMs: Math.round(Number(m[2]) * 1000) } : {};
}
