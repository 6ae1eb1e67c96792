// Passwords inside ordinary settings (a cifs mount's `password=` in BACKUP_OPTIONS/OUTPUT_OPTIONS, the
// `user:password@` of a URL): hidden where the configuration is shown (`rear dump`, the -d log) unless
// -e/--expose-secrets, as the secret variables themselves are. Pure.

const HIDDEN = "<hidden>";

/** Whether a variable may carry a password inside its value. */
export function mayHoldPassword(name: string): boolean {
  return /(_OPTIONS|_URL|MOUNTCMD)$/.test(name);
}

/** The value with its passwords replaced: mount options password=/pass= (",," is a comma in them), user=NAME%PASSWORD, URLs' user:password@. */
export function maskPasswords(value: string): string {
  return value
    .replace(/(^|,)(password|pass)=(?:[^,]|,,)*/g, `$1$2=${HIDDEN}`)
    .replace(/(^|,)(user|username)=([^%,]*)%[^,]*/g, `$1$2=$3%${HIDDEN}`)
    .replace(/(\/\/[^/:@\s]+):[^/@\s]+@/g, `$1:${HIDDEN}@`);
}

/** The password substrings a value carries (what maskPasswords hides), ",," unescaped as mount does. */
export function passwordsIn(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/(?:^|,)(?:password|pass)=((?:[^,]|,,)*)/g)) out.push(m[1]!, m[1]!.replace(/,,/g, ","));
  for (const m of value.matchAll(/(?:^|,)(?:user|username)=[^%,]*%([^,]*)/g)) out.push(m[1]!);
  for (const m of value.matchAll(/\/\/[^/:@\s]+:([^/@\s]+)@/g)) {
    out.push(m[1]!);
    try {
      out.push(decodeURIComponent(m[1]!));
    } catch {}
  }
  return out.filter((p) => p !== "");
}

/**
 * Every secret value of a configuration: the values of the secret variables (ReaR's SECRETS and every
 * variable assigned in a `{ …; } 2>>/dev/$SECRET_OUTPUT_DEV` group) and the passwords inside URLs and
 * mount options. These never go into a log, onto the terminal or onto a command line unless -e.
 */
export function secretValuesOf(entries: Iterable<[string, string | readonly string[]]>, isSecret: (name: string) => boolean): string[] {
  const out = new Set<string>();
  for (const [name, value] of entries) {
    const values = typeof value === "string" ? [value] : value;
    for (const v of values) {
      if (isSecret(name)) {
        if (v !== "") out.add(v);
      } else if (mayHoldPassword(name)) for (const p of passwordsIn(v)) out.add(p);
    }
  }
  return [...out];
}
