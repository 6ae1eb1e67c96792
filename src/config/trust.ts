// ReaR 2.9's trusted sourcing: a configuration file or hook script is read only when it is a regular
// file owned by a trusted owner and not writable by group or others, unless it is listed in
// TRUSTED_FILES. Root and the owner of the rear binary are always trusted owners.

import type { FileStat } from "./load.ts";
import { fileKind } from "../sys/read-file.ts";

/** Larger than any real configuration file (default.conf is 160 KiB): a device or a log linked in by mistake. */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export function trustProblem(path: string, st: FileStat | undefined, ownerUids: readonly number[], trustedFiles: readonly string[] = []): string | undefined {
  if (!st?.isFile) return st ? `is ${fileKind(st.mode)}, not a regular file` : "does not exist";
  if (trustedFiles.includes(path)) return undefined;
  if (!ownerUids.includes(st.uid)) return `is owned by uid ${st.uid}, not by a trusted owner (root or TRUSTED_OWNERS): rear does not read it`;
  if ((st.mode & 0o022) !== 0) return `is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): rear does not read it`;
  return undefined;
}

export function trustHint(path: string, problem: string): string {
  if (problem.startsWith("is owned")) return `run: chown root ${path}   (or add it to TRUSTED_FILES in site.conf)`;
  if (problem.startsWith("is writable")) return `run: chmod go-w ${path}   (or add it to TRUSTED_FILES in site.conf)`;
  return "give a regular file";
}
