// BACKUP=RSYNC as data: ReaR's rsync URLs (lib/rsync-functions.sh), the ssh command, what the rsync at
// each end can keep (prep/RSYNC/default/150_check_rsync_protocol_version.sh), the options of each
// direction (backup/RSYNC/default/210_check_rsync_relative_option.sh, restore/RSYNC/default/
// 200_remove_relative_rsync_option.sh) and the command lines (backup/RSYNC/default/500_make_rsync_backup.sh,
// restore/RSYNC/default/400_restore_rsync_backup.sh). Pure: src/stages/backup/rsync-backup.ts runs them.
//
// The URL forms are ReaR's (default.conf), where "::" selects the rsync daemon protocol and every
// other form is rsync over ssh:
//   rsync://[USER@]HOST[:PORT]/PATH          ssh
//   rsync://[USER@]HOST[:PORT]::/MODULE/PATH rsync daemon (the first path element is the module)
//   [USER@]HOST:PATH                         ssh (the old scp-like form; url_scheme calls it rsync)
//   [USER@]HOST::MODULE/PATH                 rsync daemon (the old form)
// USER is root when not given (ReaR's rsync_user). ReaR documents [:PORT] but drops it (rsync_port is
// always 873 and rsync_host cuts it off); here it is honoured: the daemon's port, or ssh's -p.
//
// ssh never asks: every ssh that rear runs (rsync's remote shell, the checks) gets -o BatchMode=yes.
// rear runs unattended (cron, the rescue system's automatic recover) with its output in the log, so a
// password or host-key question would hang there unseen; with BatchMode a missing key or an unknown
// host key fails at once, with ssh's own message, and rear says what to set up. Everything else is
// the user's ssh configuration, as ReaR (which runs plain `ssh` and rsync's default remote shell):
// /root/.ssh/config, known_hosts and keys, or a remote shell of their own in RSYNC_RSH (rsync's
// variable, also used for rear's own ssh checks) or as -e/--rsh in BACKUP_RSYNC_OPTIONS.

export interface RsyncUrl {
  /** "rsync": the rsync daemon protocol (ReaR's "::"); "ssh": rsync over ssh */
  proto: "ssh" | "rsync";
  /** root when the URL names none (ReaR's rsync_user) */
  user: string;
  /** the host name or address (an IPv6 address without its brackets) */
  host: string;
  /** as written; the daemon's default is 873, ssh's its configuration's */
  port?: number;
  /** ssh: the remote path as written ("/backup", or relative to the login's home); daemon: "module/path" */
  path: string;
}

export class RsyncUrlError extends Error {}

const FORMS = "write rsync://[USER@]HOST[:PORT]/PATH (ssh), rsync://[USER@]HOST[:PORT]::/MODULE/PATH (rsync daemon), [USER@]HOST:/PATH (ssh) or [USER@]HOST::MODULE/PATH (rsync daemon)";

/** Host (bracketed IPv6 allowed) at the start of `s`: the host and what follows it. */
function splitHost(s: string): { host: string; rest: string } | undefined {
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 2) return undefined;
    return { host: s.slice(1, end), rest: s.slice(end + 1) };
  }
  const m = /^([^:/@[\]\s]+)(.*)$/s.exec(s);
  return m ? { host: m[1]!, rest: m[2]! } : undefined;
}

