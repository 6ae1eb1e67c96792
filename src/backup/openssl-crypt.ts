// Archives encrypted the way ReaR encrypts them (`tar … | openssl des3 -salt -k KEY`), read by the
// rescue system of this rear: a machine backed up by ReaR 2.x can be recovered with it. The key never
// goes on a command line (`ps` shows those): the trailing `-k` of BACKUP_PROG_DECRYPT_OPTIONS becomes
// `-pass env:…`. openssl enc has no authentication, so a wrong key is found by looking at what the
// first bytes decrypt to: the start of a compressed stream or of a tar archive, or garbage. Pure.

/** The environment variable that carries the key to openssl. */
export const KEY_ENV = "REAR_BACKUP_PROG_CRYPT_KEY";

/** argv of BACKUP_PROG_DECRYPT_OPTIONS (ReaR: "/usr/bin/openssl des3 -d -k "), the key passed by environment. */
export function decryptArgv(options: string): string[] {
  const words = options.split(/\s+/).filter(Boolean);
  if (!words.length) throw new Error("BACKUP_PROG_DECRYPT_OPTIONS is empty: it must name the command that decrypts, e.g. /usr/bin/openssl des3 -d -k");
  return words.at(-1) === "-k" ? [...words.slice(0, -1), "-pass", `env:${KEY_ENV}`] : words;
}

const MAGICS: { name: string; at: number; bytes: number[] }[] = [
  { name: "gzip", at: 0, bytes: [0x1f, 0x8b] },
  { name: "bzip2", at: 0, bytes: [0x42, 0x5a, 0x68] },
  { name: "xz", at: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: "zstd", at: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: "lz4", at: 0, bytes: [0x04, 0x22, 0x4d, 0x18] },
  { name: "lzop", at: 0, bytes: [0x89, 0x4c, 0x5a, 0x4f] },
  { name: "tar", at: 257, bytes: [0x75, 0x73, 0x74, 0x61, 0x72] },
];

/** What the decrypted first bytes are the start of, or undefined (garbage: the key is wrong). */
export function streamKind(plain: Uint8Array): string | undefined {
  return MAGICS.find((m) => m.bytes.every((b, i) => plain[m.at + i] === b))?.name;
}
