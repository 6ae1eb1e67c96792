// Would the backup hold what was asked for? GNU tar archives an include that does not exist, or that an
// exclude pattern covers, as nothing at all — with --ignore-failed-read it does not even say so — and the
// run "succeeds" with an empty archive. These checks name the include and the cause before anything is
// written. Pure.

/**
 * A GNU tar exclude pattern as a regular expression: wildcards match "/" too (tar's default for
 * exclusion), a pattern also covers everything below what it matches (FNM_LEADING_DIR), and with
 * --anchored (ReaR's default BACKUP_PROG_OPTIONS) it must match from the start of the path, otherwise
 * after any "/".
 */
export function excludeRegExp(pattern: string, anchored: boolean): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "\\" && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += escape(ch);
  }
  return new RegExp(`${anchored ? "^" : "(^|/)"}${re}(/.*)?$`);
}

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Whether tar's last --anchored / --no-anchored among the options anchors exclude patterns (tar's default: no). */
export function anchoredExcludes(options: readonly string[]): boolean {
  let a = false;
  for (const o of options) {
    if (o === "--anchored") a = true;
    else if (o === "--no-anchored") a = false;
  }
  return a;
}

/** The first exclude pattern that covers `path`, if any. */
export function excludedBy(path: string, patterns: readonly string[], anchored: boolean): string | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return patterns.find((pat) => pat !== "" && excludeRegExp(pat, anchored).test(p));
}

/**
 * The first exclude pattern that leaves out everything inside directory `path` ('/tmp/*' for /tmp):
 * tar would archive the directory and nothing in it. Tried on names of every kind a directory may hold
 * (a pattern such as '/tmp/[a-z]*' leaves some of them, and is no such pattern).
 */
export function contentsExcludedBy(path: string, patterns: readonly string[], anchored: boolean): string | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const names = ["a", ".hidden", "Z-9_x.y", "sub/dir"].map((n) => `${p === "/" ? "" : p}/${n}`);
  return patterns.find((pat) => pat !== "" && names.every((n) => excludeRegExp(pat, anchored).test(n)));
}

export interface IncludeCheck {
  /** the include list the archive is made from */
  include: readonly string[];
  /** BACKUP_PROG_INCLUDE as configured (those must exist; the layout's mountpoints do) */
  configured: readonly string[];
  exclude: readonly string[];
  anchored: boolean;
  exists(path: string): boolean;
  /** whether a path is a directory (following links); only asked for includes that exist */
  isDir?(path: string): boolean;
}

/** One line per include that would put nothing into the backup, naming it and the cause. */
export function includeProblems(c: IncludeCheck): string[] {
  const out: string[] = [];
  for (const p of c.include) {
    if (c.configured.includes(p) && !c.exists(p)) {
      out.push(`BACKUP_PROG_INCLUDE has ${p}, which does not exist${/[*?[]/.test(p) ? " (rear does not expand wildcards there)" : ""}`);
      continue;
    }
    const pat = excludedBy(p, c.exclude, c.anchored);
    if (pat !== undefined) {
      out.push(`${p} is to be backed up, but the exclude pattern '${pat}' (BACKUP_PROG_EXCLUDE or a default) leaves all of it out`);
      continue;
    }
    const inner = c.isDir?.(p) ? contentsExcludedBy(p, c.exclude, c.anchored) : undefined;
    if (inner !== undefined) out.push(`${p} is to be backed up, but the exclude pattern '${inner}' (BACKUP_PROG_EXCLUDE or a default) leaves out everything in it`);
  }
  return out;
}
