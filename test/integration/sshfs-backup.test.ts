// BACKUP=NETFS with BACKUP_URL=sshfs://root@HOST/DIR against a real sshd (test/integration/ssh-server.ts):
// `rear mkbackuponly` mounts the directory with sshfs, writes the archive and its SHA-256 there (twice:
// the second replaces the first by a rename over it) and unmounts; `rear restoreonly` mounts it read-only,
// checks the archive and restores a tree identical to the source; no sshfs mount is left behind, also
// when the host refuses the connection.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackupHost, type BackupHost } from "./ssh-server.ts";
import { must, run } from "./sys.ts";
import { makeTree, manifest } from "./tree-manifest.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let src: string;
let dest: string;
let host: BackupHost | undefined;

function conf(name: string, lines: string[]): string {
  const d = join(base, "conf", name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "local.conf"), [...lines, ""].join("\n"));
  return d;
}

const rear = (args: string[]) => run([DIST, ...args], { env: { REAR_VAR: join(base, "var") } });

/** sshfs mounts of this test's host (the mountpoint is in rear's work area, its source names the host). */
const sshfsMounts = () => readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes("fuse.sshfs") && l.includes(host!.addr));

const common = (url: string, extra: string[] = []) => [
  "BACKUP=NETFS", `BACKUP_URL=${url}`, `BACKUP_OPTIONS="rw,noatime,${host!.sshfsOptions}"`, "BOOTLOADER=GRUB2", "NETFS_PREFIX=host", "BACKUP_ONLY_INCLUDE=yes",
  `BACKUP_PROG_INCLUDE=( ${src} )`, "BACKUP_PROG_EXCLUDE=()", ...extra,
];

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-sshfs.");
  src = join(base, "src");
  makeTree(src);
  dest = join(base, "dest");
  mkdirSync(dest);
  host = await startBackupHost(base, 1);
}, 60_000);

afterAll(async () => {
  // a failed test may leave a mount: never delete through it
  if (host) for (const l of sshfsMounts()) run(["umount", "-l", l.split(" ")[1]!.replace(/\\040/g, " ")]);
  await host?.stop();
  rmSync(base, { recursive: true, force: true });
});

describe("BACKUP=NETFS to sshfs://", () => {
  test("mkbackuponly writes the archive and its SHA-256 through sshfs (twice: the second replaces the first), then unmounts", () => {
    const url = `sshfs://root@${host!.addr}${dest}`;
    for (const round of [1, 2]) {
      const r = rear(["-c", conf(`b${round}`, common(url)), "-v", "mkbackuponly"]);
      if (r.code !== 0) throw new Error(`mkbackuponly (${round}) exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      expect(sshfsMounts()).toEqual([]);
    }
    const dir = join(dest, "host");
    expect(readdirSync(dir).sort()).toEqual(["backup.log", "backup.tar.gz", "backup.tar.gz.sha256"]);
    must(["sh", "-c", `cd ${dir} && sha256sum -c --quiet backup.tar.gz.sha256`]);
  }, 120_000);

  test("restoreonly mounts it read-only, checks the archive and restores an identical tree; the mount is gone afterwards", () => {
    const target = join(base, "restored");
    mkdirSync(target);
    const r = rear(["-c", conf("r1", [...common(`sshfs://root@${host!.addr}${dest}`), `TARGET_FS_ROOT=${target}`]), "-p", "-v", "restoreonly"]);
    if (r.code !== 0) throw new Error(`restoreonly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain("Backup archive verified: SHA-256 matches backup.tar.gz.sha256");
    expect(manifest(join(target, src.slice(1)))).toEqual(manifest(src));
    expect(sshfsMounts()).toEqual([]);
  }, 120_000);

  test("a port in the URL goes to sshfs as -p: nothing listens there, a clear error, no mount left", () => {
    const target = join(base, "refused");
    mkdirSync(target);
    const r = rear(["-c", conf("f1", [...common(`sshfs://root@${host!.addr}:2${dest}`), `TARGET_FS_ROOT=${target}`]), "-p", "restoreonly"]);
    expect(r.code).toBe(2);
    // sshfs keeps ssh's own message ("Connection refused") to itself: it says "read: Connection reset by peer"
    expect(r.stderr).toMatch(/cannot mount sshfs:\/\/root@10\.231\.\d+\.2:2\/.*'sshfs root@10\.231\.\d+\.2:\/\S+ .*BatchMode=yes -p 2' failed with exit code 1/);
    expect(readdirSync(target)).toEqual([]);
    expect(sshfsMounts()).toEqual([]);
  }, 60_000);

  // sftp:// is sshfs's protocol: ReaR uploads OUTPUT_URL=sftp:// with lftp and cannot put PXE files there
  // at all; rear mounts it with sshfs for both (src/output/url.ts sftpAsSshfs).
  test("OUTPUT=PXE to PXE_TFTP_URL/PXE_CONFIG_URL=sftp://, and OUTPUT_URL=sftp:// for the results; nothing left mounted", () => {
    const srv = join(base, "tftpsrv");
    mkdirSync(join(srv, "pxelinux.cfg"), { recursive: true });
    const out = join(base, "results");
    mkdirSync(out);
    writeFileSync(join(base, "vmlinuz"), "not a kernel: the integration tier does not boot\n");
    const c = conf("pxe-sftp", [
      "OUTPUT=PXE", "BACKUP=REQUESTRESTORE", `KERNEL_FILE=${join(base, "vmlinuz")}`, "MODULES=( no_modules )", "BOOTLOADER=GRUB2",
      `PXE_TFTP_URL=sftp://root@${host!.addr}${srv}`, `PXE_CONFIG_URL=sftp://root@${host!.addr}${srv}/pxelinux.cfg`, "PXE_CREATE_LINKS=",
      `OUTPUT_URL=sftp://root@${host!.addr}${out}`, `OUTPUT_OPTIONS="rw,noatime,${host!.sshfsOptions}"`,
    ]);
    const r = rear(["-c", c, "-v", "mkrescue"]);
    if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const name = readdirSync(srv).find((f) => f !== "pxelinux.cfg")!;
    expect(readdirSync(join(srv, name))).toContain(`${name}.kernel`);
    expect(readdirSync(join(srv, "pxelinux.cfg"))).toEqual([`rear-${name}`]);
    expect(readdirSync(join(out, name))).toContain("VERSION");
    expect(r.stdout).toContain(`to sftp://root@${host!.addr}${out}/${name}`);
    expect(sshfsMounts()).toEqual([]);
  }, 120_000);

  test("OUTPUT_URL=ftp:// (an lftp upload) is still not built: exit 3", () => {
    const r = rear(["-c", conf("ftp", ["OUTPUT=ISO", "BACKUP=REQUESTRESTORE", "OUTPUT_URL=ftp://backup.example/iso"]), "mkrescue"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("OUTPUT_URL=ftp://backup.example/iso (an upload with lftp;");
  });
});
