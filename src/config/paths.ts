// Where rear finds its configuration and keeps its state and logs. A binary installed as
// /usr/sbin/rear (or anywhere without a tree around it) uses /etc/rear, /var/lib/rear, /var/log/rear.
// A binary that sits in a tree with its own etc/rear (a vendor bundle such as
// /opt/MXB/rear/{rear,etc/rear/site.conf}, a prefix such as <p>/usr/sbin/rear + <p>/etc/rear, or an
// extracted PORTABLE archive) uses that tree: ReaR's REAR_DIR_PREFIX. REAR_VAR moves var/ (both
// lib/rear and log/rear) as in ReaR. Pure: the caller passes a directory test.

import { dirname, basename } from "node:path";

export interface Paths {
  /** "" for a system install, else the tree the binary belongs to */
  prefix: string;
  configDir: string;
  varDir: string;
  logDir: string;
}

const SYSTEM_LOCATIONS = new Set(["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]);

/** The tree a binary at `execPath` belongs to, or "" (system). */
export function findPrefix(execPath: string, isDir: (p: string) => boolean): string {
  const dir = dirname(execPath);
  if (SYSTEM_LOCATIONS.has(dir)) return "";
  const candidates = [dir];
  if (basename(dir) === "sbin" || basename(dir) === "bin") {
    const up = dirname(dir);
    candidates.push(up);
    if (basename(up) === "usr" || basename(up) === "local") candidates.push(dirname(up));
    if (basename(up) === "local" && basename(dirname(up)) === "usr") candidates.push(dirname(dirname(up)));
  }
  for (const c of candidates) if (c !== "/" && isDir(`${c}/etc/rear`)) return c;
  return "";
}

export function resolvePaths(opts: {
  execPath: string;
  env: Record<string, string | undefined>;
  isDir: (p: string) => boolean;
  configDir?: string;
  /** -p: an extracted PORTABLE archive on a live system logs where that system keeps logs */
  portable?: boolean;
}): Paths {
  const prefix = findPrefix(opts.execPath, opts.isDir);
  const varBase = opts.env.REAR_VAR || `${prefix}/var`;
  return {
    prefix,
    configDir: opts.configDir ?? `${prefix}/etc/rear`,
    varDir: `${varBase}/lib/rear`,
    logDir: opts.portable && !opts.env.REAR_VAR ? "/var/log/rear" : `${varBase}/log/rear`,
  };
}
