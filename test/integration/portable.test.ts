// OUTPUT=PORTABLE on this machine with the compiled binary: `rear mkrescue` writes one private archive
// with the binary, the configuration (secrets left out, as in the rescue image) and the layout, copies
// it to OUTPUT_URL, and builds no initramfs. Extracted elsewhere, its rear finds the tree beside it
// (`-p`), names its log after the original machine, in the live system's /var/log/rear, and plans the
// recovery read-only (recover --dry-run). The full recovery from a live system is the VM tier's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";
import { readUpdateArchive, updatePaths, withoutBinary } from "../../src/update/archive.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const LIVE_HOST = "rear-it-portable";
let base: string;
let mk: { code: number | null; stdout: string; stderr: string };
let archive: string;
let ms = 0;

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-portable.");
  const conf = join(base, "etc-rear");
  mkdirSync(join(conf, "mappings"), { recursive: true });
  writeFileSync(
    join(conf, "local.conf"),
    [`OUTPUT=PORTABLE`, `OUTPUT_URL=file://${base}/out`, `BACKUP=REQUESTRESTORE`, `BOOTLOADER=GRUB2`, `{ SSH_ROOT_PASSWORD='s3cret-ssh-pw' ; } 2>>/dev/$SECRET_OUTPUT_DEV`, `ISO_VOLID=MINE`, ""].join("\n"),
  );
  writeFileSync(join(conf, "mappings/disk_mappings"), "/dev/sda /dev/sdb\n");
  writeFileSync(join(conf, "old.iso"), "not wanted in the archive\n");
  const t0 = performance.now();
  mk = run([DIST, "-c", conf, "-v", "mkrescue"], { env: { REAR_VAR: join(base, "var") } });
  ms = performance.now() - t0;
  const host = must(["hostname", "-s"]).trim();
  archive = join(base, "out", host, `${host}-portable.tar.gz`);
}, 120_000);

afterAll(() => {
  for (const f of [`rear-${LIVE_HOST}.log`, `rear-${LIVE_HOST}.log.old`]) rmSync(`/var/log/rear/${f}`, { force: true });
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("OUTPUT=PORTABLE", () => {
  test("mkrescue writes the archive in seconds, builds no initramfs, and copies it to OUTPUT_URL (0600)", () => {
    if (mk.code !== 0) throw new Error(`mkrescue exited ${mk.code}:\n${mk.stdout}\n${mk.stderr}`);
    expect(mk.stdout).toMatch(/Wrote the portable archive .*-portable\.tar\.gz \(\d+ MiB\) in [\d.]+ s/);
    expect(mk.stdout).not.toMatch(/initrd|initramfs|ISO image/i);
    expect(existsSync(archive)).toBe(true);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(base, "var/lib/rear/output")).filter((n) => n.endsWith("-portable.tar.gz"))).toHaveLength(1);
    console.log(`OUTPUT=PORTABLE: mkrescue took ${Math.round(ms)} ms, the archive has ${Math.round(statSync(archive).size / 1048576)} MiB`);
  });

  test("the archive holds the binary, the configuration without secrets, rescue.conf and the layout, not old results", () => {
    const list = must(["tar", "-tzvf", archive]);
    const names = must(["tar", "-tzf", archive]).split("\n").filter(Boolean);
    for (const n of ["usr/sbin/rear", "etc/rear/local.conf", "etc/rear/rescue.conf", "etc/rear/mappings/disk_mappings", "var/lib/rear/layout/disklayout.conf", "var/lib/rear/recovery/hostname"]) expect(names).toContain(n);
    expect(names.filter((n) => n.startsWith("var/lib/rear/output") || n.endsWith(".iso") || n.startsWith("/") || n.includes(".."))).toEqual([]);
    expect(list).toMatch(/-rwxr-xr-x 0\/0 .* usr\/sbin\/rear/);
    const x = join(base, "x");
    mkdirSync(x);
    must(["tar", "-C", x, "-xzf", archive]);
    expect(readFileSync(join(x, "usr/sbin/rear")).equals(readFileSync(DIST))).toBe(true);
    const local = readFileSync(join(x, "etc/rear/local.conf"), "utf8");
    expect(local).toContain("OUTPUT=PORTABLE");
    expect(local).not.toContain("s3cret-ssh-pw");
    expect(readFileSync(join(x, "var/lib/rear/recovery/hostname"), "utf8").trim()).toBe(must(["hostname", "-s"]).trim());
  });

  test("the archive is a valid RECOVERY_UPDATE_URL archive: nothing refused; its binary left out unless signed or pinned", () => {
    const entries = readUpdateArchive(readFileSync(archive), archive, { allowed: updatePaths([]), trusted: false });
    const w = withoutBinary(entries);
    expect(w.dropped).toBe(true);
    expect(w.entries.map((e) => e.path.replace(/\/$/, ""))).toContain("etc/rear/local.conf");
    expect(readUpdateArchive(readFileSync(archive), archive, { allowed: updatePaths([]), trusted: true }).some((e) => e.path === "usr/sbin/rear")).toBe(true);
  });
  test("extracted elsewhere, rear -p finds its tree, logs under the original name in /var/log/rear, and plans read-only", () => {
    const x = join(base, "live");
    mkdirSync(x);
    must(["tar", "-C", x, "-xzf", archive]);
    // the live system is another machine: the saved name stands for the original one
    writeFileSync(join(x, "var/lib/rear/recovery/hostname"), `${LIVE_HOST}\n`);
    // the archive's own disk mapping is read (from the tree, not from /etc/rear): it names disks this machine lacks
    const first = run([join(x, "usr/sbin/rear"), "-p", "recover", "--dry-run"]);
    expect(first.stdout + first.stderr).toContain(`${x}/etc/rear/mappings/disk_mappings: /dev/sda is mapped to /dev/sdb, which is not a disk here`);
    expect(first.code).not.toBe(0);
    rmSync(join(x, "etc/rear/mappings/disk_mappings"));
    const r = run([join(x, "usr/sbin/rear"), "-p", "recover", "--dry-run"]);
    const all = r.stdout + r.stderr;
    expect(all).toContain(`Using log file: /var/log/rear/rear-${LIVE_HOST}.log`);
    expect(all).toContain(`Using the disk layout ${x}/var/lib/rear/layout/disklayout.conf`);
    expect(all).toContain("Dry run: nothing was changed");
    expect(r.code).toBe(0);
    expect(readFileSync(`/var/log/rear/rear-${LIVE_HOST}.log`, "utf8")).toContain("Running rear recover");
  });
});
