// Shell-style patterns as regular expressions, for the three places that match them the way a C tool
// does: glob(3) on one path component (ld.so.conf's include lines), find(1)'s -ipath (ReaR's
// FIRMWARE_FILES patterns) and fnmatch(3) as kmod matches modules.alias. Pure.

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * fnmatch(3)/glob(3): `*`, `?`, `[set]`, `[!set]` (and `[^set]`), `\` quoting the next character.
 * `slashes`: whether `*` and `?` also match '/' (fnmatch without FNM_PATHNAME, as find -path and kmod),
 * or stop at it (glob's one component).
 */
export function globRegExp(pattern: string, o: { slashes: boolean; ignoreCase?: boolean }): RegExp {
  const any = o.slashes ? "." : "[^/]";
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += `${any}*`;
    else if (c === "?") re += any;
    else if (c === "\\" && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]!);
    else if (c === "[") {
      // a ']' right after '[' (or '[!') belongs to the set
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
        i = end;
      }
    } else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, `s${o.ignoreCase ? "i" : ""}`);
}
