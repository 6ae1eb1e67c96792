// BACKUP=COVE: Cove Data Protection's Backup Manager makes the backups; rear makes the rescue image and,
// at recover, installs the Backup Manager onto the recreated disks and lets it restore the files (ReaR
// issue #3463, pull request #3464: prep/COVE/default/390_check_cove, 400_prep_cove,
// rescue/COVE/default/600_store_cove_vars, restore/COVE/default/400_restore_with_cove; reference §13).
// Better than that pull request: rear downloads the installer itself (https, verified; no curl in the
// rescue system), the token is checked before any disk is touched and never logged, the install
// directory is redirected with a bind mount (no overlay module needed), the ProcessController is found
// and stopped (the PR called an undefined get_pc_pid), and COVE_INCLUDE_AGENT=yes carries the installed
// Backup Manager in the rescue image for an offline recovery (the ReaR maintainer's question).

import { accessSync, chmodSync, constants, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { coveKernelOptions, installDirMode, installerFileName, maskToken, missingPrograms, NOT_INSTALLED, parseStatus, processControllerPids, restoreStartArgv, tokenProblem, watchRestore } from "../../backup/cove.ts";
import { userInputFor } from "../../engine/ask.ts";
import type { Context } from "../../engine/context.ts";
import { ConfigError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { addExecSecret, exec } from "../../sys/exec.ts";
import { usedBytes } from "../../sys/fs-usage.ts";
import { networkState } from "../../sys/network-state.ts";
import { downloadFirst } from "../../update/download.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";

const cove = (ctx: Context) => ctx.config.str("BACKUP") === "COVE";
const restoring = (ctx: Context) => cove(ctx) && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly");

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** COVE_INSTALL_DIR, required: the Backup Manager's installer writes it into site.conf. */
function installDir(ctx: Context): string {
  const dir = ctx.config.str("COVE_INSTALL_DIR").replace(/\/+$/, "");
  if (!dir) {
    throw new ConfigError(
      "BACKUP=COVE needs COVE_INSTALL_DIR, the Backup Manager's install directory",
      undefined, undefined,
      `set COVE_INSTALL_DIR in ${ctx.paths.configDir}/site.conf or local.conf (the Backup Manager's installer writes it, for example /opt/MXB)`,
    );
  }
  return dir;
}

export const checkCove: Module = {
  stage: "prep",
  // before the rescue preflight (prep/100, which looks for the kernel): ReaR's 390_check_cove runs before
  // its 400_guess_kernel too, and a missing Backup Manager is what a Cove user must hear first
  order: 90,
  name: "check_cove",
  what: "prep/COVE/default/390_check_cove.sh, 400_prep_cove.sh (ReaR PR #3464)",
  when: (ctx) => cove(ctx) && BUILDS_RESCUE.has(ctx.workflow.name),
  run(ctx) {
    const c = ctx.config;
    const dir = installDir(ctx);
    const missing = missingPrograms(dir, executable);
    if (missing.length) {
      throw new WorkflowError(
        `${NOT_INSTALLED}: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing or not executable in ${dir} (COVE_INSTALL_DIR); no rescue image was made`,
        "install or repair the Backup Manager (its installer sets COVE_INSTALL_DIR), then run mkrescue again",
      );
    }
    const real = realpathSync(dir);
    ctx.state.coveRealInstallDir = real;
    ctx.log.log(`The Backup Manager is installed in ${dir}${real !== dir ? ` (${real})` : ""}`);
    const ca = c.str("COVE_INSTALLER_CA");
    if (ca && !existsSync(ca)) throw new WorkflowError(`COVE_INSTALLER_CA=${ca}: no such file`, "the rescue system verifies the installer's server with it: give an existing PEM file, or unset it");
    if (c.isTrue("COVE_INCLUDE_AGENT")) ctx.log.logPrint(`COVE_INCLUDE_AGENT: the installed Backup Manager (${real}) goes into the rescue image; recover installs it from there, without a download`);
    else if (!c.str("COVE_INSTALLER_URL")) ctx.log.warn("COVE_INSTALLER_URL is empty: recover will ask for the installer's URL (or give it as the kernel option cove_installer=…)");
    if (c.str("COVE_TRY_OVERLAYFS")) ctx.log.log("COVE_TRY_OVERLAYFS has no effect: recover redirects the install directory with a bind mount, which needs no overlay module");
  },
};

/** What the rescue system needs for BACKUP=COVE: rescue.conf lines, the installer's CA, and with COVE_INCLUDE_AGENT the Backup Manager itself. */
export function coveRescueContent(ctx: Context, add: (path: string, o?: { recursive?: boolean; exclude?: (p: string) => boolean }) => void): string[] {
  const c = ctx.config;
  if (!cove(ctx)) return [];
  const real = (ctx.state.coveRealInstallDir as string | undefined) ?? realpathSync(installDir(ctx));
  const ca = c.str("COVE_INSTALLER_CA");
  if (ca) add(ca);
  if (c.isTrue("COVE_INCLUDE_AGENT")) {
    // not its bundled rear (the rescue system has its own), nor its local cache, logs and temporary files
    const skip = ["rear", "var/storage", "var/log", "var/cache", "temp", "tmp"].map((d) => `${real}/${d}`);
    add(real, { recursive: true, exclude: (p) => skip.some((s) => p === s || p.startsWith(`${s}/`)) });
    // its programs find their own libraries (an rpath, a wrapper with LD_LIBRARY_PATH, its own loader): the
    // rescue build resolves and checks them with the agent's library directories searched too
    // (for its own programs only: its lib/ may hold a libc the rescue system's bash must not take)
    ctx.state.rescueLibraryPath = { under: real, dirs: libraryDirs(real, skip) };
  }
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  // the install directory is left out of the restore and made by recover: with the mode it has here (an
  // installer run under makeself's umask 077 makes it 0700; a 0755 directory would differ from the backup's machine)
  const mode = (statSync(real).mode & 0o7777).toString(8).padStart(4, "0");
  return [`COVE_REAL_INSTALL_DIR=${q(real)}`, `COVE_REAL_INSTALL_DIR_MODE=${q(mode)}`, `COVE_TIMESTAMP=${q(c.str("COVE_TIMESTAMP"))}`];
}

/** Directories below `dir` (not in `skip`) that hold shared objects, two levels deep. */
function libraryDirs(dir: string, skip: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (skip.includes(d)) return;
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    if (names.some((n) => /\.so(\.|$)/.test(n))) out.push(d);
    if (depth < 2) for (const n of names) if (lstatSyncSafe(join(d, n))?.isDirectory()) walk(join(d, n), depth + 1);
  };
  walk(dir, 0);
  return out;
}

function lstatSyncSafe(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

interface CoveRestore {
  /** COVE_INSTALL_DIR and where it really is (rescue.conf's COVE_REAL_INSTALL_DIR) */
  dir: string;
  real: string;
  /** COVE_INCLUDE_AGENT: the Backup Manager is in the rescue system */
  included: boolean;
  url?: string;
  token?: string;
  timestamp: string;
  /** the install directory's mode on the source (rescue.conf's COVE_REAL_INSTALL_DIR_MODE; 0755 without it) */
  mode: number;
  /** COVE_INSTALLER_CA's PEM text, read before the install directory (where the file may live) is covered by the bind mount */
  caPem?: string;
}

function readCmdline(): string {
  try {
    return readFileSync("/proc/cmdline", "utf8");
  } catch {
    return "";
  }
}

export const prepareCoveRestore: Module = {
  stage: "verify",
  order: 390,
  name: "prepare_cove_restore",
  what: "restore/COVE/default/400_restore_with_cove.sh (its kernel options and questions, asked before any disk is touched)",
  when: restoring,
  run(ctx) {
    const c = ctx.config;
    const dir = installDir(ctx);
    const real = (c.str("COVE_REAL_INSTALL_DIR") || dir).replace(/\/+$/, "");
    const mode = installDirMode(c.str("COVE_REAL_INSTALL_DIR_MODE"));
    // kernel options of the rescue system (not of a live system that runs -p)
    const boot = ctx.recoveryMode && !ctx.cli.portable ? coveKernelOptions(readCmdline()) : {};
    const timestamp = boot.timestamp ?? c.str("COVE_TIMESTAMP");
    const ui = userInputFor(ctx);
    if (c.isTrue("COVE_INCLUDE_AGENT")) {
      const missing = missingPrograms(real, executable);
      if (missing.length) {
        throw new WorkflowError(
          `COVE_INCLUDE_AGENT=yes but this system has no Backup Manager in ${real} (${missing.join(", ")} missing): nothing was touched`,
          "make the rescue image again with rear mkrescue (it copies the installed Backup Manager), or set COVE_INCLUDE_AGENT=no to download the installer",
        );
      }
      ctx.state.cove = { dir, real, included: true, timestamp, mode } satisfies CoveRestore;
      ctx.log.logPrint(`Cove: the Backup Manager of the rescue image will be copied to the target disks and restore ${timestamp ? `the session of ${timestamp}` : "the latest session"}`);
      return;
    }
    let url = boot.installer ?? c.str("COVE_INSTALLER_URL");
    if (!url) {
      url = ui.ask({ id: "COVE_INSTALLER_URL", prompt: "Enter the URL of the Backup Manager's installer (https://…)" }).text.trim();
    }
    if (!/^https:\/\/[^/\s]+/i.test(url)) {
      throw new WorkflowError(`The Backup Manager's installer URL '${url}' is not an https:// URL: nothing was touched`, "give it as the kernel option cove_installer=https://… or COVE_INSTALLER_URL (the installer runs as root: https only)");
    }
    let token = boot.token ?? c.str("COVE_TOKEN");
    const tokenFrom = boot.token ? "the kernel option cove_token" : token ? "COVE_TOKEN" : "";
    for (let i = 0; ; i++) {
      if (!token) token = ui.ask({ id: "COVE_TOKEN", prompt: "Enter the Backup Manager's installation token", secret: true }).text.trim();
      const p = tokenProblem(token);
      if (!p) break;
      if (tokenFrom || i >= 2) {
        throw new WorkflowError(`The installation token${tokenFrom ? ` from ${tokenFrom}` : ""} is not one: ${p}. Nothing was touched`, "copy the token again from the Cove management console (kernel option cove_token=…, or type it when asked)");
      }
      ctx.log.logUserOutput(`That is not an installation token: ${p}`);
      token = "";
    }
    addExecSecret(token);
    ctx.log.addSecret(token);
    const ca = c.str("COVE_INSTALLER_CA");
    let caPem: string | undefined;
    if (ca) {
      try {
        caPem = readFileSync(ca, "utf8");
      } catch (e) {
        throw new WorkflowError(`COVE_INSTALLER_CA=${ca}: ${(e as Error).message}: nothing was touched`, "make the rescue image again with rear mkrescue (it copies that file), or unset COVE_INSTALLER_CA");
      }
    }
    ctx.state.cove = { dir, real, included: false, url, token, timestamp, mode, ...(caPem ? { caPem } : {}) } satisfies CoveRestore;
    ctx.log.logPrint(`Cove: the Backup Manager will be downloaded from ${url}, installed onto the target disks and restore ${timestamp ? `the session of ${timestamp}` : "the latest session"}`);
  },
};

const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));