/** A BACKUP_URL of BACKUP=RSYNC, as ReaR's rsync_proto, rsync_user, rsync_host and rsync_path read it. */
export function parseRsyncUrl(url: string, setting = "BACKUP_URL"): RsyncUrl {
  const bad = (why: string) => new RsyncUrlError(`${setting}='${url}' ${why}: ${FORMS}`);
  const sep = url.indexOf("://");
  let rest: string;
  let modern: boolean;
  if (sep >= 0) {
    const scheme = url.slice(0, sep);
    // ReaR's url_scheme: a ':' before "://" makes the whole URL an old-style rsync one (host::/x://y), rare
    if (scheme !== "rsync" && !scheme.includes(":")) throw bad(`is not an rsync URL (its scheme is ${scheme || "empty"})`);
    modern = scheme === "rsync";
    rest = modern ? url.slice(sep + 3) : url;
  } else {
    if (!url.includes(":")) throw bad("is not an rsync URL");
    modern = false;
    rest = url;
  }
  // the user: everything before the last '@' ahead of the host (a user name holds no '/' or ':')
  let user = "root";
  const at = /^([^/:@[\]]+)@/.exec(rest);
  if (at) {
    user = at[1]!;
    rest = rest.slice(at[0].length);
  }
  const h = splitHost(rest);
  if (!h || !h.host) throw bad("has no host");
  const host = h.host;
  rest = h.rest;
  let port: number | undefined;
  if (modern) {
    // rsync://host[:port][::]/path
    const m = /^(?::(\d+))?(::)?(\/.*)?$/s.exec(rest);
    if (!m) throw bad(`has something that is not a port after the host ('${rest}')`);
    if (m[1] !== undefined) {
      port = Number(m[1]);
      if (!(port > 0 && port < 65536)) throw bad(`has a port out of range (${m[1]})`);
    }
    const path = m[3] ?? "";
    if (m[2]) {
      const daemonPath = path.replace(/^\/+/, "");
      if (!daemonPath) throw bad("names no rsync module after '::'");
      return { proto: "rsync", user, host, ...(port !== undefined ? { port } : {}), path: daemonPath };
    }
    return { proto: "ssh", user, host, ...(port !== undefined ? { port } : {}), path: path || "/" };
  }
  // the old forms: host:path (ssh) and host::module/path (daemon)
  if (rest.startsWith("::")) {
    const daemonPath = rest.slice(2).replace(/^\/+/, "");
    if (!daemonPath) throw bad("names no rsync module after '::'");
    return { proto: "rsync", user, host, path: daemonPath };
  }
  if (!rest.startsWith(":")) throw bad("has no ':' after the host");
  return { proto: "ssh", user, host, path: rest.slice(1) };
}

/** The host as rsync and ssh destinations write it (an IPv6 address in brackets). */
function hostForm(u: RsyncUrl): string {
  return u.host.includes(":") ? `[${u.host}]` : u.host;
}

/** ReaR's rsync_path_full with a sub-path: PATH/RSYNC_PREFIX/sub, without doubled slashes. */
export function remotePath(u: RsyncUrl, ...sub: string[]): string {
  const parts = [u.path.replace(/\/+$/, ""), ...sub.map((s) => s.replace(/^\/+|\/+$/g, "")).filter(Boolean)];
  // ReaR's rsync_path_full is "$(rsync_path)/$RSYNC_PREFIX": an empty ssh path ("host:") is the root
  return parts.join("/");
}

/**
 * What rsync is given as the remote side (ReaR's rsync_remote / rsync_remote_full): user@host:path over
 * ssh, rsync://user@host:port/module/path for the daemon.
 */
export function rsyncRemote(u: RsyncUrl, ...sub: string[]): string {
  const p = remotePath(u, ...sub);
  if (u.proto === "rsync") return `rsync://${u.user}@${hostForm(u)}:${u.port ?? 873}/${p}`;
  return `${u.user}@${hostForm(u)}:${p || "/"}`;
}

/** "user@host:port" for messages (ReaR prints host:path). */
export function rsyncDisplay(u: RsyncUrl): string {
  return u.proto === "rsync" ? rsyncRemote(u) : `${u.user}@${hostForm(u)}${u.port ? ` (port ${u.port})` : ""}:${u.path}`;
}

/**
 * A remote-shell command line split as rsync splits -e/RSYNC_RSH: at spaces, single and double quotes
 * keep spaces (no backslashes).
 */
