// recover's own commands (issue 15): PRE_RECOVERY_COMMANDS then PRE_RECOVERY_SCRIPT, POST_RECOVERY_SCRIPT
// then POST_RECOVERY_COMMANDS, each as ReaR evaluates it, with the configuration set and nothing of it on
// a command line; a failure stops recover. Run through the modules with a real bash (recover itself
// needs disks: the VM harness runs it whole).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Config } from "../../src/config/config.ts";
import { realConfigIo } from "../../src/config/io.ts";
import type { Context } from "../../src/engine/context.ts";
import { WorkflowError } from "../../src/engine/errors.ts";
import { ExitTasks } from "../../src/engine/exit-tasks.ts";
import { Logger } from "../../src/engine/log.ts";
import { findWorkflow } from "../../src/engine/workflows.ts";
import { emptyOptions } from "../../src/cli/getopt.ts";
import { postRecoveryScript, preRecoveryScript } from "../../src/stages/recover/setup-wrapup.ts";
import { loader, tempConfigDir } from "../helpers/config.ts";

let base: string;
beforeAll(() => {
  base = mkdtempSync("/tmp/rear-it-recover-scripts.");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function context(localConf: string, args: string[] = []): { ctx: Context; out: string } {
  const t = tempConfigDir();
  t.write("local.conf", localConf);
  const config = new Config(loader(realConfigIo, t.dir, { workflow: "recover" }).load());
  t.cleanup();
  const tmp = mkdtempSync(join(base, "wa."));
  mkdirSync(join(tmp, "tmp"));
  const log = new Logger({ stdout: { write: () => true }, stderr: { write: () => true } });
  log.open(join(tmp, "log"));
  const ctx = {
    cli: emptyOptions(), workflow: findWorkflow("recover")!, args, config, paths: { prefix: "", configDir: "/etc/rear", varDir: join(tmp, "var"), logDir: tmp },
    log, exitTasks: new ExitTasks(), recoveryMode: true, env: { PATH: "/usr/bin:/bin" }, readLine: () => undefined, state: {},
    workArea: { buildDir: tmp, rootfsDir: join(tmp, "rootfs"), tmpDir: join(tmp, "tmp") },
  } as Context;
  return { ctx, get out() { return readFileSync(join(tmp, "log"), "utf8"); } } as { ctx: Context; out: string };
}

describe("PRE/POST_RECOVERY_*", () => {
  test("commands then script before; script then commands after; as ReaR evaluates them, with the configuration", async () => {
    const f = join(base, "order");
    const { ctx } = context(
      `MY_NAME=world\nPRE_RECOVERY_COMMANDS=( "echo pre-cmd-1 >> ${f}" "echo pre-cmd-2 \\$MY_NAME >> ${f}" )\nPRE_RECOVERY_SCRIPT=( 'echo pre-script' '>>' '${f}' )\n` +
        `POST_RECOVERY_SCRIPT="echo post-script >> ${f}"\nPOST_RECOVERY_COMMANDS=( "echo post-cmd >> ${f}" )\n`,
    );
    await preRecoveryScript.run(ctx);
    await postRecoveryScript.run(ctx);
    expect(readFileSync(f, "utf8")).toBe("pre-cmd-1\npre-cmd-2 world\npre-script\npost-script\npost-cmd\n");
  });
  test("a failing command stops recover with its exit code; the rest does not run", async () => {
    const f = join(base, "fail");
    const { ctx } = context(`PRE_RECOVERY_COMMANDS=( "false" "echo never >> ${f}" )\nPRE_RECOVERY_SCRIPT="echo never >> ${f}"\n`);
    let err: unknown;
    try {
      await preRecoveryScript.run(ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkflowError);
    expect((err as Error).message).toContain("PRE_RECOVERY_COMMANDS failed with exit code 1");
    expect(() => readFileSync(f)).toThrow();
  });
  test("--dry-run only says what would run", async () => {
    const f = join(base, "dry");
    const c = context(`PRE_RECOVERY_SCRIPT="echo ran >> ${f}"\n`, ["--dry-run"]);
    await preRecoveryScript.run(c.ctx);
    expect(() => readFileSync(f)).toThrow();
    expect(c.out).toContain("Dry run: PRE_RECOVERY_SCRIPT would run first");
  });
});