async function openShell(ctx: Context, why: string): Promise<void> {
  ctx.log.logUserOutput(`${why}\nA shell opens now; type exit to come back to this question.`);
  await exec(["bash", "-i"], { interactive: true, env: ctx.env });
}

async function downloadInstaller(ctx: Context, st: CoveRestore, file: string): Promise<void> {
  const ca = st.caPem;
  let url = st.url!;
  for (;;) {
    ctx.log.logPrint(`Downloading the Backup Manager's installer from ${url}`);
    const r = await downloadFirst([url], { plainHttpOk: false, waitSeconds: 60, maxBytes: 4 * 2 ** 30, ...(ca ? { ca } : {}), log: (l) => ctx.log.log(l) });
    if ("bytes" in r) {
      writeFileSync(file, r.bytes, { mode: 0o700 });
      ctx.log.logPrint(`Downloaded the installer (${Math.round(r.bytes.length / 1048576)} MiB)`);
      return;
    }
    const why = r.attempts.map((a) => a.outcome).join("; ");
    ctx.log.error(`Cannot download the Backup Manager's installer from ${url}: ${why}`);
    ctx.log.logPrint(`The network here: ${await networkState(ctx.env)}`);
    const a = userInputFor(ctx).ask({
      id: "COVE_DOWNLOAD_CHOICE",
      prompt: `The installer could not be downloaded (${why})`,
      choices: ["Try again", "Use another URL", "Open a shell (for example to fix the network)", "Abort the recovery"],
      default: 3,
    });
    if (a.choice === 1) {
      const u = userInputFor(ctx).ask({ id: "COVE_INSTALLER_URL", prompt: "Enter the URL of the Backup Manager's installer (https://…)" }).text.trim();
      if (/^https:\/\/[^/\s]+/i.test(u)) url = u;
      else ctx.log.logUserOutput(`'${u}' is not an https:// URL`);
    } else if (a.choice === 2) await openShell(ctx, "Fix what stops the download.");
    else if (a.choice === 3) throw new WorkflowError(`The recovery was aborted: the Backup Manager's installer could not be downloaded from ${url} (${why})`, "check the network of the rescue system and the URL (kernel option cove_installer=… or COVE_INSTALLER_URL), then run rear recover again");
  }
}

