// The compiled binary, alone: copied into an empty directory and run with `env -i` and a minimal PATH
// (no Bun, no Node, no share directory), as a user who copies it onto a server would.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

const DIST = join(import.meta.dir, "../../dist/rear");
const host = hostname().split(".")[0];
let base: string;
let bin: string;

function sh(argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const p = Bun.spawnSync(["env", "-i", ...Object.entries({ PATH: "/usr/bin:/bin", ...opts.env }).map(([k, v]) => `${k}=${v}`), ...argv], {
    cwd: opts.cwd ?? base,
    stdin: "ignore",
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function confDir(files: Record<string, string>): string {
  const d = mkdtempSync(join(base, "conf."));
  chmodSync(d, 0o755);
  for (const [name, text] of Object.entries(files)) {
    const p = join(d, name);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, text, { mode: 0o644 });
  }
  return d;
}

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/tmp/rear-test-bin.");
  chmodSync(base, 0o755);
  mkdirSync(join(base, "empty"));
  chmodSync(join(base, "empty"), 0o755);
  bin = join(base, "empty/rear");
  copyFileSync(DIST, bin);
  chmodSync(bin, 0o755);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("the binary alone, env -i, minimal PATH", () => {
  const env = () => ({ REAR_VAR: join(base, "var"), TMPDIR: base });
  test("--version", () => {
    expect(sh([bin, "--version"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Relax-and-Recover \S+ \/ \S+\n$/) });
  });
  test("help", () => {
    const r = sh([bin, "help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("List of commands:");
  });
  test("-s mkrescue", () => {
    const r = sh([bin, "-s", "mkrescue"], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Source init/950_check_missing_programs");
  });
  test("dump reads the configuration built into the binary", () => {
    const c = confDir({ "local.conf": "OUTPUT=USB\n" });
    const r = sh([bin, "-c", c, "dump"], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  # default.conf (built into rear) : OK");
    expect(r.stdout).toContain("  # GNU/Linux.conf (built into rear) : OK");
    expect(r.stdout).toContain("# Output to USB:");
    expect(r.stdout).toContain('USB_DEVICE_FILESYSTEM_LABEL="REAR-000"');
    expect(existsSync(join(base, `var/log/rear/rear-${host}.log.lockless`))).toBe(true);
  });
  test("a non-root user gets a clear error", () => {
    const r = sh(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "dump"], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR: Relax-and-Recover needs 'root' privileges");
    expect(sh(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "help"]).code).toBe(0);
  });
  test("a file that needs bash is evaluated by bash", () => {
    const c = confDir({ "local.conf": "type -P bash >/dev/null && PROGS+=( found_by_bash )\nX=$(echo computed)\n" });
    const r = sh([bin, "-c", c, "dump", "--json"], { env: env() });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.PROGS).toContain("found_by_bash");
    expect(j.X).toBe("computed");
  });
});

describe("a vendor bundle finds its own configuration (REAR_DIR_PREFIX)", () => {
  test("/opt/MXB/rear/{rear,etc/rear/site.conf}", () => {
    const prefix = join(base, "opt/MXB/rear");
    mkdirSync(join(prefix, "etc/rear"), { recursive: true });
    for (const d of ["opt", "opt/MXB", "opt/MXB/rear", "opt/MXB/rear/etc", "opt/MXB/rear/etc/rear"]) chmodSync(join(base, d), 0o755);
    writeFileSync(join(prefix, "etc/rear/site.conf"), 'BACKUP=COVE\nOUTPUT=ISO\nISO_PREFIX="cove-rear"\nCOVE_INSTALL_DIR="/opt/MXB"\n', { mode: 0o644 });
    copyFileSync(DIST, join(prefix, "rear"));
    chmodSync(join(prefix, "rear"), 0o755);
    const r = sh([join(prefix, "rear"), "dump", "--json"], { env: { TMPDIR: base } });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ CONFIG_DIR: `${prefix}/etc/rear`, VAR_DIR: `${prefix}/var/lib/rear`, LOG_DIR: `${prefix}/var/log/rear`, BACKUP: "COVE", ISO_PREFIX: "cove-rear" });
    expect(existsSync(join(prefix, `var/log/rear/rear-${host}.log.lockless`))).toBe(true);
  });
});

describe("hooks, lock, signals", () => {
  const env = () => ({ REAR_VAR: join(base, "var2"), TMPDIR: base });
  test("a hook script sees the configuration; -D traces it into the log", () => {
    const out = join(base, "hook.out");
    const c = confDir({
      "local.conf": "OUTPUT=RAMDISK\nexport EXPORTED_ONE=yes\nMY_ARRAY=( 'a b' c )\n",
      "stages/init/500_report.sh": `echo "$OUTPUT|$CONFIG_DIR|\${MY_ARRAY[1]}|$(printenv EXPORTED_ONE)|$PWD" > ${out}\n`,
    });
    const r = sh([bin, "-D", "-c", c, "dump"], { env: env() });
    expect(r.code).toBe(0);
    const [output, cdir, second, exported, cwd] = readFileSync(out, "utf8").trim().split("|");
    expect({ output, cdir, second, exported }).toEqual({ output: "RAMDISK", cdir: c, second: "c", exported: "yes" });
    expect(cwd).toMatch(/\/rear\.[A-Za-z0-9]{15}\/tmp$/);
    const log = readFileSync(join(base, `var2/log/rear/rear-${host}.log.lockless`), "utf8");
    expect(log).toContain(`Including ${c}/stages/init/500_report.sh`);
    expect(log).toContain("+ echo"); // set -x of the hook
  });
  test("a failing hook stops the workflow with exit code 2 and says why", () => {
    const c = confDir({ "stages/init/500_fail.sh": "echo 'something broke' >&2\nexit 3\n" });
    const r = sh([bin, "-c", c, "dump"], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hook script");
    expect(r.stderr).toContain("failed with exit code 3: something broke");
    expect(r.stderr).toContain("Aborting due to an error, check");
  });
  test("a second exclusive run is refused while the first holds the lock", async () => {
    const c = confDir({ "stages/init/500_wait.sh": "sleep 3\n" });
    const first = Bun.spawn(["env", "-i", "PATH=/usr/bin:/bin", `REAR_VAR=${join(base, "var3")}`, `TMPDIR=${base}`, bin, "-c", c, "shell"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1000);
    const second = sh([bin, "-c", c, "shell"], { env: { REAR_VAR: join(base, "var3"), TMPDIR: base } });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`rear is already running with PID ${first.pid}, not starting again`);
    // lockless workflows run beside it
    expect(sh([bin, "-c", c, "-s", "dump"], { env: { REAR_VAR: join(base, "var3"), TMPDIR: base } }).code).toBe(0);
    // and so do mkbackuponly and restoreonly (ReaR's SIMULTANEOUS_RUNNABLE_WORKFLOWS), each with a log of its own
    const beside = sh([bin, "-c", c, "-s", "mkbackuponly"], { env: { REAR_VAR: join(base, "var3"), TMPDIR: base } });
    expect(beside.code).toBe(0);
    expect(beside.stdout).toMatch(/Using log file: .*\/rear-[^/]+\.\d+\.log/);
    expect(await first.exited).toBe(0);
  });
  // udevd runs its RUN programs under MemoryDenyWriteExecute=yes: no JIT, so no bun:ffi (its flock);
  // BUN_JSC_useJIT=0 is the same condition. rear there crashed with "bun:ffi requires the JIT".
  test("without the JIT (udev's MemoryDenyWriteExecute) the lock is the same kernel lock, both ways", async () => {
    const c = confDir({ "stages/init/500_wait.sh": "sleep 3\n" });
    const e = { REAR_VAR: join(base, "var4"), TMPDIR: base };
    for (const [firstJit, secondJit] of [["0", "1"], ["1", "0"]] as const) {
      const first = Bun.spawn(["env", "-i", "PATH=/usr/bin:/bin", `BUN_JSC_useJIT=${firstJit}`, `REAR_VAR=${e.REAR_VAR}`, `TMPDIR=${base}`, bin, "-c", c, "shell"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      await Bun.sleep(1500);
      const second = sh([bin, "-c", c, "shell"], { env: { ...e, BUN_JSC_useJIT: secondJit } });
      expect(second.stderr).toContain(`rear is already running with PID ${first.pid}, not starting again`);
      expect(second.code).toBe(1);
      expect(await first.exited).toBe(0);
      expect(await new Response(first.stderr).text()).not.toContain("JIT");
    }
    // and free again once the JIT-less holder is gone
    const alone = sh([bin, "-c", c, "shell"], { env: { ...e, BUN_JSC_useJIT: "0" } });
    expect(alone.stderr).not.toContain("already running");
    expect(alone.code).toBe(0);
   }, 30_000);
  test("a syntax error in a configuration file is reported by bash with its file and line", () => {
    const c = confDir({ "local.conf": "OUTPUT=ISO\nif true; then\n  X=1\n" });
    const r = sh([bin, "-c", c, "dump"], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`ERROR: ${c}/local.conf:4: syntax error: unexpected end of file`);
  });
  test("SIGINT runs the exit tasks and exits 130", async () => {
    const c = confDir({ "stages/init/500_sleep.sh": "sleep 30\n" });
    const wa = mkdtempSync(join(base, "wa."));
    chmodSync(wa, 0o755);
    const p = Bun.spawn(["env", "-i", "PATH=/usr/bin:/bin", `REAR_VAR=${join(base, "var5")}`, `TMPDIR=${wa}`, bin, "-c", c, "dump"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1500);
    p.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(readdirSync(wa)).toEqual([]);
  });
  test("SIGTERM runs the exit tasks (work area removed, child ended) and exits 143", async () => {
    const pidfile = join(base, "child.pid");
    const c = confDir({ "stages/init/500_sleep.sh": `sleep 30 & echo $! > ${pidfile}; wait\n` });
    const wa = mkdtempSync(join(base, "wa."));
    chmodSync(wa, 0o755);
    const p = Bun.spawn(["env", "-i", "PATH=/usr/bin:/bin", `REAR_VAR=${join(base, "var4")}`, `TMPDIR=${wa}`, bin, "-c", c, "dump"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1500);
    expect(readdirSync(wa).length).toBe(1);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(143);
    expect(readdirSync(wa)).toEqual([]);
    expect(await new Response(p.stderr).text()).toContain("was terminated (SIGTERM)");
    // the hook's own child (sleep) was ended too, not left behind
    const sleepPid = Number(readFileSync(pidfile, "utf8"));
    expect(sleepPid).toBeGreaterThan(0);
    // gone, or a zombie waiting for init to reap it (under load that can take a moment)
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${sleepPid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 30 && alive(); i++) await Bun.sleep(100);
    expect(alive()).toBe(false);
  });
});
