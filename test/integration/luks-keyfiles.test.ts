// finalize's reassign_luks_keyfiles (ReaR's 240_reassign_luks_keyfiles.sh), for real: a LUKS2 volume made
// with a temporary random key (as layout/recreate makes it when crypttab names a key file) gets the
// restored key file as its key and loses the temporary one. cryptsetup works on the header of a plain
// file here: nothing is opened, so the host needs no device-mapper.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Config } from "../../src/config/config.ts";
import type { Context } from "../../src/engine/context.ts";
import { ExitTasks } from "../../src/engine/exit-tasks.ts";
import { Logger } from "../../src/engine/log.ts";
import { findWorkflow } from "../../src/engine/workflows.ts";
import { emptyOptions } from "../../src/cli/getopt.ts";
import { FINALIZE_MODULES } from "../../src/stages/recover/finalize.ts";
import { must, run } from "./sys.ts";

const isRoot = process.getuid?.() === 0;
const hasCryptsetup = run(["sh", "-c", "command -v cryptsetup"]).code === 0;
let base = "";
const module = FINALIZE_MODULES.find((m) => m.name === "reassign_luks_keyfiles")!;

function context(root: string, volume: string, temporaryKey: string): Context {
  const log = new Logger({ stdout: { write: () => true }, stderr: { write: () => true } });
  log.open(join(base, "log"));
  return {
    cli: emptyOptions(), workflow: findWorkflow("recover")!, args: [], config: new Config({ vars: new Map() } as never), paths: { prefix: "", configDir: "/etc/rear", varDir: join(base, "var"), logDir: base },
    log, exitTasks: new ExitTasks(), recoveryMode: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, readLine: () => undefined,
    state: {
      finalize: { root, plan: { steps: [{ id: "luks-keyfiles", what: "", run: true, why: "" }], boot: { biosDisks: [] }, initramfs: { rebuild: false, why: "" }, target: { espFiles: [], selinux: false } }, bootloaderInstalled: false },
      recreate: { saved: {}, plan: { luksKeys: [{ name: "home_crypt", device: volume, keyfile: "/etc/keys/home.key", temporaryKey }] } },
    },
  } as unknown as Context;
}

const opens = (volume: string, key: string) => run(["cryptsetup", "open", "--test-passphrase", "--key-file", key, volume]).code === 0;

beforeAll(() => {
  if (!isRoot || !hasCryptsetup) return;
  base = mkdtempSync("/var/tmp/rear-it-luks.");
});
afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!isRoot || !hasCryptsetup)("the restored key file replaces the temporary key (root, cryptsetup)", () => {
  test("added, checked, the temporary key removed and shredded; a second run sees it done; a missing key file is a clear error", async () => {
    const volume = join(base, "luks.img");
    must(["truncate", "-s", "32M", volume]);
    const temp = join(base, "tmp.key");
    writeFileSync(temp, crypto.getRandomValues(new Uint8Array(64)), { mode: 0o600 });
    // small argon2 memory: quick on a test machine
    must(["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "argon2id", "--pbkdf-memory", "32768", "--iter-time", "100", volume, temp]);
    const root = join(base, "root");
    mkdirSync(join(root, "etc/keys"), { recursive: true });
    const restored = join(root, "etc/keys/home.key");
    writeFileSync(restored, crypto.getRandomValues(new Uint8Array(64)), { mode: 0o400 });
    expect(opens(volume, restored)).toBe(false);
    await module.run(context(root, volume, temp));
    expect(opens(volume, restored)).toBe(true);
    expect(existsSync(temp)).toBe(false);
    // a second run (finalizeonly) finds it done and needs no temporary key
    await module.run(context(root, volume, temp));
    const out = Bun.file(join(base, "log")).text();
    expect(await out).toContain("already opens with its restored key file /etc/keys/home.key");
    // the key file was not restored: the error says what and how to go on
    rmSync(restored, { force: true });
    let err: Error | undefined;
    try {
      await module.run(context(root, volume, temp));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toContain("The key file /etc/keys/home.key of the LUKS volume home_crypt (crypttab) was not restored");
  }, 60_000);
});