/** Runs the installer from its token-bearing name; its output goes to a file (a daemon it starts keeps no pipe of ours open). */
async function runInstaller(ctx: Context, st: CoveRestore, tmp: string): Promise<void> {
  const out = join(tmp, "install.log");
  const keep = join(ctx.paths.varDir, "restore", "cove-install.log");
  for (;;) {
    // The token is in the installer's name (the Backup Manager's interface): the name is found by the shell
    // in the 0700 directory, never written on rear's command line or in its log.
    const r = await exec(["sh", "-c", 'cd "$1" && exec ./cove#v1#*#.run --target "$2" </dev/null >"$3" 2>&1', "sh", tmp, join(tmp, "mxb"), out], { env: ctx.env, what: "installing the Backup Manager" });
    const text = existsSync(out) ? maskToken(readFileSync(out, "utf8"), st.token) : "";
    mkdirSync(dirname(keep), { recursive: true });
    writeFileSync(keep, text, { mode: 0o600 });
    if (r.code === 0 && missingPrograms(st.real, executable).length === 0) {
      ctx.log.logPrint(`Installed the Backup Manager into ${st.real} on the target disks (its messages: ${keep})`);
      return;
    }
    const why = r.code !== 0 ? `the installer exited ${r.code}: ${text.trim().split("\n").slice(-2).join(" / ") || "it printed nothing"}` : `the installer left no ${missingPrograms(st.real, executable).join(", ")} in ${st.real}`;
    ctx.log.error(`Installing the Backup Manager failed: ${why}`);
    const a = userInputFor(ctx).ask({
      id: "COVE_INSTALLATION_CHOICE",
      prompt: `The Backup Manager could not be installed (${why})`,
      choices: ["Try again", "Open a shell", "Abort the recovery"],
      default: 2,
    });
    if (a.choice === 1) await openShell(ctx, `The installer's messages are in ${keep}.`);
    else if (a.choice === 2) throw new WorkflowError(`The recovery was aborted: the Backup Manager could not be installed (${why})`, `its messages are in ${keep}; check the token and the network, then run rear recover again`);
  }
}

