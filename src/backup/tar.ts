// The GNU tar command lines of BACKUP=NETFS (ReaR's backup/NETFS/default/500_make_backup.sh and
// restore/NETFS/default/400_restore_backup.sh), as argv. Unlike ReaR 2.7, every extended attribute is
// kept (`--xattrs-include='*'`: ReaR's two include patterns drop user.* attributes, see
// bench/results/findings.md) and owners are numeric (the rescue system's /etc/passwd is not the
// restored one). Pure.

export interface TarFeatures {
  /** what `tar --usage` offers */
  xattrs: boolean;
  acls: boolean;
  selinux: boolean;
}

/** The capabilities of this tar from its `--usage` text (ReaR's 205_inspect_tar_capabilities.sh). */
export function tarFeatures(usage: string): TarFeatures {
  return { xattrs: usage.includes("--xattrs"), acls: usage.includes("--acls"), selinux: usage.includes("--selinux") };
}

/** Options both directions use: the file metadata tar keeps. */
export function metadataOptions(f: TarFeatures): string[] {
  return [...(f.xattrs ? ["--xattrs", "--xattrs-include=*"] : []), ...(f.acls ? ["--acls"] : []), ...(f.selinux ? ["--selinux"] : []), "--numeric-owner"];
}

export interface TarCreate {
  tar: string;
  features: TarFeatures;
  /** BACKUP_PROG_OPTIONS (ReaR's default --anchored) */
  options: readonly string[];
  /** BACKUP_PROG_COMPRESS_OPTIONS (--gzip, --zstd, or none) */
  compress: readonly string[];
  excludeFile: string;
  include: readonly string[];
  archive: string;
  /** incremental/differential: only what changed since this date (ReaR's --newer) */
  newer?: string;
}

export function tarCreateArgv(t: TarCreate): string[] {
  return [
    t.tar, "--create", "--sparse", "--one-file-system", "--ignore-failed-read", "--totals", "--warning=no-xdev", "--warning=no-file-ignored",
    ...metadataOptions(t.features), ...t.options, ...t.compress, ...(t.newer ? [`--newer=${t.newer}`] : []),
    "--exclude-from", t.excludeFile, "--directory", "/", "--file", t.archive, "--", ...t.include,
  ];
}

export interface TarExtract {
  tar: string;
  features: TarFeatures;
  options: readonly string[];
  compress: readonly string[];
  /** EXCLUDE_RESTORE as a file, when there is one */
  excludeFile?: string;
  archive: string;
  target: string;
}

export function tarExtractArgv(t: TarExtract): string[] {
  return [
    t.tar, "--extract", "--totals", "--same-permissions", ...metadataOptions(t.features), ...t.options, ...t.compress,
    ...(t.excludeFile ? ["--exclude-from", t.excludeFile] : []), "--directory", t.target, "--file", t.archive,
  ];
}

/**
 * GNU tar's exit status: 1 is "some files differ" (changed while read: a warning, as ReaR), 2 and
 * more a fatal error.
 */
export function tarOutcome(code: number): "ok" | "changed" | "failed" {
  return code === 0 ? "ok" : code === 1 ? "changed" : "failed";
}

/** GNU tar's warnings that come with its exit status 1 when it creates an archive (create.c: file changed, removed, shrank). */
const CHANGED = /(file changed as we read it|file removed before we read it|file shrank by \d+ bytes?)/i;

export type CreateOutcome = { kind: "ok" } | { kind: "changed"; files: string[] } | { kind: "failed"; why: string };

/** The last lines tar printed that say something (not its notes on every run: leading '/', --totals). */
const tail = (s: string) =>
  s.trim().split("\n").filter((l) => l && !/Removing leading [`']\/' from |^Total bytes written: /.test(l)).slice(-3).join(" / ");

/**
 * What the exit status of `tar --create` means. GNU tar exits 1 when files changed while it read them
 * (ReaR's 500_make_backup.sh: a warning) — but so does /bin/false, or a wrapper that failed: exit 1
 * counts as "files changed" only when tar said so on stderr, or when the user silenced those warnings
 * (--warning=no-file-changed; the archive itself is checked either way). 126/127: not runnable or not
 * found (the shell's codes); 128+N: killed by signal N.
 */
export function tarCreateOutcome(code: number, stderr: string, options: readonly string[] = []): CreateOutcome {
  if (code === 0) return { kind: "ok" };
  const t = tail(stderr);
  const said = t ? `: ${t}` : stderr.trim() ? " (no error message)" : ", printing nothing";
  if (code === 1) {
    const files = stderr.split("\n").filter((l) => CHANGED.test(l)).map((l) => l.replace(/^[^:]*: /, "").replace(/: [^:]*$/, ""));
    if (files.length) return { kind: "changed", files };
    if (options.some((o) => /^--warning=(none|no-file-changed|no-file-removed|no-file-shrank)$/.test(o))) return { kind: "changed", files: [] };
    return { kind: "failed", why: `exited 1 without saying that a file changed (what GNU tar's exit 1 means)${said}` };
  }
  if (code === 126) return { kind: "failed", why: `could not be executed (exit 126)${said}` };
  if (code === 127) return { kind: "failed", why: `was not found (exit 127)${said}` };
  if (code > 128) return { kind: "failed", why: `was killed by signal ${code - 128} (exit ${code})${said}` };
  return { kind: "failed", why: `exited ${code}${said}` };
}
