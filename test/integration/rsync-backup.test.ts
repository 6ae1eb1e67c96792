// BACKUP=RSYNC against a real backup host (test/integration/ssh-server.ts: sshd and an rsync daemon in a
// network namespace of their own): `rear mkbackuponly` copies a tree with every kind of file to the
// rsync daemon (rsync://HOST:PORT::/MODULE/PATH) and over ssh (HOST:/PATH and rsync://HOST/PATH),
// `rear restoreonly` brings it back into a blank TARGET_FS_ROOT, and the trees are identical: owners,
// modes, ACLs, xattrs, hard links, sparseness, devices, times. An unreachable host, an unknown host key
// and a missing backup fail clearly before anything is written.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackupHost, type BackupHost } from "./ssh-server.ts";
import { run } from "./sys.ts";
import { makeTree, manifest } from "./tree-manifest.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let src: string;
let host: BackupHost | undefined;
let sshDest: string;

function conf(name: string, lines: string[]): string {
  const d = join(base, "conf", name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "local.conf"), [...lines, ""].join("\n"));
  return d;
}

/** rear with the backup host's ssh configuration (RSYNC_RSH) and a state directory of its own. */
function rear(args: string[], env: Record<string, string> = host!.env) {
  return run([DIST, ...args], { env: { REAR_VAR: join(base, "var"), ...env } });
}

const common = (url: string, extra: string[] = []) => [
  "BACKUP=RSYNC", `BACKUP_URL=${url}`, "BOOTLOADER=GRUB2", "RSYNC_PREFIX=host", "BACKUP_ONLY_INCLUDE=yes", `BACKUP_PROG_INCLUDE=( ${src} )`, "BACKUP_PROG_EXCLUDE=()", ...extra,
];

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string) {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-rsync.");
  src = join(base, "src");
  makeTree(src);
  sshDest = join(base, "ssh-dest");
  mkdirSync(sshDest);
  host = await startBackupHost(base, 0);
}, 60_000);