export function splitRsh(cmd: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = "";
  let inWord = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = "";
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The reverse of splitRsh: one string for rsync's --rsh. */
export function joinRsh(words: readonly string[]): string {
  return words.map((w) => (w !== "" && !/[\s'"]/.test(w) ? w : w.includes("'") ? `"${w}"` : `'${w}'`)).join(" ");
}

/** BACKUP_RSYNC_OPTIONS without a remote shell given in it (-e CMD, -eCMD, --rsh CMD, --rsh=CMD), and that shell. */
export function takeRshOption(options: readonly string[]): { options: string[]; rsh?: string } {
  const out: string[] = [];
  let rsh: string | undefined;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    if (o === "-e" || o === "--rsh") {
      rsh = options[++i] ?? "";
    } else if (o.startsWith("--rsh=")) {
      rsh = o.slice(6);
    } else if (/^-e./.test(o)) {
      rsh = o.slice(2);
    } else {
      out.push(o);
    }
  }
  return rsh === undefined ? { options: out } : { options: out, rsh };
}

/**
 * The ssh command every ssh of rear uses: the user's remote shell (RSYNC_RSH or -e, default ssh), with
 * BatchMode=yes (see the file header) unless the user's command says BatchMode itself, and -p for a
 * port in the URL. Not an ssh (rsh, a wrapper of the user's): taken as it is.
 */
export function remoteShell(u: RsyncUrl, userRsh: string | undefined): string[] {
  const words = userRsh && userRsh.trim() ? splitRsh(userRsh) : ["ssh"];
  const isSsh = /(^|\/)ssh$/.test(words[0] ?? "");
  const batch = isSsh && !words.some((w) => /batchmode/i.test(w)) ? ["-o", "BatchMode=yes"] : [];
  const port = isSsh && u.port !== undefined ? ["-p", String(u.port)] : [];
  return [...words, ...batch, ...port];
}

/** A command run on the backup host over ssh: [...ssh, user@host, command] (ReaR's `ssh $(rsync_remote_ssh) …`). */
export function sshArgv(rsh: readonly string[], u: RsyncUrl, command: string): string[] {
  return [...rsh, `${u.user}@${u.host}`, command];
}

/** A word for the remote shell (POSIX single quotes). */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface RsyncCaps {
  /** the protocol version (29: before 3.0) */
  protocol: number;
  acls: boolean;
  xattrs: boolean;
}

/**
 * What an rsync can do, from `rsync --version` (ReaR's 150_save_rsync_version and
 * 150_check_rsync_protocol_version). A sample:
 *   rsync  version 3.2.7  protocol version 31
 *   …
 *   Capabilities:
 *       64-bit files, 64-bit inums, 64-bit timestamps, 64-bit long ints,
 *       socketpairs, symlinks, symtimes, hardlinks, hardlink-specials,
 *       hardlink-symlinks, IPv6, atimes, batchfiles, inplace, append, ACLs,
 *       xattrs, optional secluded-args, iconv, prealloc, stop-at, no crtimes
 * An rsync built without them says "no ACLs", "no xattrs". No "protocol version" line: 29, as ReaR.
 */
export function rsyncCaps(versionText: string): RsyncCaps {
  const m = /protocol version (\d+)/.exec(versionText);
  const has = (w: string) => new RegExp(`(^|[\\s,])${w}\\b`).test(versionText) && !new RegExp(`\\bno ${w}\\b`).test(versionText);
  return { protocol: m ? Number(m[1]) : 29, acls: has("ACLs"), xattrs: has("xattrs") };
}

/** Whether an option list has one of the long options, or a short one (also bundled, -aAX). */
function hasOption(options: readonly string[], long: readonly string[], short: string): boolean {
  return options.some((o) => long.includes(o) || long.some((l) => o.startsWith(`${l}=`)) || (/^-[A-Za-z]+$/.test(o) && o.includes(short)));
}

export interface RsyncOptionInput {
  /** BACKUP_RSYNC_OPTIONS, without a remote shell (takeRshOption) */
  options: readonly string[];
  direction: "backup" | "restore";
  local: RsyncCaps;
  /** the backup host's rsync; undefined for a daemon (it cannot be asked: ReaR assumes protocol 29 there) */
  remote?: RsyncCaps;
  url: RsyncUrl;
}

/**
 * The options of one direction, ReaR's way: --relative for the backup (the include list keeps its full
 * paths below backup/), none for the restore; -M--fake-super for an ssh login that is not root (owners,
 * modes and devices kept in xattrs, ReaR's 150_check_rsync_protocol_version). Then, as tar does for
 * NETFS, ACLs and extended attributes when both rsyncs can keep them and BACKUP_RSYNC_OPTIONS does not
 * decide it (--acls/-A, --no-acls, --xattrs/-X, --no-xattrs).
 */
export function rsyncOptions(i: RsyncOptionInput): { options: string[]; notes: string[] } {
  const notes: string[] = [];
  let o = [...i.options];
  if (i.direction === "backup") {
    if (!o.some((x) => x.includes("relative"))) o.push("--relative");
  } else {
    o = o.filter((x) => x !== "--relative" && x !== "-R");
  }
  const remoteNewEnough = !i.remote || i.remote.protocol >= 30;
  if (i.url.proto === "ssh" && i.url.user !== "root" && !o.some((x) => x.includes("fake-super"))) {
    if (!i.remote || i.remote.protocol < 30) throw new Error(`rsync --fake-super is not possible on ${i.url.host} (its rsync speaks protocol ${i.remote?.protocol ?? "?"}): upgrade it to 3.x, or log in as root`);
    if (!i.remote.xattrs) throw new Error(`rsync --fake-super is not possible on ${i.url.host} (its rsync has no xattrs): install an rsync with xattrs there, or log in as root`);
    o.push("-M--fake-super");
    notes.push(`${i.url.user} is not root on ${i.url.host}: owners, modes and devices are kept in extended attributes there (rsync --fake-super)`);
  }
  const add = (what: "acls" | "xattrs", long: string, short: string) => {
    if (hasOption(o, [long, `--no-${what}`, `--no-${short}`], short)) return;
    if (!i.local[what]) {
      notes.push(`${what === "acls" ? "ACLs" : "extended attributes"} are not kept: this rsync has no ${what === "acls" ? "ACL" : "xattr"} support`);
    } else if (i.remote && !i.remote[what]) {
      notes.push(`${what === "acls" ? "ACLs" : "extended attributes"} are not kept: the rsync on ${i.url.host} has no ${what === "acls" ? "ACL" : "xattr"} support`);
    } else if (!remoteNewEnough) {
      notes.push(`${what === "acls" ? "ACLs" : "extended attributes"} are not kept: the rsync on ${i.url.host} speaks protocol ${i.remote!.protocol} (3.0 or later keeps them)`);
    } else {
      o.push(long);
    }
  };
  add("acls", "--acls", "A");
  add("xattrs", "--xattrs", "X");
  return { options: o, notes };
}

export interface RsyncBackup {
  rsync: string;
  /** rsyncOptions(…).options */
  options: readonly string[];
  /** --rsh for ssh URLs (joinRsh(remoteShell(…))) */
  rsh?: string;
  excludeFile: string;
  include: readonly string[];
  /** rsyncRemote(url, RSYNC_PREFIX, "backup") */
  dest: string;
}

/**
 * ReaR's 500_make_rsync_backup.sh: rsync OPTIONS --one-file-system --delete --exclude-from=F
 * --delete-excluded INCLUDES DEST — but a failed run must not leave the previous copy half replaced:
 * --delay-updates keeps every new version of a file in a holding directory until the whole transfer
 * is done and then renames them into place at once, and --delete-delay deletes only after that (rsync
 * skips deleting at all after an I/O error). A run that dies on the way leaves the previous copy as it
 * was. --stats always: a run that printed none did not run rsync (BACKUP_PROG=/bin/true).
 */
export function rsyncBackupArgv(b: RsyncBackup): string[] {
  return [
    b.rsync, ...b.options, ...(b.rsh ? [`--rsh=${b.rsh}`] : []), "--one-file-system", "--delete-delay",
    // rsync refuses --delay-updates beside --inplace or --append (the user chose to write in place)
    ...(b.options.some((o) => o === "--inplace" || o.startsWith("--append")) ? [] : ["--delay-updates"]), ...(b.options.includes("--stats") ? [] : ["--stats"]),
    `--exclude-from=${b.excludeFile}`, "--delete-excluded", ...b.include, b.dest,
  ];
}

/** Whether `--version` output is rsync's ("rsync  version 3.2.7  protocol version 31"). */
export function isRsyncVersion(text: string): boolean {
  return /^rsync\s+version\s+\S+/m.test(text) && /protocol version \d+/.test(text);
}

export interface RsyncRestore {
  rsync: string;
  options: readonly string[];
  rsh?: string;
  /** EXCLUDE_RESTORE as an rsync exclude file (restoreExcludeLines), when there is one */
  excludeFile?: string;
  /** rsyncRemote(url, RSYNC_PREFIX, "backup") */
  src: string;
  target: string;
}

/**
 * ReaR's 400_restore_rsync_backup.sh: rsync OPTIONS SRC/backup/ TARGET_FS_ROOT/ — without the holding
 * directories (.~tmp~) a backup that was stopped left in the copy (--delay-updates).
 */
export function rsyncRestoreArgv(r: RsyncRestore): string[] {
  return [
    r.rsync, ...r.options, ...(r.rsh ? [`--rsh=${r.rsh}`] : []), "--exclude=.~tmp~/", ...(r.excludeFile ? [`--exclude-from=${r.excludeFile}`] : []),
    `${r.src.replace(/\/+$/, "")}/`, `${r.target.replace(/\/+$/, "")}/`,
  ];
}

/**
 * EXCLUDE_RESTORE as rsync exclude patterns: anchored at the backup's root (which is /), so
 * /home/old leaves out that directory and all below it, not every "old" below every "home".
 */
export function restoreExcludeLines(excludes: readonly string[]): string[] {
  return excludes.filter(Boolean).map((e) => `/${e.replace(/^\/+/, "").replace(/\/+$/, "")}`).filter((e) => e !== "/");
}

/** ReaR's rsync_err_msg: what rsync's exit codes mean. */
const RSYNC_EXIT: Record<number, string> = {
  0: "Success", 1: "Syntax or usage error", 2: "Protocol incompatibility", 3: "Errors selecting input/output files, dirs",
  4: "Requested action not supported", 5: "Error starting client-server protocol", 6: "Daemon unable to append to log-file",
  10: "Error in socket I/O", 11: "Error in file I/O", 12: "Error in rsync protocol data stream", 13: "Errors with program diagnostics",
  14: "Error in IPC code", 20: "Received SIGUSR1 or SIGINT", 21: "Some error returned by waitpid()", 22: "Error allocating core memory buffers",
  23: "Partial transfer due to error", 24: "Partial transfer due to vanished source files", 25: "The --max-delete limit stopped deletions",
  30: "Timeout in data send/receive", 35: "Timeout waiting for daemon connection",
  127: "rsync (or the remote shell) was not found", 255: "the ssh connection failed",
};

export function rsyncExitMeaning(code: number): string {
  return RSYNC_EXIT[code] ?? `Error ${code}`;
}

/**
 * rsync's exit status: 24 (files vanished while they were read: a live system) is a warning, as tar's
 * exit 1 for NETFS; every other non-zero one, 23 (partial transfer) included, failed (ReaR's Error).
 */
export function rsyncOutcome(code: number): "ok" | "vanished" | "failed" {
  return code === 0 ? "ok" : code === 24 ? "vanished" : "failed";
}

/**
 * The figures of rsync --stats (in BACKUP_RSYNC_OPTIONS by default). A sample:
 *   Number of files: 12 (reg: 7, dir: 3, link: 1, dev: 1)
 *   Total file size: 67,108,870 bytes
 *   Total transferred file size: 67,108,870 bytes
 */
export function parseRsyncStats(text: string): { files?: number; bytes?: number; transferred?: number } {
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]!.replace(/[,.']/g, "")) : undefined;
  };
  const files = num(/^Number of files: ([\d,.']+)/m);
  const bytes = num(/^Total file size: ([\d,.']+) bytes/m);
  const transferred = num(/^Total transferred file size: ([\d,.']+) bytes/m);
  return { ...(files !== undefined ? { files } : {}), ...(bytes !== undefined ? { bytes } : {}), ...(transferred !== undefined ? { transferred } : {}) };
}

/** ReaR's name of the backup log copied beside the backup: backup-YYYYMMDD.HHMM.log.gz (date +%Y%m%d.%H%M, local time). */
export function backupLogName(archive: string, d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${archive || "backup"}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}.${p(d.getHours())}${p(d.getMinutes())}.log.gz`;
}
