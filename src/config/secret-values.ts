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
