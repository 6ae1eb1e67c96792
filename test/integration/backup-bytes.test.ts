// Values are bytes (issue 14): a Latin-1 byte in BACKUP_PROG_EXCLUDE became U+FFFD, so the excluded
// directory went into the archive; the same byte in an include gave an empty archive. Both reach tar
// exactly now, from local.conf to tar's argument list and its exclude file.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let target: string;
const L1 = Buffer.from("caf\xe9", "latin1"); // not UTF-8

const sh = (script: string) => {
  const p = Bun.spawnSync(["bash", "-c", script], { stdin: "ignore" });
  if (p.exitCode !== 0) throw new Error(`${script}: ${p.stderr.toString()}`);
  return p.stdout;
};

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-bytes.");
  chmodSync(base, 0o755);
  target = join(base, "target");
  mkdirSync(target);
  // the target on a file system of its own (rear refuses the root file system it backs up)
  sh(`mount -t tmpfs -o size=64m tmpfs ${target}`);
  sh(`mkdir -p ${base}/src/keep && echo kept > ${base}/src/keep/file && mkdir ${base}/src/$'caf\\xe9' && echo latin > ${base}/src/$'caf\\xe9'/file`);
});
afterAll(() => {
  Bun.spawnSync(["umount", target]);
  rmSync(base, { recursive: true, force: true });
});

function run(name: string, lines: Buffer[]): { code: number | null; out: string; list: Buffer } {
  const conf = join(base, name);
  mkdirSync(conf, { mode: 0o755 });
  writeFileSync(join(conf, "local.conf"), Buffer.concat([Buffer.from(`BACKUP=NETFS\nBACKUP_URL=file://${target}\nNETFS_PREFIX=${name}\nBOOTLOADER=GRUB2\nBACKUP_ONLY_INCLUDE=yes\n`), ...lines]), { mode: 0o644 });
  const p = Bun.spawnSync([DIST, "-c", conf, "mkbackuponly"], { env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", REAR_VAR: join(base, "var"), TMPDIR: base }, stdin: "ignore" });
  const out = p.stdout.toString() + p.stderr.toString();
  const list = p.exitCode === 0 ? sh(`tar --quoting-style=literal -tzf ${target}/${name}/backup.tar.gz`) : Buffer.alloc(0);
  return { code: p.exitCode, out, list };
}

describe("bytes from local.conf to tar", () => {
  test("an excluded directory with a Latin-1 name stays out of the archive", () => {
    const r = run("exclude", [Buffer.from(`BACKUP_PROG_INCLUDE=( ${base}/src )\nBACKUP_PROG_EXCLUDE=( '${base}/src/`), L1, Buffer.from("' )\n")]);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.list.includes(Buffer.from("keep/file"))).toBe(true);
    expect(r.list.includes(L1)).toBe(false);
  }, 60_000);
  test("an included directory with a Latin-1 name is archived, its name byte for byte", () => {
    const r = run("include", [Buffer.from(`BACKUP_PROG_INCLUDE=( '${base}/src/`), L1, Buffer.from("' )\n")]);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.list.includes(Buffer.concat([L1, Buffer.from("/file")]))).toBe(true);
    expect(r.list.includes(Buffer.from("keep/file"))).toBe(false);
  }, 60_000);
});