async function status(ctx: Context, st: CoveRestore): Promise<{ state: string; code: number; err: string }> {
  const r = await exec([`${st.real}/bin/ClientTool`, "control.status.get"], { env: ctx.env, quiet: true, what: "asking the Backup Manager its state" });
  return { state: parseStatus(r.stdout), code: r.code, err: r.stderr.trim() };
}

function procTable(): { pid: number; exe: string; argv: string[] }[] {
  const out: { pid: number; exe: string; argv: string[] }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "latin1").split("\0").filter(Boolean);
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${e}/exe`);
      } catch {}
      out.push({ pid: Number(e), exe, argv });
    } catch {}
  }
  return out;
}

/** Stops the ProcessController the installer started (ReaR's PR meant to, but called an undefined get_pc_pid). */
async function stopProcessController(ctx: Context, st: CoveRestore): Promise<void> {
  const dirs = [...new Set([st.real, st.dir])];
  let pids = processControllerPids(procTable(), dirs);
  if (!pids.length) return;
  ctx.log.log(`Stopping the Backup Manager's ProcessController (PID ${pids.join(", ")})`);
  for (const p of pids) try { process.kill(p, "SIGTERM"); } catch {}
  for (let i = 0; i < 20 && pids.length; i++) {
    await sleep(0.5);
    pids = processControllerPids(procTable(), dirs);
  }
  for (const p of pids) try { process.kill(p, "SIGKILL"); } catch {}
}

async function unmount(ctx: Context, where: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await exec(["umount", where], { quiet: true });
    if (r.code === 0) return;
    await sleep(1);
  }
  const r = await exec(["umount", "-l", where], { quiet: true });
  if (r.code !== 0) ctx.log.warn(`Could not unmount ${where}: ${r.stderr.trim()}`);
  else ctx.log.log(`${where} was busy: detached (umount -l)`);
}

