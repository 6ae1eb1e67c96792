// Encrypted NETFS backups (BACKUP_PROG_CRYPT_ENABLED): the archive is our authenticated stream
// (src/backup/crypt.ts), the key is never in a log, it comes from the environment or is asked for at
// restore, a wrong key is refused before anything is written, and so is a changed archive (with a
// forged manifest): every chunk is authenticated before the restore starts.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { loopFs, type LoopFs } from "./loop-fs.ts";
import { makeTree, manifest } from "./tree-manifest.ts";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const KEY = `it-key-${randomBytes(9).toString("hex")}`;
let base: string;
let src: string;
let target: string;
let fs: LoopFs | undefined;
let env: Record<string, string>;

function conf(name: string, lines: string[]): string {
  const d = join(base, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "local.conf"), [...lines, ""].join("\n"));
  return d;
}

const common = (extra: string[] = []) => [
  "BACKUP=NETFS", `BACKUP_URL=file://${target}`, "BOOTLOADER=GRUB2", "NETFS_PREFIX=enc", "BACKUP_ONLY_INCLUDE=yes",
  `BACKUP_PROG_INCLUDE=( ${src} )`, "BACKUP_PROG_EXCLUDE=()", "BACKUP_PROG_CRYPT_ENABLED=yes", ...extra,
];

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-crypt.");
  // TMPDIR in the test's directory: -D keeps the work area, which must go with the rest
  env = { ...(process.env as Record<string, string>), REAR_VAR: join(base, "var"), TMPDIR: base };
  src = join(base, "src");
  makeTree(src);
  // 3 MiB of random bytes: the archive has several 1 MiB chunks
  writeFileSync(join(src, "random"), randomBytes(3 << 20));
  fs = loopFs(base, "target", 64);
  target = fs.mnt;
}, 120_000);

afterAll(() => {
  fs?.close();
  rmSync(base, { recursive: true, force: true });
});

function logsContainKey(): string[] {
  const dir = join(base, "var/log/rear");
  return readdirSync(dir).filter((f) => readFileSync(join(dir, f), "utf8").includes(KEY));
}

