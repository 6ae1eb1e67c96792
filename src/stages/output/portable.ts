// OUTPUT=PORTABLE (ReaR's output/PORTABLE/default/450_create_portable_archive.sh): no rescue image, one
// archive with what recovering this machine from any live system needs — the rear binary as
// usr/sbin/rear, etc/rear (the configuration, rescue.conf) and var/lib/rear (layout, recovery data; not
// output/). Unpacked anywhere, `./usr/sbin/rear -p recover` finds its tree beside it. ReaR builds its
// initramfs anyway and throws it away; here the rescue, build and pack stages do not run, so it takes
// seconds. The name is ReaR's: <OUTPUT_PREFIX>-portable.tar.gz (OUTPUT_PREFIX defaults to the hostname),
// written to VAR_DIR/output and copied to OUTPUT_URL. The same archive is a valid RECOVERY_UPDATE_URL
// archive for a rescue image shared by many machines.

import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { exec } from "../../sys/exec.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import { rescueState } from "../rescue/preflight.ts";
import { removeSecrets } from "../rescue/populate.ts";

export const isPortable = (ctx: Pick<Context, "config">) => ctx.config.str("OUTPUT") === "PORTABLE";

/** The archive's file name (ReaR: "$OUTPUT_PREFIX-portable.tar.gz"). */
export const portableName = (prefix: string) => `${prefix}-portable.tar.gz`;

/** Where an extracted PORTABLE archive keeps the original machine's hostname (used by `rear -p` for its log name). */
export const SAVED_HOSTNAME = "recovery/hostname";

export const writePortableArchive: Module = {
  stage: "output",
  order: 800,
  name: "create_portable_archive",
  what: "output/PORTABLE/default/450_create_portable_archive.sh",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && isPortable(ctx),
  async run(ctx) {
    const c = ctx.config;
    const st = rescueState(ctx);
    const t0 = performance.now();
    const host = c.str("HOSTNAME") || hostname();
    const self = process.execPath;
    if (/\/bun(-[a-z0-9-]+)?$/.test(self)) throw new WorkflowError(`OUTPUT=PORTABLE must run from the compiled rear binary, not from ${self}`, "build it with `bun run build` and run dist/rear");
    const stage = join(ctx.workArea!.tmpDir, "portable");
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(join(stage, "usr/sbin"), { recursive: true });
    mkdirSync(join(stage, "etc"), { recursive: true });
    copyFileSync(self, join(stage, "usr/sbin/rear"));
    chmodSync(join(stage, "usr/sbin/rear"), 0o755);
    // the configuration without the secrets the rescue image leaves out too, plus what mkrescue learned
    await exec(["cp", "-a", `${ctx.paths.configDir}/.`, join(stage, "etc/rear")], { check: true, what: "copying the configuration" }).catch((e) => {
      throw new WorkflowError(`Cannot copy ${ctx.paths.configDir} into the portable archive: ${(e as Error).message}`);
    });
    for (const junk of ["*.iso", "*~"]) await exec(["find", join(stage, "etc/rear"), "-name", junk, "-delete"]);
    removeSecrets(ctx, join(stage, "etc/rear"));
    const uefi = c.isTrue("USING_UEFI_BOOTLOADER") || (!c.isFalse("USING_UEFI_BOOTLOADER") && existsSync("/sys/firmware/efi"));
    writeFileSync(join(stage, "etc/rear/rescue.conf"), `# written by rear mkrescue (OUTPUT=PORTABLE) ${new Date().toISOString()}\n${uefi ? "USING_UEFI_BOOTLOADER=1\n" : ""}`);
    // the layout and recovery data, not the results of earlier runs
    mkdirSync(join(stage, "var/lib/rear"), { recursive: true });
    await exec(["tar", "-C", ctx.paths.varDir, "--exclude=./output", "--exclude=./rear.lock", "-cf", join(ctx.workArea!.tmpDir, "var.tar"), "."], { check: true, what: "reading VAR_DIR" });
    await exec(["tar", "-C", join(stage, "var/lib/rear"), "-xf", join(ctx.workArea!.tmpDir, "var.tar")], { check: true, what: "staging VAR_DIR" });
    rmSync(join(ctx.workArea!.tmpDir, "var.tar"));
    if (!existsSync(join(stage, "var/lib/rear/layout/disklayout.conf"))) throw new Error("OUTPUT=PORTABLE without a saved layout: layout/save did not run");
    mkdirSync(join(stage, "var/lib/rear/recovery"), { recursive: true });
    writeFileSync(join(stage, "var/lib/rear", SAVED_HOSTNAME), `${host}\n`);
    const outDir = `${ctx.paths.varDir}/output`;
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    const out = join(outDir, portableName(c.str("OUTPUT_PREFIX") || host));
    const tmp = `${out}.partial`;
    // 0600 from the first byte: it holds the layout and the configuration
    writeFileSync(tmp, "", { mode: 0o600 });
    const r = await exec(["tar", "-C", stage, "--owner=0", "--group=0", "--numeric-owner", "-czf", tmp, "usr", "etc", "var"], { what: "writing the portable archive" });
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      throw new WorkflowError(`Cannot write the portable archive ${out}: tar said ${r.stderr.trim().split("\n").pop()}`);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, out);
    rmSync(stage, { recursive: true, force: true });
    st.resultFiles.push(out);
    ctx.log.logPrint(`Wrote the portable archive ${out} (${Math.round(statSync(out).size / 1048576)} MiB) in ${Math.round((performance.now() - t0) / 100) / 10} s`);
    ctx.log.logUserOutput(`On a live system: mkdir rear && tar -C rear -xzf ${portableName(c.str("OUTPUT_PREFIX") || host)} && rear/usr/sbin/rear -p recover`);
  },
};