export const restoreWithCove: Module = {
  stage: "restore",
  order: 400,
  name: "restore_with_cove",
  what: "restore/COVE/default/400_restore_with_cove.sh (ReaR PR #3464)",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    const st = ctx.state.cove as CoveRestore | undefined;
    if (!st) throw new Error("restore/400 needs what verify/390 (prepare_cove_restore) found");
    const target = (c.str("TARGET_FS_ROOT") || "/mnt/local").replace(/\/+$/, "");
    if (!existsSync(target)) throw new WorkflowError(`${target} (TARGET_FS_ROOT) does not exist`, "recreate and mount the layout first (rear layoutonly, or rear recover does both)");
    const onTarget = `${target}${st.real}`;
    mkdirSync(onTarget, { recursive: true, mode: st.mode });
    if (st.included) {
      // the rescue image's Backup Manager (with its configuration) becomes the recovered system's
      const r = await exec(["cp", "-a", `${st.real}/.`, `${onTarget}/`], { what: "copying the Backup Manager onto the target disks" });
      if (r.code !== 0) throw new WorkflowError(`Cannot copy the Backup Manager to ${onTarget}: ${r.stderr.trim()}`, "check the free space of the target file system");
      // its bundled rear stayed out of the image (the rescue system has one): the rescue system's rear and
      // configuration go back into <install dir>/rear, so the recovered machine can make its next image
      if (ctx.recoveryMode && !ctx.cli.portable && existsSync("/etc/rear-release")) restoreBundledRear(ctx, `${onTarget}/rear`);
    }
    mkdirSync(st.real, { recursive: true });
    // the Backup Manager installs into and runs from its own directory: that directory is the target's
    const m = await exec(["mount", "--bind", onTarget, st.real], { what: "redirecting the install directory to the target disks" });
    if (m.code !== 0) throw new WorkflowError(`Cannot bind-mount ${onTarget} on ${st.real}: ${m.stderr.trim()}`, "the Backup Manager must install onto the target disks; check that the rescue system can mount");
    const unbind = ctx.exitTasks.add(`unmount ${st.real}`, async () => {
      await stopProcessController(ctx, st);
      await unmount(ctx, st.real);
    });
    if (st.dir !== st.real && !existsSync(st.dir)) {
      mkdirSync(dirname(st.dir), { recursive: true });
      symlinkSync(st.real, st.dir);
    }
    const tmp = mkdtempSync(join(target, "cove."));
    chmodSync(tmp, 0o700);
    const rmTmp = ctx.exitTasks.add(`remove ${tmp}`, () => rmSync(tmp, { recursive: true, force: true }));
    try {
      if (!st.included) {
        const file = join(tmp, installerFileName(st.token!));
        await downloadInstaller(ctx, st, file);
        try {
          await runInstaller(ctx, st, tmp);
        } finally {
          rmSync(file, { force: true });
        }
      } else {
        const log = join(tmp, "ProcessController.log");
        const r = await exec(["sh", "-c", 'setsid "$1" </dev/null >>"$2" 2>&1 &', "sh", `${st.real}/bin/ProcessController`, log], { env: ctx.env, what: "starting the Backup Manager" });
        if (r.code !== 0) throw new WorkflowError(`Cannot start ${st.real}/bin/ProcessController: ${r.stderr.trim()}`, "check the Backup Manager in the rescue image (make it again with rear mkrescue)");
        ctx.log.logPrint(`Started the Backup Manager of the rescue image from ${st.real} (on the target disks)`);
      }
      await restore(ctx, st, target);
    } finally {
      ctx.exitTasks.remove(rmTmp);
      rmSync(tmp, { recursive: true, force: true });
      ctx.exitTasks.remove(unbind);
      await stopProcessController(ctx, st);
      await unmount(ctx, st.real);
    }
    // the install directory as the source had it (cp -a or the installer may have changed it)
    chmodSync(onTarget, st.mode);
    // COVE_INSTALL_DIR a link to the real directory (ReaR's PR: "symlink install dir on target")
    if (st.dir !== st.real && !existsSync(`${target}${st.dir}`)) {
      mkdirSync(dirname(`${target}${st.dir}`), { recursive: true });
      symlinkSync(st.real, `${target}${st.dir}`);
    }
  },
};

/** <install dir>/rear on the target from the rescue system's /usr/sbin/rear and /etc/rear (without rescue.conf). */
function restoreBundledRear(ctx: Context, dest: string): void {
  mkdirSync(`${dest}/usr/sbin`, { recursive: true });
  copyFileSync(process.execPath, `${dest}/usr/sbin/rear`);
  chmodSync(`${dest}/usr/sbin/rear`, 0o755);
  mkdirSync(`${dest}/etc/rear`, { recursive: true });
  for (const f of readdirSync(ctx.paths.configDir)) {
    if (f === "rescue.conf") continue;
    cpSync(join(ctx.paths.configDir, f), join(dest, "etc/rear", f), { recursive: true });
  }
  ctx.log.log(`Put rear and its configuration back into ${dest} (the bundled rear was left out of the rescue image)`);
}

