// Logs never clobber each other and never follow a planted symlink (issue 14): a lockless `dump` that
// runs while a locked workflow writes rear-HOST.log leaves that log whole; a LOGFILE that is a symlink
// is replaced by the log, the file it pointed to is untouched; the main log itself is never opened
// through a symlink.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

const DIST = join(import.meta.dir, "../../dist/rear");
const host = hostname().split(".")[0];
let base: string;

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/tmp/rear-it-logs.");
  chmodSync(base, 0o755);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function confDir(name: string, files: Record<string, string>): string {
  const d = join(base, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, ".."), { recursive: true, mode: 0o755 });
    writeFileSync(join(d, f), text, { mode: 0o644 });
  }
  chmodSync(d, 0o755);
  return d;
}

const env = (v: string) => ({ PATH: "/usr/bin:/bin:/usr/sbin:/sbin", REAR_VAR: v, TMPDIR: base });

describe("logs", () => {
  test("a dump during a locked run leaves that run's log whole", async () => {
    const v = join(base, "var1");
    // a hook keeps the locked run busy while dump runs; savelayout's own layout work is not needed for this
    const c = confDir("c1", { "local.conf": "BOOTLOADER=GRUB2\n", "stages/init/500_wait.sh": "echo long-run-marker\nsleep 3\n" });
    const locked = Bun.spawn([DIST, "-c", c, "-v", "mkbackuponly"], { env: env(v), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1200);
    const d = Bun.spawnSync([DIST, "-c", c, "dump"], { env: env(v), stdin: "ignore" });
    expect(d.exitCode).toBe(0);
    await locked.exited;
    const logs = readdirSync(join(v, "log/rear"));
    const mine = logs.find((f) => /^rear-.+\.\d+\.log$/.test(f)) ?? `rear-${host}.log`;
    const text = readFileSync(join(v, "log/rear", mine), "utf8");
    expect(text).toContain("long-run-marker");
    expect(text).toContain("Exiting rear mkbackuponly");
    // dump's log is its own, and nothing of dump's went over the main log
    expect(logs).toContain(`rear-${host}.log.lockless`);
    if (existsSync(join(v, "log/rear", `rear-${host}.log`))) expect(readFileSync(join(v, "log/rear", `rear-${host}.log`), "utf8")).not.toContain("Running rear dump");
  }, 60_000);

  test("a lockless run does not copy its log over the main log a locked run writes", async () => {
    const v = join(base, "var2");
    const c = confDir("c2", { "local.conf": "BOOTLOADER=GRUB2\n", "stages/layout/save/010_wait.sh": "echo savelayout-marker\nsleep 3\n" });
    const locked = Bun.spawn([DIST, "-c", c, "savelayout"], { env: env(v), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1200);
    expect(Bun.spawnSync([DIST, "-c", c, "dump"], { env: env(v), stdin: "ignore" }).exitCode).toBe(0);
    expect(await locked.exited).toBe(0);
    const main = readFileSync(join(v, "log/rear", `rear-${host}.log`), "utf8");
    expect(main).toContain("Running rear savelayout");
    expect(main).toContain("savelayout-marker");
    expect(main).toContain("Exiting rear savelayout");
    expect(main).not.toContain("Running rear dump");
    // and what savelayout wrote is private: files 0600, directories 0700 (README)
    const modes: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        const m = lstatSync(p).mode & 0o777;
        if (e.isDirectory()) {
          if (m !== 0o700) modes.push(`${p} ${m.toString(8)}`);
          walk(p);
        } else if (e.isFile() && m !== 0o600) modes.push(`${p} ${m.toString(8)}`);
      }
    };
    for (const d of ["lib/rear/layout", "lib/rear/recovery"]) walk(join(v, d));
    expect(modes).toEqual([]);
  }, 60_000);

  test("LOGFILE as a symlink is replaced, the file it points to untouched; the main log is not opened through one", () => {
    const v = join(base, "var3");
    const victim = join(base, "victim");
    writeFileSync(victim, "precious\n");
    const link = join(base, "logfile-link");
    symlinkSync(victim, link);
    mkdirSync(join(v, "log/rear"), { recursive: true });
    const mainVictim = join(base, "main-victim");
    writeFileSync(mainVictim, "also precious\n");
    symlinkSync(mainVictim, join(v, "log/rear", `rear-${host}.log.lockless`));
    const c = confDir("c3", { "local.conf": `LOGFILE=${link}\n` });
    const r = Bun.spawnSync([DIST, "-c", c, "dump"], { env: env(v), stdin: "ignore" });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(readFileSync(mainVictim, "utf8")).toBe("also precious\n");
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(readFileSync(link, "utf8")).toContain("Running rear dump");
    expect(lstatSync(link).mode & 0o777).toBe(0o600);
  });
});
