// BACKUP=REQUESTRESTORE in restoreonly: rear waits for REQUESTRESTORE_FINISHED_FILE below the target
// (a restore pushed from outside), stops on REQUESTRESTORE_ABORT_FILE, and without marker files and
// without a terminal it says what to set instead of waiting for ever.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-requestrestore.");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function setup(name: string, extra: string[]): { conf: string; target: string } {
  const conf = join(base, `${name}-conf`);
  const target = join(base, `${name}-target`);
  mkdirSync(conf);
  mkdirSync(target);
  writeFileSync(join(conf, "local.conf"), ["BACKUP=REQUESTRESTORE", "BOOTLOADER=GRUB2", `TARGET_FS_ROOT=${target}`, ...extra, ""].join("\n"));
  return { conf, target };
}

const env = () => ({ ...(process.env as Record<string, string>), REAR_VAR: join(base, "var"), REAR_TEST_POLL_MS: "100" });

describe("BACKUP=REQUESTRESTORE", () => {
  test("waits until REQUESTRESTORE_FINISHED_FILE appears below the target, then goes on", async () => {
    const { conf, target } = setup("fin", ["REQUESTRESTORE_FINISHED_FILE=/restore.done", "REQUESTRESTORE_ABORT_FILE=/restore.abort", 'REQUESTRESTORE_TEXT="Push the files now"']);
    const p = Bun.spawn([DIST, "-c", conf, "-p", "-v", "restoreonly"], { env: env(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    await Bun.sleep(1500);
    expect(p.exitCode).toBeNull(); // still waiting
    writeFileSync(join(target, "etc-file"), "restored from outside\n");
    writeFileSync(join(target, "restore.done"), "");
    const code = await p.exited;
    const out = await new Response(p.stdout).text();
    if (code !== 0) throw new Error(`restoreonly exited ${code}:\n${out}\n${await new Response(p.stderr).text()}`);
    expect(out).toContain("Push the files now");
    expect(out).toMatch(/restore\.done appeared: the restore is finished/);
  }, 60_000);

  test("REQUESTRESTORE_ABORT_FILE stops the recovery with an error", async () => {
    const { conf, target } = setup("abort", ["REQUESTRESTORE_FINISHED_FILE=restore.done", "REQUESTRESTORE_ABORT_FILE=restore.abort"]);
    const p = Bun.spawn([DIST, "-c", conf, "-p", "restoreonly"], { env: env(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    await Bun.sleep(800);
    writeFileSync(join(target, "restore.abort"), "");
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stderr).text()).toContain(`The restore was aborted: ${join(target, "restore.abort")} (REQUESTRESTORE_ABORT_FILE) appeared`);
  }, 60_000);

  test("without marker files and without a terminal it says what to set", async () => {
    const { conf } = setup("tty", ["REQUESTRESTORE_COMMAND='rsync -a backup:/srv/host/ /mnt/local/'"]);
    const p = Bun.spawn([DIST, "-c", conf, "-p", "restoreonly"], { env: env(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stderr).text()).toContain("cannot be done without a terminal");
  }, 60_000);

  test("on a terminal: a shell with REQUESTRESTORE_COMMAND in its history, then the question whether the restore is done", async () => {
    const { conf, target } = setup("shell", ['REQUESTRESTORE_COMMAND="echo restored-by-hand > restored.txt"']);
    // script(1) gives rear a terminal; the keys typed: arrow up + enter (the command from the history), exit, answer 1
    const p = Bun.spawn(["script", "-qec", `${DIST} -c ${conf} -p restoreonly; echo rc=$?`, "/dev/null"], { env: env(), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const type = async (text: string, ms: number) => {
      await Bun.sleep(ms);
      p.stdin.write(text);
      await p.stdin.flush();
    };
    await type("\x1b[A\n", 2000);
    await type("exit\n", 1000);
    await type("1\n", 2000);
    await Bun.sleep(2000);
    p.stdin.end();
    await p.exited;
    const out = await new Response(p.stdout).text();
    expect(out).toContain("rc=0");
    expect(out).toContain("Did you restore the backup to");
    expect(await Bun.file(join(target, "restored.txt")).text()).toBe("restored-by-hand\n");
  }, 60_000);
});
