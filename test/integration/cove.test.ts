// BACKUP=COVE as a vendor ships it, on this machine: `npm run dist`'s archive inside the Backup Manager
// stand-in's makeself installer (test/cove/), installed into a bundle directory with the vendor's
// site.conf (the seed's lines); the stand-in runs `rear mkrescue --json` with a bare environment (the
// COVE prep, the error paths, and with a placeholder kernel an ISO carrying the Backup Manager);
// `rear -p restoreonly` downloads the installer over real HTTPS (private CA) onto a loop file system,
// lets the Backup Manager restore the chosen session, stops it and leaves the token in no file.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, linkSync } from "node:fs";
import { join } from "node:path";
import { buildInstaller, makePki, serveStandIn, type StandInServer } from "../cove/standin.ts";
import { loopFs, type LoopFs } from "./loop-fs.ts";
import { must, run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const ROOT = join(import.meta.dir, "../..");
const TOKEN = "cove-token-5f2a9c71e3b84d06";
let W: string;
let MXB: string;
let rear: string;
/** rear -p as from a PORTABLE archive on a live system (the bundle's own tree lies under the install directory that the restore bind-mounts) */
let live: string;
let server: StandInServer;
let target: LoopFs;
const loops: LoopFs[] = [];

/** A command whose child talks to the server in this process: spawnSync would block the server. */
async function runAsync(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // rear -p logs to /var/log/rear unless REAR_VAR moves var/ (its log stays in the test's tree)
  const p = Bun.spawn(argv, { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...(argv[0] === live ? { REAR_VAR: join(W, "live/var") } : {}), ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, stdout, stderr };
}

function pcRunning(): boolean {
  return run(["pgrep", "-f", `${MXB}/bin/ProcessController`]).code === 0;
}
function stopPc(): void {
  run(["pkill", "-f", `${MXB}/bin/ProcessController`]);
  for (let i = 0; i < 30 && pcRunning(); i++) Bun.sleepSync(200);
}

/** Every file under `dir` whose bytes contain `needle` (grep -r -l, binary files too). */
function filesWith(dir: string, needle: string): string[] {
  const r = run(["grep", "-r", "-l", "-a", "-F", needle, dir]);
  return r.stdout.split("\n").filter(Boolean);
}

beforeAll(async () => {
  W = mkdtempSync("/tmp/rear-test-cove.");
  chmodSync(W, 0o755);
  MXB = join(W, "opt/MXB");
  const dist = run([process.execPath, join(ROOT, "scripts/dist.ts")]);
  if (dist.code !== 0) throw new Error(`scripts/dist.ts failed: ${dist.stderr}`);
  const tarball = readdirSync(join(ROOT, "dist")).find((f) => /^rear-.*-x86_64\.tar\.gz$/.test(f));
  if (!tarball) throw new Error("npm run dist wrote no dist/rear-VERSION-x86_64.tar.gz");
  const pki = makePki(join(W, "pki"), ["127.0.0.1"]);
  const installerPath = join(W, "mxb-linux-x86_64.run");
  server = serveStandIn({ tls: { cert: pki.cert, key: pki.key }, installer: installerPath, token: TOKEN, device: "device-0042", storage: join(W, "storage") });
  // the vendor's site.conf: the seed's lines (shared/seeds/cove-backup-method-issue-3463.txt) with this test's URL,
  // directory and CA
  const site = [
    "BACKUP=COVE",
    "OUTPUT=ISO",
    'ISO_PREFIX="cove-rear"',
    "# static URL to CDN to download BM",
    `COVE_INSTALLER_URL="${server.url}/installer/mxb-linux-x86_64.run"`,
    "# it depends on the installer",
    `COVE_INSTALL_DIR="${MXB}"`,
    // beside the Backup Manager, as in the VM: under the install directory the restore bind-mounts over
    `COVE_INSTALLER_CA="${MXB}/etc/ca.pem"`,
    "",
  ].join("\n");
  buildInstaller({ work: W, installDir: MXB, server: server.url, caFile: pki.ca, rearTarball: join(ROOT, "dist", tarball), siteConf: site });
  // the Backup Manager installed on this "source machine" the way its users install it
  mkdirSync(join(W, "dl"));
  copyFileSync(installerPath, join(W, "dl", `cove#v1#${TOKEN}#.run`));
  const inst = await runAsync(["sh", "-c", `cd ${W}/dl && ./cove#v1#*#.run --target ${W}/dl/mxb`]);
  if (inst.code !== 0) throw new Error(`the stand-in installer failed (${inst.code}): ${inst.stdout}${inst.stderr}`);
  rmSync(join(W, "dl"), { recursive: true, force: true });
  rear = join(MXB, "rear/usr/sbin/rear");
  // the files it backs up: two sessions, the second changed
  const src = join(W, "src");
  mkdirSync(join(src, "etc"), { recursive: true });
  writeFileSync(join(src, "etc/app.conf"), "version=1\n");
  writeFileSync(join(src, "secret.key"), "k\n", { mode: 0o600 });
  symlinkSync("etc/app.conf", join(src, "link"));
  linkSync(join(src, "etc/app.conf"), join(src, "hardlink"));
  writeFileSync(join(MXB, "etc/config.ini"), `${readFileSync(join(MXB, "etc/config.ini"), "utf8")}backup_paths=${src}\n`);
  const b1 = await runAsync([join(MXB, "bin/BackupFP"), "-backup", "-no-system-state", "-time", "1000"]);
  if (b1.code !== 0) throw new Error(`BackupFP failed: ${b1.stderr}`);
  writeFileSync(join(src, "etc/app.conf"), "version=2\n");
  const b2 = await runAsync([join(MXB, "bin/BackupFP"), "-backup", "-no-system-state", "-time", "2000"]);
  if (b2.code !== 0) throw new Error(`BackupFP failed: ${b2.stderr}`);
  stopPc();
  rmSync(src, { recursive: true });
  mkdirSync(join(W, "live"));
  must(["cp", "-a", join(MXB, "rear/etc"), join(MXB, "rear/usr"), join(W, "live")]);
  live = join(W, "live/usr/sbin/rear");
}, 300_000);

afterAll(() => {
  stopPc();
  run(["umount", "-l", MXB]);
  for (const l of loops) l.close();
  server?.stop();
  if (!process.env.REAR_TEST_KEEP) rmSync(W, { recursive: true, force: true });
});

describe("the dist archive in a vendor bundle", () => {
  test("npm run dist: usr/sbin/rear, an example local.conf that sets nothing, the docs; 0600", () => {
    const tarball = readdirSync(join(ROOT, "dist")).find((f) => /^rear-.*-x86_64\.tar\.gz$/.test(f))!;
    const path = join(ROOT, "dist", tarball);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const list = must(["tar", "-tzvf", path]);
    for (const f of ["usr/sbin/rear", "etc/rear/local.conf", "usr/share/doc/rear/README.md", "usr/share/doc/rear/LICENSE"]) expect(list).toContain(f);
    expect(list).not.toContain("site.conf");
    expect(list).toMatch(/-rwxr-xr-x 0\/0 .* usr\/sbin\/rear/);
    const example = must(["tar", "-xzOf", path, "etc/rear/local.conf"]);
    expect(example.split("\n").filter((l) => l.trim() && !l.startsWith("#"))).toEqual([]);
  }, 60_000);

  test("unpacked into the bundle, rear uses that tree: its etc/rear (the vendor's site.conf), its var/", () => {
    const d = must([rear, "dump"]);
    expect(d).toContain(`# site.conf (${MXB}/rear/etc/rear/site.conf) : OK`);
    expect(d).toContain(`ISO_DIR="${MXB}/rear/var/lib/rear/output"`);
    expect(d).toContain("# Backup with COVE:");
    expect(d).toContain(`ISO_PREFIX="cove-rear"`);
  }, 60_000);

  test("rear -s shows the COVE modules in their places", () => {
    const mk = must([rear, "-s", "mkrescue"]);
    // before the preflight that looks for the kernel, as ReaR's 390_check_cove runs before its 400_guess_kernel
    expect(mk).toMatch(/prep\/\d{3}_check_cove/);
    expect(mk.indexOf("_check_cove")).toBeLessThan(mk.indexOf("_rescue_preflight"));
    const rc = must([rear, "-s", "recover"]);
    expect(rc).toMatch(/verify\/390_prepare_cove_restore/);
    expect(rc).toMatch(/restore\/400_restore_with_cove/);
    expect(rc.indexOf("verify/390_prepare_cove_restore")).toBeLessThan(rc.indexOf("restore/400_restore_with_cove"));
  }, 60_000);
});

describe("mkrescue run by the Backup Manager (env -i, COVE_TIMESTAMP, --json)", () => {
  const bare = (extra: string[] = []) => ["env", "-i", "PATH=/usr/bin:/bin", "COVE_TIMESTAMP=2000", ...extra, rear, "mkrescue", "--json"];

  test("a corrupted Backup Manager: ReaR's message, exit 2, no image, the JSON names the error", () => {
    chmodSync(join(MXB, "bin/ClientTool"), 0o644);
    try {
      const r = run(bare());
      expect(r.code).toBe(2);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ workflow: "mkrescue", exitCode: 2, ok: false, outcome: "failed", files: [] });
      expect(j.error.message).toContain("The Backup Manager is either not installed or corrupted: bin/ClientTool is missing or not executable");
      expect(r.stderr).toContain("The Backup Manager is either not installed or corrupted");
      expect(existsSync(join(MXB, "rear/var/lib/rear/output/cove-rear.iso"))).toBe(false);
    } finally {
      chmodSync(join(MXB, "bin/ClientTool"), 0o755);
    }
  }, 60_000);

  test("this host has no kernel: the COVE prep passed, then the kernel stops it; one JSON object on stdout", () => {
    const r = run(bare());
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.error.message).toMatch(/kernel is missing/);
    expect(j.log).toBe(`${MXB}/rear/var/log/rear/rear-${j.host}.log`);
    expect(readFileSync(j.log, "utf8")).toContain(`The Backup Manager is installed in ${MXB}`);
  }, 60_000);

  test("with a kernel and COVE_INCLUDE_AGENT=yes: the ISO and its sha256 in the JSON; rescue.conf, cove_rescue_media and the Backup Manager (without its rear) inside", () => {
    const kernel = join(W, "vmlinuz-placeholder");
    writeFileSync(kernel, "not a kernel: the integration tier does not boot\n");
    const local = join(MXB, "rear/etc/rear/local.conf");
    const before = readFileSync(local, "utf8");
    writeFileSync(local, `${before}\nKERNEL_FILE=${kernel}\nMODULES=( no_modules )\nBOOTLOADER=GRUB2\nCOVE_INCLUDE_AGENT=yes\n`);
    try {
      const r = run(bare());
      if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr.slice(-3000)}`);
      const j = JSON.parse(r.stdout);
      expect(j.ok).toBe(true);
      const iso = `${MXB}/rear/var/lib/rear/output/cove-rear.iso`;
      expect(j.files.map((f: { path: string }) => f.path)).toEqual([iso]);
      expect(j.files[0].sha256).toBe(must(["sha256sum", iso]).split(" ")[0]);
      expect(j.files[0].bytes).toBe(statSync(iso).size);
      expect(statSync(iso).mode & 0o777).toBe(0o600);
      const x = join(W, "iso");
      mkdirSync(x);
      must(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/grub/grub.cfg", join(x, "grub.cfg"), "-extract", "/isolinux", join(x, "isolinux")]);
      expect(readFileSync(join(x, "grub.cfg"), "utf8")).toContain("cove_rescue_media");
      const initrd = readdirSync(join(x, "isolinux")).find((f) => f.startsWith("initrd"))!;
      const root = join(x, "root");
      mkdirSync(root);
      must(["sh", "-c", `cd ${root} && zstd -dc ${x}/isolinux/${initrd} | cpio -idm --quiet`]);
      const rescueConf = readFileSync(join(root, "etc/rear/rescue.conf"), "utf8");
      expect(rescueConf).toContain(`COVE_REAL_INSTALL_DIR='${MXB}'`);
      expect(rescueConf).toContain("COVE_TIMESTAMP='2000'");
      expect(rescueConf).toContain(`COVE_REAL_INSTALL_DIR_MODE='${(statSync(MXB).mode & 0o7777).toString(8).padStart(4, "0")}'`);
      for (const f of ["bin/BackupFP", "bin/ClientTool", "bin/ProcessController", "lib/curl", "etc/config.ini"]) expect(existsSync(join(root, MXB, f))).toBe(true);
      expect(existsSync(join(root, MXB, "rear"))).toBe(false);
      // the bundle's state (its VAR_DIR) is the rescue system's /var/lib/rear, where its /usr/sbin/rear looks
      expect(existsSync(join(root, "var/lib/rear/layout/disklayout.conf"))).toBe(true);
      expect(existsSync(join(root, "var/lib/rear/rear.lock"))).toBe(false);
      expect(readFileSync(join(root, "etc/rear/site.conf"), "utf8")).toContain("BACKUP=COVE");
      for (const p of ["base64", "chgrp", "dirname", "ln", "sleep", "kill", "tar", "gzip"]) expect(existsSync(join(root, "bin", p))).toBe(true);
      // the agent's lib/ (its own loader and libc) serves its programs only: the rescue system's bash and
      // the agent both run inside the image (bios-lvm-cove-agent's rescue kernel panicked: bash without libc)
      expect(existsSync(join(root, MXB, "lib/libc.so.6"))).toBe(true);
      expect(run(["chroot", root, "/bin/bash", "-c", "echo bash runs"]).stdout).toBe("bash runs\n");
      expect(run(["chroot", root, `${MXB}/lib/ld-linux-x86-64.so.2`, "--library-path", `${MXB}/lib`, `${MXB}/lib/curl`, "--version"]).code).toBe(0);
    } finally {
      writeFileSync(local, before);
    }
  }, 300_000);
});

describe("restoreonly -p with BACKUP=COVE into a loop file system", () => {
  const conf = (extra: string[]) => {
    const local = join(W, "live/etc/rear/local.conf");
    writeFileSync(local, [`TARGET_FS_ROOT=${target.mnt}`, "COVE_POLL_INTERVAL=1", "COVE_WAIT_IDLE=60", "COVE_REAL_INSTALL_DIR_MODE=0710", ...extra, ""].join("\n"));
  };

  test("unattended without a token: an error before anything is done", async () => {
    target = loopFs(W, "target", 1024);
    loops.push(target);
    conf([]);
    const asked = server.requests.length;
    const r = await runAsync([live, "-p", "-n", "restoreonly"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Enter the Backup Manager's installation token");
    expect(r.stderr).toContain("USER_INPUT_COVE_TOKEN");
    expect(readdirSync(target.mnt)).toEqual(["lost+found"]);
    expect(server.requests.length).toBe(asked);
  }, 60_000);

  test("a token the server refuses: the installer fails, the default answer aborts; unmounted, cleaned up, the token in no file", async () => {
    const wrong = "cove-token-0000000000000000";
    const r = await runAsync([live, "-p", "-n", "restoreonly"], { USER_INPUT_COVE_TOKEN: wrong });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the Backup Manager could not be installed");
    expect(server.requests).toContain("POST /register refused");
    expect(run(["findmnt", MXB]).code).not.toBe(0);
    expect(readdirSync(target.mnt).filter((f) => f.startsWith("cove."))).toEqual([]);
    const log = readFileSync(join(W, "live/var/lib/rear/restore/cove-install.log"), "utf8");
    expect(log).toContain("The installation token was not accepted");
    expect(filesWith(MXB, wrong)).toEqual([]);
    expect(filesWith(target.mnt, wrong)).toEqual([]);
  }, 120_000);

  test("the installer downloaded over https (private CA) and installed onto the target; COVE_TIMESTAMP's session restored; the Backup Manager stopped", async () => {
    const before = server.requests.length;
    const r = await runAsync([live, "-p", "-n", "-v", "restoreonly"], { USER_INPUT_COVE_TOKEN: TOKEN, COVE_TIMESTAMP: "1000" });
    if (r.code !== 0) throw new Error(`restoreonly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const asked = server.requests.slice(before);
    expect(asked).toContain("GET /installer/mxb-linux-x86_64.run");
    expect(asked).toContain("POST /register ok");
    expect(asked).toContain("GET /storage/device-0042/1000.tar.gz");
    const restored = join(target.mnt, W, "src");
    expect(readFileSync(join(restored, "etc/app.conf"), "utf8")).toBe("version=1\n");
    expect(statSync(join(restored, "secret.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(restored, "hardlink")).ino).toBe(statSync(join(restored, "etc/app.conf")).ino);
    // the freshly installed Backup Manager and its rear are the recovered system's (its own were excluded)
    for (const f of ["bin/ClientTool", "etc/config.ini", "rear/usr/sbin/rear", "rear/etc/rear/site.conf"]) expect(existsSync(join(target.mnt, MXB, f))).toBe(true);
    // the install directory (left out of the restore) with the source's mode, as rescue.conf gives it
    expect(statSync(join(target.mnt, MXB)).mode & 0o7777).toBe(0o710);
    expect(pcRunning()).toBe(false);
    expect(run(["findmnt", MXB]).code).not.toBe(0);
    expect(readdirSync(target.mnt).filter((f) => f.startsWith("cove."))).toEqual([]);
    expect(r.stdout).toMatch(/Cove restore: Restore, \d+ s, \d+ MiB written/);
    expect(r.stdout).toMatch(/The Cove restore finished in \d+ s/);
  }, 180_000);

  test("the token is in no file rear wrote, nor on the target, nor in the bundle", () => {
    expect(filesWith(target.mnt, TOKEN)).toEqual([]);
    expect(filesWith(join(W, "live/var"), TOKEN)).toEqual([]);
    expect(filesWith(MXB, TOKEN)).toEqual([]);
  }, 60_000);

  test("without COVE_TIMESTAMP the latest session (2000) comes back", async () => {
    rmSync(join(target.mnt, W.slice(1)), { recursive: true, force: true });
    const r = await runAsync([live, "-p", "-n", "restoreonly"], { USER_INPUT_COVE_TOKEN: TOKEN });
    if (r.code !== 0) throw new Error(`restoreonly exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(readFileSync(join(target.mnt, W, "src/etc/app.conf"), "utf8")).toBe("version=2\n");
  }, 180_000);
});
