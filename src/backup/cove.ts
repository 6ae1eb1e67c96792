// BACKUP=COVE, the pure half: what the rescue system's kernel options say, the Backup Manager's
// programs, the installer's file name, the ClientTool command lines and what their answers mean.
// The interface is the one ReaR's Cove pull request #3464 drives (reference §13): ClientTool
// control.status.get prints the state (Idle, Scanning, Restore, …); control.restore.start starts a
// restore that the ProcessController carries out; the installer learns the installation token from
// its own file name, cove#v1#<token>#.run ("Unified Installation Flow").

/** The Backup Manager's programs mkrescue requires ($COVE_INSTALL_DIR/bin/…). */
export const COVE_PROGRAMS = ["BackupFP", "ClientTool", "ProcessController"] as const;

/** The message of ReaR's prep/COVE/default/390_check_cove.sh, kept word for word (vendors grep for it). */
export const NOT_INSTALLED = "The Backup Manager is either not installed or corrupted";

export interface CoveBootOptions {
  installer?: string;
  token?: string;
  timestamp?: string;
}

/** cove_installer=, cove_token= and cove_timestamp= of the rescue system's kernel command line. */
export function coveKernelOptions(cmdline: string): CoveBootOptions {
  const o: CoveBootOptions = {};
  for (const w of cmdline.trim().split(/\s+/)) {
    const m = /^cove_(installer|token|timestamp)=(.*)$/.exec(w);
    if (!m || m[2] === "") continue;
    const key = m[1] as keyof CoveBootOptions;
    o[key] = m[2]!;
  }
  return o;
}

/** The programs of the Backup Manager that are missing or not executable, as `bin/Name`. */
export function missingPrograms(installDir: string, executable: (path: string) => boolean): string[] {
  return COVE_PROGRAMS.filter((p) => !executable(`${installDir}/bin/${p}`)).map((p) => `bin/${p}`);
}

/**
 * Why a token cannot be one: it goes into a file name (cove#v1#<token>#.run), so no '/', '#', blank or
 * control character, and a token shorter than 8 characters is a typo (Cove's tokens are long).
 */
export function tokenProblem(token: string): string | undefined {
  if (token.length < 8) return "it is shorter than 8 characters";
  if (/[/#\s\p{Cc}]/u.test(token)) return "it has a '/', '#', blank or control character";
  return undefined;
}

/** The installer's name that carries the token (the Backup Manager's Unified Installation Flow). */
export const installerFileName = (token: string): string => `cove#v1#${token}#.run`;

/** Replaces every occurrence of the token (an installer's log may echo its own name). */
export function maskToken(text: string, token: string | undefined): string {
  return token ? text.split(token).join("<token>") : text;
}

/** ClientTool control.restore.start, as ReaR's pull request calls it. */
export function restoreStartArgv(clientTool: string, target: string, exclude: string, timestamp: string): string[] {
  return [
    clientTool, "control.restore.start", "-datasource", "FileSystem", "-restore-to", target, "-exclude", exclude,
    "-session-search-policy", "OldestIfRequestedNotFound", ...(timestamp ? ["-time", timestamp] : []),
  ];
}

/** The state ClientTool control.status.get printed: its first non-empty line ("" when none). */
export function parseStatus(stdout: string): string {
  return stdout.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
}

/** A restore is under way while the Backup Manager says so (ReaR's PR waits for Scanning or Restore). */
export const RESTORING_STATES = new Set(["Scanning", "Restore"]);

export type RestoreWatch =
  | { kind: "waiting" } // restore.start was accepted, the Backup Manager has not begun yet
  | { kind: "running"; state: string }
  | { kind: "done" } // it began and is Idle again
  | { kind: "failed"; why: string };

/**
 * One step of following a restore: `began` says whether a restoring state was seen before. Idle before
 * anything began is "waiting" until `waitedSecs` passes `startSecs` (a Backup Manager that never starts
 * the restore); any state other than Idle, Scanning or Restore is reported as it is (the stand-in and the
 * real Backup Manager use more words, such as Backup or Synchronization: not a restore, a failure).
 */
export function watchRestore(state: string, began: boolean, waitedSecs: number, startSecs = 120): RestoreWatch {
  if (RESTORING_STATES.has(state)) return { kind: "running", state };
  if (state === "Idle") {
    if (began) return { kind: "done" };
    return waitedSecs > startSecs ? { kind: "failed", why: `the Backup Manager stayed Idle for ${startSecs} s after control.restore.start: no restore began` } : { kind: "waiting" };
  }
  if (state === "") return { kind: "failed", why: "ClientTool control.status.get printed nothing" };
  return { kind: "failed", why: `the Backup Manager is in the state '${state}', not restoring` };
}

/** The process IDs of the Backup Manager's ProcessController: its program, or a script of that name, under the install directory. */
export function processControllerPids(procs: readonly { pid: number; exe: string; argv: readonly string[] }[], installDirs: readonly string[]): number[] {
  const names = installDirs.map((d) => `${d.replace(/\/+$/, "")}/bin/ProcessController`);
  return procs.filter((p) => names.includes(p.exe) || p.argv.slice(0, 2).some((a) => names.includes(a))).map((p) => p.pid);
}

/** rescue.conf's COVE_REAL_INSTALL_DIR_MODE (octal, as mkrescue wrote it) as a mode; 0755 when absent or not octal (an older image). */
export function installDirMode(v: string): number {
  return /^0?[0-7]{3}$/.test(v.trim()) ? Number.parseInt(v.trim(), 8) : 0o755;
}
