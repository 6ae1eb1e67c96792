// BACKUP=RSYNC (ReaR's RSYNC method): the files of the layout's filesystems copied with rsync into
// BACKUP_URL's RSYNC_PREFIX/backup/, over ssh or to an rsync daemon; a later backup updates that copy
// (--delete). ReaR: prep/RSYNC/default/050_prep_rsync, 100_check_rsync, 150_check_rsync_protocol_version;
// backup/RSYNC/default/200_make_prefix_dir, 210_check_rsync_relative_option, 400_create_include_exclude_files,
// 500_make_rsync_backup, 700_copy_backup_log; output/RSYNC/default/200_make_prefix_dir, 900_copy_result_files.
// The URL forms and the ssh options (BatchMode=yes: rear never waits on a question) are explained in
// src/backup/rsync-plan.ts. Not built yet: BACKUP_RSYNC_RETENTION_DAYS (dated copies with --link-dest,
// a menu to choose one at restore) and ReaR's SELinux handling (BACKUP_SELINUX_DISABLE, .autorelabel).

import { lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { encodeBytes } from "../../sys/bytes.ts";
import { hostname } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { includeExcludeLists, layoutMountpoints } from "../../backup/netfs-plan.ts";
import {
  backupLogName, isRsyncVersion, joinRsh, parseRsyncStats, parseRsyncUrl, remoteShell, rsyncBackupArgv, rsyncCaps, rsyncDisplay, rsyncExitMeaning, rsyncOptions,
  rsyncOutcome, rsyncRemote, RsyncUrlError, sshArgv, takeRshOption, type RsyncCaps, type RsyncUrl,
} from "../../backup/rsync-plan.ts";
import type { Context } from "../../engine/context.ts";
import { NotImplementedError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { activeEntries } from "../../layout/model.ts";
import { urlScheme } from "../../rescue/needs.ts";
import { exec, which } from "../../sys/exec.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import type { SavedLayout } from "../layout/save-layout.ts";
import { versionText } from "../output/write-output.ts";
import { programSearchPath, rescueState } from "../rescue/preflight.ts";

/** What the checks found out, for the modules after them. */
export interface RsyncSession {
  url: RsyncUrl;
  urlText: string;
  rsync: string;
  /** ssh URLs: the remote shell as argv (remoteShell) and as rsync's --rsh */
  ssh?: string[];
  rsh?: string;
  local: RsyncCaps;
  /** the backup host's rsync (ssh URLs; a daemon cannot be asked) */
  remote?: RsyncCaps;
  /** RSYNC_PREFIX, default the host name */
  prefix: string;
  /** BACKUP_RSYNC_OPTIONS without a remote shell in it */
  options: string[];
}

const tail = (s: string, n = 3) => s.trim().split("\n").filter(Boolean).slice(-n).join(" / ");

/** lstat without throwing (a dangling symlink exists: rsync copies the link). */
function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

const mkWorkflow = (ctx: Context) => ctx.workflow.name === "mkbackup" || ctx.workflow.name === "mkbackuponly";

/**
 * Reads the settings and checks both ends before anything is written (ReaR's 050_prep_rsync,
 * 100_check_rsync, 150_check_rsync_protocol_version): BACKUP_URL, this rsync, and the backup host —
 * over ssh, a login and its rsync (`ssh user@host rsync --version`); a daemon, its module list.
 */
export async function openRsyncSession(ctx: Context): Promise<RsyncSession> {
  const c = ctx.config;
  const urlText = c.str("BACKUP_URL");
  const forms = "BACKUP_URL=rsync://[USER@]HOST[:PORT]/PATH (ssh) or rsync://[USER@]HOST[:PORT]::/MODULE/PATH (rsync daemon)";
  if (!urlText) throw new WorkflowError("BACKUP=RSYNC needs BACKUP_URL", `set ${forms} in ${ctx.paths.configDir}/local.conf`);
  if (c.str("RSYNC_OPTIONS")) throw new WorkflowError("RSYNC_OPTIONS is no longer supported (ReaR's 020_translate_url)", "use BACKUP_RSYNC_OPTIONS instead");
  let url: RsyncUrl;
  try {
    url = parseRsyncUrl(urlText, "BACKUP_URL");
  } catch (e) {
    if (e instanceof RsyncUrlError) throw new WorkflowError(e.message);
    throw e;
  }
  if (c.str("BACKUP_RSYNC_RETENTION_DAYS")) throw new NotImplementedError("BACKUP_RSYNC_RETENTION_DAYS (dated rsync backups with --link-dest; leave it empty for one copy that each backup updates)");
  const path = programSearchPath(ctx.env.PATH);
  // ReaR's 050_prep_rsync: BACKUP_PROG is rsync unless it names another executable rsync
  const prog = c.str("BACKUP_PROG");
  const rsync = (prog && prog !== "tar" ? which(prog, path) : undefined) ?? which("rsync", path);
  if (!rsync) throw new WorkflowError("Cannot find rsync (BACKUP=RSYNC)", "install rsync");
  const version = await exec([rsync, "--version"], { quiet: true });
  // a BACKUP_PROG that is not rsync (/bin/true answers everything with exit 0 and nothing done)
  if (!isRsyncVersion(version.stdout)) {
    throw new WorkflowError(`${rsync} is not rsync: its --version says '${tail(version.stdout + version.stderr, 1) || "nothing"}' (exit ${version.code})`, "set BACKUP_PROG to rsync's path, or leave it empty");
  }
  const local = rsyncCaps(version.stdout);
  const split = takeRshOption(c.arr("BACKUP_RSYNC_OPTIONS").filter(Boolean));
  const prefix = c.str("RSYNC_PREFIX") || c.str("HOSTNAME") || hostname();
  const s: RsyncSession = { url, urlText, rsync, local, prefix, options: split.options };
  const pv = c.str("RSYNC_PROTOCOL_VERSION");
  if (pv && !/^\d+$/.test(pv)) throw new WorkflowError(`RSYNC_PROTOCOL_VERSION='${pv}' is not a number`, "leave it empty (detected) or write the remote rsync's protocol version, e.g. 31 (29: rsync before 3.0)");
  const protocolSetting = pv ? Number(pv) : 0;
  if (url.proto === "ssh") {
    const userRsh = split.rsh ?? ctx.env.RSYNC_RSH;
    const ssh = remoteShell(url, userRsh);
    if (!which(ssh[0]!, path)) throw new WorkflowError(`Cannot find ${ssh[0]} (BACKUP_URL=${urlText} is rsync over ssh)`, "install the ssh client (openssh-client)");
    s.ssh = ssh;
    s.rsh = joinRsh(ssh);
    const who = `${url.user}@${url.host}`;
    ctx.log.log(`Test: ${sshArgv(ssh, url, "rsync --version").join(" ")}`);
    const r = await exec(sshArgv(ssh, url, "rsync --version"), { env: ctx.env, what: `checking ${who}` });
    if (r.code === 255) {
      throw new WorkflowError(
        `Cannot log in to ${who}${url.port ? ` port ${url.port}` : ""} with ssh: ${tail(r.stderr) || "ssh failed"}`,
        `check that ${url.host} is up and runs sshd, that ${url.user}'s authorized_keys there has this root's key and its host key is in known_hosts (ssh ${who} once by hand): rear runs ssh with BatchMode=yes, it never asks for a password` +
          (url.port ? `; an rsync daemon at port ${url.port}? Its URLs have '::' (ReaR): rsync://${url.host}:${url.port}::/MODULE/PATH` : ""),
      );
    }
    if (r.code === 127 || (r.code !== 0 && /command not found/.test(r.stderr))) throw new WorkflowError(`rsync is not installed on ${url.host} (ssh ${who} rsync --version: ${tail(r.stderr)})`, `install rsync on ${url.host}`);
    if (r.code !== 0) throw new WorkflowError(`ssh ${who} rsync --version failed (exit ${r.code}): ${tail(r.stderr + r.stdout)}`, "run it by hand to see why");
    s.remote = rsyncCaps(r.stdout);
    if (protocolSetting) s.remote.protocol = protocolSetting;
    ctx.log.log(`Remote rsync system (${url.host}) uses rsync protocol version ${s.remote.protocol}${protocolSetting ? " (overruled by RSYNC_PROTOCOL_VERSION)" : ""}${s.remote.acls ? ", ACLs" : ""}${s.remote.xattrs ? ", xattrs" : ""}`);
  } else {
    // the daemon's module list: ReaR's "Rsync daemon not running" test
    const base = `rsync://${url.user}@${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port ?? 873}/`;
    ctx.log.log(`Test: ${rsync} ${base}`);
    const r = await exec([rsync, base], { env: ctx.env, what: `checking the rsync daemon at ${url.host}` });
    if (r.code !== 0) {
      throw new WorkflowError(
        `Cannot reach the rsync daemon at ${url.host} port ${url.port ?? 873} (rsync exit ${r.code}: ${rsyncExitMeaning(r.code)}): ${tail(r.stderr) || "no answer"}`,
        "check that rsync --daemon runs there and the port: rsync://HOST:PORT::/MODULE/PATH (873 when none is given); rsync over ssh is rsync://HOST/PATH",
      );
    }
    if (protocolSetting) {
      // ReaR's RSYNC_PROTOCOL_VERSION: what the user knows of the daemon's rsync (29: before 3.0, no ACLs or xattrs)
      s.remote = { protocol: protocolSetting, acls: protocolSetting >= 30, xattrs: protocolSetting >= 30 };
      ctx.log.log(`Remote rsync system (${url.host}) uses rsync protocol version ${protocolSetting} (overruled by RSYNC_PROTOCOL_VERSION)`);
    } else {
      ctx.log.log("Warning: no way to check remote rsync protocol without ssh access (an rsync daemon): ACLs and xattrs are asked for, an old daemon refuses them (set RSYNC_PROTOCOL_VERSION=29 for one)");
    }
  }
  return s;
}

/** The session of prep/100 (mkbackup, mkbackuponly) or verify/550 (restore). */
export function rsyncSession(ctx: Context): RsyncSession {
  const s = ctx.state.rsync as RsyncSession | undefined;
  if (!s) throw new Error("BACKUP=RSYNC without its checks: prep/100 or verify/550 did not run");
  return s;
}

/** rsync's options for one direction, with what was left out and why in the log. */
export function sessionOptions(ctx: Context, s: RsyncSession, direction: "backup" | "restore"): string[] {
  let r;
  try {
    r = rsyncOptions({ options: s.options, direction, local: s.local, ...(s.remote ? { remote: s.remote } : {}), url: s.url });
  } catch (e) {
    throw new WorkflowError((e as Error).message);
  }
  for (const n of r.notes) ctx.log.log(n);
  return r.options;
}

/**
 * Creates PATH/RSYNC_PREFIX/<subdirs> on the backup host by sending empty directories (ReaR's
 * 200_make_prefix_dir: rsync makes the last level of PATH too).
 */
export async function makeRemoteDirs(ctx: Context, s: RsyncSession, subdirs: readonly string[]): Promise<void> {
  const local = join(ctx.workArea!.tmpDir, "rsync");
  mkdirSync(join(local, s.prefix), { recursive: true, mode: 0o750 });
  for (const d of subdirs) mkdirSync(join(local, s.prefix, d), { recursive: true, mode: 0o755 });
  const argv = [s.rsync, "-a", ...(s.rsh ? [`--rsh=${s.rsh}`] : []), join(local, s.prefix), `${rsyncRemote(s.url)}/`];
  const r = await exec(argv, { env: ctx.env, what: "creating RSYNC_PREFIX on the backup host" });
  if (r.code !== 0) {
    throw new WorkflowError(
      `Cannot create ${s.url.path ? `${s.url.path.replace(/\/$/, "")}/` : ""}${s.prefix} on ${s.url.host} (rsync exit ${r.code}: ${rsyncExitMeaning(r.code)}): ${tail(r.stderr)}`,
      s.url.proto === "rsync" ? "check the module name and that the module is writable (read only = no)" : "check that the directory above it exists there and is writable",
    );
  }
}

export const checkRsync: Module = {
  stage: "prep",
  order: 100,
  name: "check_rsync",
  what: "prep/RSYNC/default/050_prep_rsync, 100_check_rsync, 150_check_rsync_protocol_version, 210_rsync_retention_days",
  when: (ctx) => ctx.config.str("BACKUP") === "RSYNC" && mkWorkflow(ctx),
  async run(ctx) {
    ctx.state.rsync = await openRsyncSession(ctx);
  },
};

export const makeRsyncBackup: Module = {
  stage: "backup",
  order: 500,
  name: "make_rsync_backup",
  what: "backup/RSYNC/default/200_make_prefix_dir, 210_check_rsync_relative_option, 400_create_include_exclude_files, 500_make_rsync_backup, 700_copy_backup_log",
  when: (ctx) => ctx.config.str("BACKUP") === "RSYNC" && mkWorkflow(ctx),
  async run(ctx) {
    const c = ctx.config;
    const s = rsyncSession(ctx);
    const layout = ctx.state.layout as SavedLayout | undefined;
    if (!layout) throw new Error("backup needs the layout of layout/save");
    const mountpoints = layoutMountpoints(activeEntries(layout.doc) as { kw: string; mountpoint?: string }[]);
    const lists = includeExcludeLists({
      mountpoints, excludeMountpoints: c.arr("EXCLUDE_MOUNTPOINTS").filter(Boolean), include: c.arr("BACKUP_PROG_INCLUDE").filter(Boolean),
      exclude: c.arr("BACKUP_PROG_EXCLUDE").filter(Boolean), onlyInclude: c.isTrue("BACKUP_ONLY_INCLUDE"), onlyExclude: c.isTrue("BACKUP_ONLY_EXCLUDE"),
      manualInclude: c.isTrue("MANUAL_INCLUDE"), alwaysExclude: [ctx.workArea!.buildDir],
    });
    for (const n of lists.notes) ctx.log.log(n);
    if (!lists.include.length) throw new WorkflowError("Nothing to back up: the include list is empty", "check BACKUP_PROG_INCLUDE and EXCLUDE_MOUNTPOINTS");
    // an include that does not exist is copied as nothing (rsync: exit 23 after the rest was copied);
    // rsync's own exclude rules are not tar's, so only existence is checked here
    const configured = c.arr("BACKUP_PROG_INCLUDE").filter(Boolean);
    const missing = lists.include.filter((p) => configured.includes(p) && !lexists(p));
    if (missing.length) throw new WorkflowError(`BACKUP_PROG_INCLUDE has ${missing.join(", ")}, which does not exist`, "fix BACKUP_PROG_INCLUDE; nothing was written");
    if (!lists.include.includes("/") && ctx.workflow.name === "mkbackup") ctx.log.warn("/ is not in the backup: a recovery from it will not boot");
    const tmp = ctx.workArea!.tmpDir;
    const excludeFile = join(tmp, "backup-exclude.txt");
    // byte for byte: a Latin-1 path must reach rsync as it is (sys/bytes.ts)
    writeFileSync(join(tmp, "backup-include.txt"), encodeBytes(`${lists.include.join("\n")}\n`));
    writeFileSync(excludeFile, encodeBytes(lists.exclude.length ? `${lists.exclude.join("\n")}\n` : ""));
    ctx.log.log(`Include list:\n  ${lists.include.join("\n  ")}\nExclude list:\n  ${lists.exclude.join("\n  ")}`);
    const options = sessionOptions(ctx, s, "backup");
    await makeRemoteDirs(ctx, s, ["backup"]);
    const dest = rsyncRemote(s.url, s.prefix, "backup");
    const argv = rsyncBackupArgv({ rsync: s.rsync, options, ...(s.rsh ? { rsh: s.rsh } : {}), excludeFile, include: lists.include, dest });
    ctx.log.logPrint(`Creating rsync backup on '${rsyncDisplay(s.url)}' in ${s.prefix}/backup`);
    const t0 = performance.now();
    const r = await exec(argv, { env: ctx.env, what: "making the rsync backup" });
    const secs = (performance.now() - t0) / 1000;
    const logText = r.stdout + r.stderr;
    const log = join(tmp, `${c.str("BACKUP_PROG_ARCHIVE") || "backup"}.log`);
    writeFileSync(log, logText, { mode: 0o600 });
    const outcome = rsyncOutcome(r.code);
    if (outcome === "failed") {
      throw new WorkflowError(
        `rsync failed (exit ${r.code}: ${r.code > 128 ? `killed by signal ${r.code - 128}` : rsyncExitMeaning(r.code)}) making the backup on ${rsyncDisplay(s.url)}: ${tail(r.stderr) || tail(r.stdout) || "it printed nothing"}`,
        r.code === 23 || r.code === 24
          ? `rsync copied what it could read (the copy in ${s.prefix}/backup holds the new versions of those files; nothing was deleted): fix the cause and run the backup again; rsync's messages are in ${ctx.log.path ?? "rear's log"}`
          : `the previous copy in ${s.prefix}/backup is unchanged (rsync puts new files into place only at the end: --delay-updates): run the backup again when the cause is fixed; rsync's messages are in ${ctx.log.path ?? "rear's log"}`,
      );
    }
    if (outcome === "vanished") ctx.log.warn("Some files vanished while rsync copied them (exit 24): the backup holds the others");
    const st = parseRsyncStats(logText);
    // exit 0 without rsync's --stats (always asked for): the program did not copy anything
    if (st.files === undefined) throw new WorkflowError(`${s.rsync} exited 0 but printed no transfer statistics: nothing shows that a backup was made on ${rsyncDisplay(s.url)}`, "check BACKUP_PROG (it must be rsync) and BACKUP_RSYNC_OPTIONS");
    ctx.log.logPrint(
      `Backed up ${st.files !== undefined ? `${st.files} files, ` : ""}${st.bytes !== undefined ? `${Math.round(st.bytes / 1048576)} MiB` : ""}${st.transferred !== undefined ? ` (${Math.round(st.transferred / 1048576)} MiB transferred)` : ""} in ${secs.toFixed(1)} s`,
    );
    // ReaR's 700_copy_backup_log: rsync's output beside the backup, gzipped, with the time in its name
    const name = backupLogName(c.str("BACKUP_PROG_ARCHIVE"), new Date());
    const gz = join(tmp, name);
    writeFileSync(gz, gzipSync(logText), { mode: 0o600 });
    const cp = await exec([s.rsync, "-a", ...(s.rsh ? [`--rsh=${s.rsh}`] : []), gz, rsyncRemote(s.url, s.prefix, name)], { env: ctx.env, what: "copying the backup log" });
    if (cp.code !== 0) ctx.log.warn(`Could not copy ${name} beside the backup: ${tail(cp.stderr)}`);
  },
};

/** OUTPUT_URL, or BACKUP_URL as its default (ReaR's 020_translate_url). */
function outputUrl(ctx: Context): string {
  const c = ctx.config;
  return c.str("OUTPUT_URL") || (c.str("OUTPUT_MOUNTCMD") ? "" : c.str("BACKUP_URL"));
}

export const copyResultFilesRsync: Module = {
  stage: "output",
  order: 900,
  name: "copy_result_files",
  what: "output/RSYNC/default/200_make_prefix_dir, 900_copy_result_files (OUTPUT_URL is an rsync one)",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && urlScheme(outputUrl(ctx)) === "rsync",
  async run(ctx) {
    const c = ctx.config;
    const text = outputUrl(ctx);
    let s: RsyncSession;
    if (text === c.str("BACKUP_URL") && ctx.state.rsync) {
      s = ctx.state.rsync as RsyncSession;
    } else {
      // an rsync OUTPUT_URL of its own (or mkrescue): the same checks for it
      const url = (() => {
        try {
          return parseRsyncUrl(text, "OUTPUT_URL");
        } catch (e) {
          if (e instanceof RsyncUrlError) throw new WorkflowError(e.message);
          throw e;
        }
      })();
      const rsync = which("rsync", programSearchPath(ctx.env.PATH));
      if (!rsync) throw new WorkflowError(`Cannot find rsync (OUTPUT_URL=${text})`, "install rsync");
      const split = takeRshOption(c.arr("BACKUP_RSYNC_OPTIONS").filter(Boolean));
      const ssh = url.proto === "ssh" ? remoteShell(url, split.rsh ?? ctx.env.RSYNC_RSH) : undefined;
      s = {
        url, urlText: text, rsync, local: { protocol: 31, acls: false, xattrs: false }, prefix: c.str("RSYNC_PREFIX") || c.str("HOSTNAME") || hostname(), options: split.options,
        ...(ssh ? { ssh, rsh: joinRsh(ssh) } : {}),
      };
    }
    const st = rescueState(ctx);
    const host = c.str("HOSTNAME") || hostname();
    const version = join(ctx.workArea!.tmpDir, "VERSION");
    writeFileSync(version, versionText(host, c.str("BACKUP"), st.output), { mode: 0o600 });
    // BACKUP=RSYNC: beside the backup in PATH/RSYNC_PREFIX (output/RSYNC/default/900); otherwise into PATH
    // itself, as ReaR's 950_copy_result_files does for an rsync OUTPUT_URL
    const besideBackup = c.str("BACKUP") === "RSYNC";
    if (besideBackup) await makeRemoteDirs(ctx, s, []);
    const files = [...st.resultFiles, version];
    const argv = [s.rsync, "-a", ...(s.rsh ? [`--rsh=${s.rsh}`] : []), ...files, `${besideBackup ? rsyncRemote(s.url, s.prefix) : rsyncRemote(s.url)}/`];
    const r = await exec(argv, { env: ctx.env, what: "copying the result files" });
    if (r.code !== 0) throw new WorkflowError(`Could not copy ${files.map((f) => f.split("/").pop()).join(", ")} to ${text} (rsync exit ${r.code}: ${rsyncExitMeaning(r.code)}): ${tail(r.stderr)}`);
    ctx.log.logPrint(`Copied ${files.map((f) => f.split("/").pop()).join(", ")} to ${rsyncDisplay(s.url)}${besideBackup ? ` in ${s.prefix}` : ""}`);
  },
};