describe("BACKUP_PROG_CRYPT_ENABLED", () => {
  test("mkbackuponly writes an authenticated encrypted archive; the key is in no log, even with -D", () => {
    const r = run([DIST, "-c", conf("b", common([`{ BACKUP_PROG_CRYPT_KEY='${KEY}' ; } 2>>/dev/$SECRET_OUTPUT_DEV`])), "-D", "-v", "mkbackuponly"], { env });
    if (r.code !== 0) throw new Error(`mkbackuponly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const arch = join(target, "enc", "backup.tar.gz");
    const head = readFileSync(arch).subarray(0, 8).toString("latin1");
    expect(head).toBe("REARAEAD");
    expect(run(["gzip", "-t", arch]).code).not.toBe(0);
    must(["sh", "-c", `cd ${join(target, "enc")} && sha256sum -c --quiet backup.tar.gz.sha256`]);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    expect(logsContainKey()).toEqual([]);
    // mkbackuponly may run beside mkrescue: it leaves the saved layout alone (ReaR's backuplayout.conf) and logs on its own
    expect(existsSync(join(base, "var/lib/rear/layout/disklayout.conf"))).toBe(false);
    expect(readdirSync(join(base, "var/log/rear")).some((f) => /^rear-.+\.\d+\.log$/.test(f))).toBe(true);
  }, 120_000);

  test("restoreonly with the key from the environment gives the same tree; the config needs no key", () => {
    const out = join(base, "out1");
    mkdirSync(out);
    const r = run([DIST, "-c", conf("r1", [...common(), `TARGET_FS_ROOT=${out}`]), "-p", "-v", "restoreonly"], { env: { ...env, BACKUP_PROG_CRYPT_KEY: KEY } });
    if (r.code !== 0) throw new Error(`restoreonly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain("The key opens the encrypted backup backup.tar.gz");
    expect(manifest(join(out, src.slice(1)))).toEqual(manifest(src));
    expect(logsContainKey()).toEqual([]);
    // the mountpoints and FHS entries the backup did not hold, as they are on this machine (restore/900)
    expect(statSync(join(out, "proc")).mode & 0o7777).toBe(statSync("/proc").mode & 0o7777);
    expect(statSync(join(out, "tmp")).mode & 0o7777).toBe(0o1777);
    if (lstatSync("/bin").isSymbolicLink()) expect(readlinkSync(join(out, "bin"))).toBe(readlinkSync("/bin"));
    expect(r.stdout + readFileSync(join(base, "var/lib/rear/recovery/directories_permissions_owner_group"), "utf8")).toContain("/tmp 1777 0 0");
  }, 120_000);

  test("a wrong key stops before anything is written; without a key and a terminal, it says how to give one", () => {
    const out = join(base, "out2");
    mkdirSync(out);
    const wrong = run([DIST, "-c", conf("r2", [...common(), `TARGET_FS_ROOT=${out}`]), "-p", "restoreonly"], { env: { ...env, BACKUP_PROG_CRYPT_KEY: "not-the-key" } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Cannot decrypt backup.tar.gz: the key is wrong");
    expect(readdirSync(out)).toEqual([]);
    const none = run([DIST, "-c", conf("r3", [...common(), `TARGET_FS_ROOT=${out}`]), "-p", "restoreonly"], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("USER_INPUT_BACKUP_PROG_CRYPT_KEY");
    expect(readdirSync(out)).toEqual([]);
    // the predefined answer of that question is a way to give it
    const given = run([DIST, "-c", conf("r4", [...common(), `TARGET_FS_ROOT=${out}`]), "-p", "restoreonly"], { env: { ...env, USER_INPUT_BACKUP_PROG_CRYPT_KEY: KEY } });
    if (given.code !== 0) throw new Error(`restoreonly exited ${given.code}:\n${given.stderr}`);
    expect(readFileSync(join(out, src.slice(1), "text"), "utf8")).toBe("hello\n");
    expect(logsContainKey()).toEqual([]);
  }, 120_000);

  test("an archive changed after the backup, with its manifest forged to match, is refused before anything is written", () => {
    const dir = join(target, "enc");
    const arch = join(dir, "backup.tar.gz");
    const orig = readFileSync(arch);
    const bad = Buffer.from(orig);
    const at = 32 + (1 << 20) + 16 + 100; // inside the second chunk
    bad[at]! ^= 0x40;
    writeFileSync(arch, bad);
    const manifest = readFileSync(`${arch}.sha256`, "utf8");
    writeFileSync(`${arch}.sha256`, `${createHash("sha256").update(bad).digest("hex")}  backup.tar.gz\n`);
    try {
      const out = join(base, "out3");
      mkdirSync(out);
      const r = run([DIST, "-c", conf("r5", [...common(), `TARGET_FS_ROOT=${out}`]), "-p", "restoreonly"], { env: { ...env, BACKUP_PROG_CRYPT_KEY: KEY } });
      expect(r.code).toBe(2);
      // caught by the check before the restore: every chunk is authenticated before a file is written
      expect(r.stderr).toMatch(/The encrypted backup backup.tar.gz cannot be restored: the encrypted archive is damaged or was changed at chunk 1 .*Nothing was restored/);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      writeFileSync(arch, orig);
      writeFileSync(`${arch}.sha256`, manifest);
    }
  }, 120_000);

  test("BACKUP_PROG_CRYPT_ENABLED without a key is refused before anything is written", () => {
    const r = run([DIST, "-c", conf("b2", common(["NETFS_PREFIX=nokey"])), "mkbackuponly"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("BACKUP_PROG_CRYPT_KEY is empty");
    expect(existsSync(join(target, "nokey", "backup.tar.gz"))).toBe(false);
  }, 120_000);

  test("an archive ReaR 2.7 encrypted (tar | openssl des3 -salt -k KEY) restores with its key; a wrong key is refused before anything is written", () => {
    const dir = join(target, "legacy");
    mkdirSync(dir);
    // ReaR's 500_make_backup.sh pipe, with its default BACKUP_PROG_CRYPT_OPTIONS
    const made = run(["sh", "-c", `tar --create --sparse --gzip --numeric-owner --xattrs --xattrs-include='*' --acls -C / -f - ${src.slice(1)} | openssl des3 -salt -k "$K" 2>/dev/null > ${dir}/backup.tar.gz`], { env: { ...env, K: KEY } });
    expect(made.code).toBe(0);
    expect(readFileSync(join(dir, "backup.tar.gz")).subarray(0, 8).toString("latin1")).toBe("Salted__");
    const lines = [...common(), "NETFS_PREFIX=legacy"];
    const wrongOut = join(base, "legacy-wrong");
    mkdirSync(wrongOut);
    const wrong = run([DIST, "-c", conf("l1", [...lines, `TARGET_FS_ROOT=${wrongOut}`]), "-p", "restoreonly"], { env: { ...env, BACKUP_PROG_CRYPT_KEY: "not-the-key" } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Cannot decrypt backup.tar.gz: the key is wrong");
    expect(readdirSync(wrongOut)).toEqual([]);
    const out = join(base, "legacy-out");
    mkdirSync(out);
    const r = run([DIST, "-c", conf("l2", [...lines, `TARGET_FS_ROOT=${out}`]), "-p", "-D", "restoreonly"], { env: { ...env, BACKUP_PROG_CRYPT_KEY: KEY } });
    if (r.code !== 0) throw new Error(`restoreonly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(manifest(join(out, src.slice(1)))).toEqual(manifest(src));
    // the key went to openssl by environment: not in the -D trace of its command line
    expect(logsContainKey()).toEqual([]);
  }, 120_000);
});