afterAll(async () => {
  await host?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** mkbackuponly, the copy on the backup host checked, restoreonly into a blank directory, the trees compared. */
function roundTrip(name: string, url: string, copyDir: string) {
  const b = rear(["-c", conf(`${name}-b`, common(url)), "-v", "mkbackuponly"]);
  ok(b, "mkbackuponly");
  expect(b.stdout).toMatch(/Backed up \d+ files, 64 MiB/);
  // ReaR's layout on the backup host: PATH/RSYNC_PREFIX/backup/<full paths>, the gzipped rsync log beside it
  expect(readdirSync(join(copyDir, "host")).sort()).toEqual(["backup", expect.stringMatching(/^backup-\d{8}\.\d{4}\.log\.gz$/)]);
  expect(manifest(join(copyDir, "host", "backup", src.slice(1)))).toEqual(manifest(src));
  const target = join(base, `${name}-restored`);
  mkdirSync(target);
  const r = rear(["-c", conf(`${name}-r`, [...common(url), `TARGET_FS_ROOT=${target}`]), "-p", "-v", "restoreonly"]);
  ok(r, "restoreonly");
  expect(r.stdout).toContain("Found the rsync backup at");
  expect(manifest(join(target, src.slice(1)))).toEqual(manifest(src));
  expect(readdirSync(join(base, "var", "lib", "rear", "restore")).some((f) => f.startsWith("restoreonly.rsync."))).toBe(true);
}

describe("BACKUP=RSYNC to an rsync daemon", () => {
  test("rsync://root@HOST:PORT::/MODULE/PATH: the copy and the restored tree are identical to the source", () => {
    roundTrip("daemon", `rsync://root@${host!.addr}:${host!.rsyncPort}::/${host!.module}/hosts`, join(host!.moduleDir, "hosts"));
  }, 120_000);

  test("a later backup updates the copy: deleted files go (--delete), new ones come; EXCLUDE_RESTORE is left out of a restore", () => {
    const url = `rsync://${host!.addr}:${host!.rsyncPort}::/${host!.module}/hosts`;
    const copy = join(host!.moduleDir, "hosts", "host", "backup", src.slice(1));
    writeFileSync(join(src, "added"), "new\n");
    rmSync(join(src, "dir", "sub", "deep"));
    try {
      ok(rear(["-c", conf("daemon2", common(url)), "mkbackuponly"]), "mkbackuponly");
      expect(existsSync(join(copy, "added"))).toBe(true);
      expect(existsSync(join(copy, "dir", "sub", "deep"))).toBe(false);
      const target = join(base, "daemon2-restored");
      mkdirSync(target);
      ok(rear(["-c", conf("daemon2-r", [...common(url), `TARGET_FS_ROOT=${target}`, `EXCLUDE_RESTORE=( ${src}/dir/ )`]), "-p", "restoreonly"]), "restoreonly");
      expect(existsSync(join(target, src.slice(1), "added"))).toBe(true);
      expect(existsSync(join(target, src.slice(1), "dir"))).toBe(false);
      expect(existsSync(join(target, src.slice(1), "text"))).toBe(true);
    } finally {
      rmSync(join(src, "added"), { force: true });
      mkdirSync(join(src, "dir", "sub"), { recursive: true });
      writeFileSync(join(src, "dir", "sub", "deep"), "deep\n");
      run(["touch", "-d", "2021-02-03 04:05:06", join(src, "dir", "sub", "deep")]);
    }
  }, 120_000);
});

describe("BACKUP=RSYNC over ssh", () => {
  test("HOST:/PATH (the old form): the copy and the restored tree are identical to the source", () => {
    roundTrip("ssh-old", `${host!.addr}:${sshDest}/old`, join(sshDest, "old"));
  }, 120_000);

  test("rsync://USER@HOST/PATH (ReaR's ssh form): identical too", () => {
    roundTrip("ssh-url", `rsync://root@${host!.addr}${sshDest}/url`, join(sshDest, "url"));
  }, 120_000);

  test("`export RSYNC_RSH=…` in local.conf reaches rsync, as bash exports it to ReaR's children", () => {
    const lines = common(`${host!.addr}:${sshDest}/exported`, [`export RSYNC_RSH='${host!.env.RSYNC_RSH}'`]);
    ok(rear(["-c", conf("ssh-export", lines), "mkbackuponly"], {}), "mkbackuponly with RSYNC_RSH exported by the configuration");
    expect(existsSync(join(sshDest, "exported", "host", "backup"))).toBe(true);
  }, 120_000);
});

describe("mkbackup with BACKUP=RSYNC", () => {
  test("the rescue files go beside the backup (OUTPUT_URL defaults to BACKUP_URL); the rescue system has rsync and ssh", () => {
    const kernel = join(base, "vmlinuz-placeholder");
    writeFileSync(kernel, "not a kernel: the integration tier does not boot\n");
    const url = `${host!.addr}:${sshDest}/mk`;
    const r = rear(["-c", conf("mk", common(url, ["OUTPUT=RAMDISK", `KERNEL_FILE=${kernel}`, "MODULES=( no_modules )", "REAR_INITRD_COMPRESSION=gzip", "RAMDISK_SUFFIX=host"])), "-v", "mkbackup"]);
    ok(r, "mkbackup");
    expect(readdirSync(join(sshDest, "mk", "host")).sort()).toEqual(["VERSION", "backup", expect.stringMatching(/^backup-.*\.log\.gz$/), "initramfs-host.img", "kernel-host"]);
    expect(existsSync(join(sshDest, "mk", "host", "backup", src.slice(1), "text"))).toBe(true);
    const files = run(["sh", "-c", `zcat ${join(sshDest, "mk", "host", "initramfs-host.img")} | cpio -t --quiet`]).stdout.split("\n");
    expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/bin\/rsync$/), expect.stringMatching(/bin\/ssh$/)]));
  }, 120_000);
});