async function restore(ctx: Context, st: CoveRestore, target: string): Promise<void> {
  const c = ctx.config;
  const poll = Math.max(1, Number(c.str("COVE_POLL_INTERVAL")) || 15);
  const idleWait = Number(c.str("COVE_WAIT_IDLE")) || 600;
  const timeout = Number(c.str("COVE_RESTORE_TIMEOUT")) || 86400;
  // the Backup Manager connects to its storage first: wait until it is Idle
  const t0 = Date.now();
  for (let last = "";;) {
    const s = await status(ctx, st);
    if (s.state === "Idle") break;
    if (s.state !== last) ctx.log.logPrint(`Waiting for the Backup Manager to become Idle (it says: ${s.state || s.err || `exit ${s.code}`})`);
    last = s.state;
    if ((Date.now() - t0) / 1000 > idleWait) throw new WorkflowError(`The Backup Manager did not become Idle within ${idleWait} s (COVE_WAIT_IDLE); its last state: ${s.state || s.err || `exit ${s.code}`}`, "check its network connection and the token; then run rear recover again (or raise COVE_WAIT_IDLE)");
    await sleep(poll);
  }
  const argv = restoreStartArgv(`${st.real}/bin/ClientTool`, target, st.real, st.timestamp);
  for (;;) {
    ctx.log.logPrint(`Starting the restore of ${st.timestamp ? `the session of ${st.timestamp}` : "the latest session"} into ${target} (the Backup Manager in ${st.real} is left out)`);
    const r = await exec(argv, { env: ctx.env, what: "starting the Cove restore" });
    if (r.code === 0) break;
    const why = `ClientTool control.restore.start exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" / ") || "it printed nothing"}`;
    ctx.log.error(why);
    const a = userInputFor(ctx).ask({ id: "COVE_RESTORE_CHOICE", prompt: `The restore could not be started (${why})`, choices: ["Try again", "Open a shell", "Abort the recovery"], default: 2 });
    if (a.choice === 1) await openShell(ctx, `ClientTool is ${st.real}/bin/ClientTool.`);
    else if (a.choice === 2) throw new WorkflowError(`The recovery was aborted: ${why}`, "check the session (COVE_TIMESTAMP, kernel option cove_timestamp=…) and the Backup Manager's state, then run rear recover again");
  }
  const started = Date.now();
  const base = usedBytes(target);
  let began = false;
  let last = "";
  let lastLine = 0;
  for (;;) {
    await sleep(poll);
    const s = await status(ctx, st);
    const secs = (Date.now() - started) / 1000;
    const w = watchRestore(s.state, began, secs, Math.max(120, poll * 4));
    if (w.kind === "failed") throw new WorkflowError(`The Cove restore failed: ${w.why}`, `${target} is partly restored; see the Backup Manager's logs in ${st.real}/var/log on the target, then run rear recover again`);
    if (w.kind === "done") break;
    if (w.kind === "running") began = true;
    const mib = Math.max(0, Math.round((usedBytes(target) - base) / 1048576));
    if (s.state !== last || Date.now() - lastLine > 60_000) {
      ctx.log.logPrint(`Cove restore: ${s.state}, ${Math.round(secs)} s, ${mib} MiB written to ${target}`);
      last = s.state;
      lastLine = Date.now();
    }
    if (secs > timeout) throw new WorkflowError(`The Cove restore did not finish within ${timeout} s (COVE_RESTORE_TIMEOUT)`, `${target} is partly restored; raise COVE_RESTORE_TIMEOUT for a restore this large, then run rear recover again`);
  }
  const written = Math.max(0, usedBytes(target) - base);
  ctx.log.logPrint(`The Cove restore finished in ${Math.round((Date.now() - started) / 1000)} s (${Math.round(written / 1048576)} MiB written to ${target})`);
  // the Backup Manager said Idle again; a restore that wrote nothing onto fresh file systems restored nothing
  if (written < 1048576) ctx.log.warn(`The Backup Manager wrote less than 1 MiB into ${target}: check what it restored (its logs are in ${st.real}/var/log on the target)`);
}
