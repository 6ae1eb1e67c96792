// Secrets out of the rescue system's copy of the configuration (ReaR's build/default/
// 960_remove_encryption_keys.sh removes BACKUP_PROG_CRYPT_KEY). We remove the secrets the rescue system
// does not need: the backup key (asked for at restore), the console and ssh passwords (in its
// /etc/shadow as SHA-512 hashes already) and the lftp password (output only). A backup product's own
// credentials (GALAXY11_PASSWORD, VEEAM_PASSWORD, …) stay, as in ReaR: its agent logs in with them
// during the recovery. An assignment line is replaced by a comment that says why; then none of the
// removed values may be left anywhere in the copy — a value that survives (copied into another
// variable, an assignment over several lines) stops mkrescue. Pure.

/** The secret variables the rescue system's configuration does without. */
export const RESCUE_STRIPPED_SECRETS = ["BACKUP_PROG_CRYPT_KEY", "SSH_ROOT_PASSWORD", "TTY_ROOT_PASSWORD", "OUTPUT_LFTP_PASSWORD"];

/** `NAME=` or `NAME+=` at a word start (plain, exported, declared, or in ReaR's `{ …; } 2>>/dev/$SECRET_OUTPUT_DEV` idiom). */
function assigns(line: string, name: string): boolean {
  return new RegExp(`(^|[\\s{;(])(export\\s+|declare\\s+(-\\w+\\s+)*|readonly\\s+|local\\s+)?${name}\\+?=`).test(line);
}

export function stripSecretAssignments(text: string, names: readonly string[]): { text: string; removed: string[] } {
  const removed: string[] = [];
  const lines = text.split("\n").map((l) => {
    if (/^\s*#/.test(l)) return l;
    const hit = names.filter((n) => assigns(l, n));
    if (!hit.length) return l;
    removed.push(...hit);
    return `# ${hit.join(", ")} removed by rear mkrescue: secrets are not stored in the rescue system`;
  });
  return { text: lines.join("\n"), removed };
}

/** The 1-based lines of `text` that contain one of the secret values (at least 4 characters: shorter ones match anything). */
export function linesWithSecrets(text: string, values: readonly string[]): number[] {
  const v = values.filter((x) => x.length >= 4);
  if (!v.length) return [];
  return text.split("\n").flatMap((l, i) => (v.some((x) => l.includes(x)) ? [i + 1] : []));
}