describe("BACKUP=RSYNC failures", () => {
  test("a run killed halfway leaves the previous copy as it was: changed files old, deleted ones there (--delay-updates, --delete-delay)", () => {
    const url = `rsync://${host!.addr}:${host!.rsyncPort}::/${host!.module}/halfway`;
    const copy = join(host!.moduleDir, "halfway", "host", "backup", src.slice(1));
    ok(rear(["-c", conf("half1", common(url)), "mkbackuponly"]), "the first mkbackuponly");
    const text = readFileSync(join(copy, "text"), "utf8");
    // the backup run is killed after 2 s; the 6 MiB file at 1000 KiB/s needs 6
    const wrapper = join(base, "rsync-killed");
    writeFileSync(wrapper, `#!/bin/bash\ncase " $* " in *" --delay-updates "*) exec timeout -s KILL 2 rsync "$@" ;; *) exec rsync "$@" ;; esac\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(join(src, "text"), "changed\n");
    rmSync(join(src, "dir", "sub", "deep"));
    run(["sh", "-c", `head -c 6M /dev/urandom > ${join(src, "slow")}`]);
    try {
      const r = rear(["-c", conf("half2", common(url, [`BACKUP_PROG=${wrapper}`, "BACKUP_RSYNC_OPTIONS+=( --bwlimit=1000 )"])), "mkbackuponly"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/rsync failed \(exit 137: killed by signal 9\) making the backup/);
      expect(r.stdout + r.stderr).toContain("the previous copy in host/backup is unchanged");
      expect(readFileSync(join(copy, "text"), "utf8")).toBe(text);
      // text's hard link sorts before the slow file: sent before the kill, held back by --delay-updates
      expect(readFileSync(join(copy, "hardlink"), "utf8")).toBe(text);
      expect(existsSync(join(copy, "dir", "sub", "deep"))).toBe(true);
      expect(existsSync(join(copy, "slow"))).toBe(false);
    } finally {
      writeFileSync(join(src, "text"), text);
      rmSync(join(src, "slow"), { force: true });
      mkdirSync(join(src, "dir", "sub"), { recursive: true });
      writeFileSync(join(src, "dir", "sub", "deep"), "deep\n");
      run(["touch", "-d", "2021-02-03 04:05:06", join(src, "dir", "sub", "deep")]);
    }
  }, 120_000);

  test("a BACKUP_PROG that is not rsync (exit 0, nothing done) fails before anything is written", () => {
    const url = `rsync://${host!.addr}:${host!.rsyncPort}::/${host!.module}/notrsync`;
    const r = rear(["-c", conf("notrsync", common(url, ["BACKUP_PROG=/bin/true"])), "mkbackuponly"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ERROR: \/bin\/true is not rsync: its --version says '.*' \(exit 0\)/);
    expect(existsSync(join(host!.moduleDir, "notrsync"))).toBe(false);
  });

  test("nothing listens (ssh and daemon): a clear error, exit 2, nothing written", () => {
    const target = join(base, "fail-restored");
    mkdirSync(target);
    const t0 = performance.now();
    const ssh = rear(["-c", conf("f1", common(`rsync://root@${host!.addr}:2${sshDest}/f1`)), "mkbackuponly"]);
    expect(ssh.code).toBe(2);
    expect(ssh.stderr).toMatch(new RegExp(`Cannot log in to root@${host!.addr.replace(/\./g, "\\.")} port 2 with ssh: .*Connection refused`));
    expect(ssh.stdout).toContain("rear runs ssh with BatchMode=yes, it never asks for a password"); // the hint
    const daemon = rear(["-c", conf("f2", [...common(`rsync://${host!.addr}:2::/rear/x`), `TARGET_FS_ROOT=${target}`]), "-p", "restoreonly"]);
    expect(daemon.code).toBe(2);
    expect(daemon.stderr).toMatch(/Cannot reach the rsync daemon at 10\.231\.\d+\.2 port 2 \(rsync exit 10: Error in socket I\/O\): .*Connection refused/);
    expect(readdirSync(target)).toEqual([]);
    expect(existsSync(join(sshDest, "f1"))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 120_000);

  test("an unknown host key (root's own ssh configuration, no RSYNC_RSH): refused at once, never a question", () => {
    const hadSshDir = existsSync("/root/.ssh");
    const r = rear(["-c", conf("f3", common(`${host!.addr}:${sshDest}/f3`)), "mkbackuponly"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot log in to root@10\.231\.\d+\.2 with ssh: .*(Host key verification failed|Permission denied)/);
    expect(existsSync(join(sshDest, "f3"))).toBe(false);
    if (!hadSshDir) rmSync("/root/.ssh", { recursive: true, force: true });
  }, 120_000);

  test("no backup at the URL: restoreonly stops before writing anything", () => {
    const target = join(base, "none-restored");
    mkdirSync(target);
    for (const url of [`${host!.addr}:${sshDest}/never`, `rsync://${host!.addr}:${host!.rsyncPort}::/${host!.module}/never`]) {
      const r = rear(["-c", conf(`f4-${url.includes("::") ? "d" : "s"}`, [...common(url), `TARGET_FS_ROOT=${target}`]), "-p", "restoreonly"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/There is no backup at .*host\/backup.*Nothing was restored/);
      expect(readdirSync(target)).toEqual([]);
    }
  }, 120_000);

  test("BACKUP_RSYNC_RETENTION_DAYS says it is not built yet (exit 3)", () => {
    const r = rear(["-c", conf("f5", common(`${host!.addr}:${sshDest}/f5`, ["BACKUP_RSYNC_RETENTION_DAYS=7"])), "mkbackuponly"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("BACKUP_RSYNC_RETENTION_DAYS");
  }, 60_000);
});
