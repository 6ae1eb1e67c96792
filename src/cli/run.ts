// The start-up sequence of usr/sbin/rear, step by step: options, version, workflow, root, placement,
// configuration, lock, log, work area, stages (or the function workflow), exit tasks. Everything the
// outside world provides comes in RunDeps so the whole sequence can be tested in-process.

import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { hostname, machine, release } from "node:os";
import { embeddedConfs } from "../assets.ts";
import { Config } from "../config/config.ts";
import { ConfigLoader, type ConfigIo } from "../config/load.ts";
import { resolvePaths } from "../config/paths.ts";
import { archVars, type ReleaseFiles } from "../config/system.ts";
import type { Value } from "../config/shell-eval.ts";
import type { Context } from "../engine/context.ts";
import { BugError, CommandError, ConfigError, ExitCode, NotImplementedError, UserError } from "../engine/errors.ts";
import { ExitTasks } from "../engine/exit-tasks.ts";
import { findHooks, runHook } from "../engine/hooks.ts";
import { acquireLock } from "../engine/lock.ts";
import { Logger, logTimestamp, type TerminalStreams } from "../engine/log.ts";
import { runStages, type RunnerDeps } from "../engine/runner.ts";
import { createWorkArea, removeWorkArea } from "../engine/work-area.ts";
import { findWorkflow, placementError, type StageName } from "../engine/workflows.ts";
import { MODULES } from "../stages/index.ts";
import { killRunning, setExecEnv, setExecLog, setExecSecrets } from "../sys/exec.ts";
import { fsPath } from "../sys/bytes.ts";
import { maskPasswords, secretValuesOf } from "../config/secret-values.ts";
import { LFTP_SCHEMES } from "../config/unsupported.ts";
import { PRODUCT, RELEASE_DATE, VERSION, versionLine } from "../version.ts";
import type { MachineFacts } from "../update/placeholders.ts";
import { SAVED_HOSTNAME } from "../stages/output/portable.ts";
import { kernelOption, machineFacts, runRecoveryUpdate, type UpdateSettings } from "../update/recovery-update.ts";
import { parseWorkflowArgs, type WorkflowCommand } from "./commands/command.ts";
import { capturelayoutCommand } from "./commands/capturelayout.ts";
import { showlayout } from "./commands/showlayout.ts";
import { dumpCommand } from "./commands/dump.ts";
import { shellCommand } from "./commands/shell.ts";
import { udevCommand } from "./commands/udev.ts";
import { networkState } from "../sys/network-state.ts";
import { parseArgs, USAGE_HINT, type CliOptions } from "./getopt.ts";
import { resultJson } from "./result-json.ts";
import { renderHelp, renderWorkflowHelp } from "./help.ts";
import { parseWorkflowWords } from "./workflow-args.ts";

export interface RunDeps {
  argv: string[];
  env: Record<string, string | undefined>;
  execPath: string;
  uid: number;
  streams: TerminalStreams;
  /** ReaR: the rescue system has /etc/rear-release */
  isRescueSystem(): boolean;
  readLine(prompt: string): string | undefined;
  configIo: ConfigIo;
  releaseFiles(): ReleaseFiles;
  /** install SIGINT/SIGTERM handlers that run the exit tasks (the real program only) */
  onSignal?(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void;
  /** the `uname -m` of this machine */
  machine?: string;
  /** /proc/cmdline (the rescue system's kernel options) */
  kernelCmdline?(): string;
  /** the machine's identity for RECOVERY_UPDATE_URL placeholders */
  machineFacts?(hostname: string): MachineFacts;
  /** set by run() itself for `--json`: what the run produced, reported before it returns */
  jsonReport?(r: RunReport): void;
}

/** What a run produced, for `mkrescue --json` / `mkbackup --json` (result-json.ts). */
export interface RunReport {
  host?: string;
  files: string[];
  /** the backup archive(s) mkbackup wrote, as their URL names them (with the sha256 computed while writing) */
  backup?: { path: string; bytes: number; sha256: string }[];
  copiedTo?: string;
  log?: string;
  error?: { message: string; hint?: string };
}

/** The workflows whose result `--json` prints (WORKFLOW_ARGS lists the flag for them). */
const RESULT_JSON_WORKFLOWS = new Set(["mkrescue", "mkbackup"]);

function readSavedHostname(file: string): string {
  try {
    const h = readFileSync(file, "utf8").trim();
    return /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(h) ? h : "";
  } catch {
    return "";
  }
}

function readCmdline(): string {
  try {
    return readFileSync("/proc/cmdline", "utf8");
  } catch {
    return "";
  }
}

/** RECOVERY_UPDATE_URL from the environment (typed on the command line), the rescue system's kernel
 *  option, or the configuration, in that order; undefined when none is set. */
export function updateSettings(config: Config, env: Record<string, string | undefined>, cmdline: string): UpdateSettings | undefined {
  const fromEnv = env.RECOVERY_UPDATE_URL ?? "";
  const fromKernel = kernelOption(cmdline);
  const fromConfig = config.str("RECOVERY_UPDATE_URL");
  const url = fromEnv || fromKernel || fromConfig;
  if (!url) return undefined;
  const wait = config.str("RECOVERY_UPDATE_WAIT");
  return {
    url,
    source: fromEnv ? "the environment" : fromKernel ? "the kernel option recovery_update_url" : "the configuration",
    ca: config.str("RECOVERY_UPDATE_CA"),
    sha256: config.str("RECOVERY_UPDATE_SHA256").split(/[\s,]+/).filter(Boolean),
    signers: config.str("RECOVERY_UPDATE_SIGNERS"),
    paths: config.arr("RECOVERY_UPDATE_PATHS"),
    waitSeconds: wait === "" ? 120 : Number(wait),
  };
}

const COMMANDS: Record<string, WorkflowCommand> = { dump: dumpCommand, shell: shellCommand, capturelayout: capturelayoutCommand, udev: udevCommand };

/** ReaR prepends the standard directories to PATH and appends udev's (usr/sbin/rear). */
export function augmentPath(path: string | undefined): string {
  const parts = (path ?? "").split(":").filter(Boolean);
  const front = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].filter((d) => !parts.includes(d));
  const back = ["/lib/udev", "/usr/lib/udev"].filter((d) => !parts.includes(d));
  return [...front, ...parts, ...back].join(":");
}

function isDir(p: string): boolean {
  try {
    return statSync(fsPath(p)).isDirectory();
  } catch {
    return false;
  }
}

function printError(streams: TerminalStreams, e: UserError): void {
  streams.stderr.write(`ERROR: ${e.message}\n`);
  if (e.hint) streams.stderr.write(`${e.hint}\n`);
}

export async function run(deps: RunDeps): Promise<number> {
  const { streams } = deps;
  let cli: CliOptions;
  try {
    cli = parseArgs(deps.argv);
  } catch (e) {
    if (e instanceof UserError) {
      streams.stderr.write(`rear: ${e.message}\n${USAGE_HINT}\n`);
      return ExitCode.USAGE;
    }
    throw e;
  }
  // -V answers before anything else is read (ReaR: before the configuration).
  if (cli.version) {
    streams.stdout.write(`${versionLine()}\n`);
    return ExitCode.OK;
  }
  const wfName = cli.help || cli.workflow === undefined ? "help" : cli.workflow;
  const workflow = findWorkflow(wfName);
  if (!workflow) {
    streams.stderr.write(`ERROR: The specified command '${wfName}' does not exist!\n${USAGE_HINT}\n`);
    return ExitCode.USAGE;
  }
  if (workflow.forceVerbose) cli.verbose = true;
  // The words after the workflow are checked before anything else: a typo never does something else.
  try {
    if (workflow.name !== "help") parseWorkflowWords(workflow.name, cli.args.slice(0, cli.args.length - cli.afterDashDash.length), cli.afterDashDash);
  } catch (e) {
    if (e instanceof UserError) {
      printError(streams, e);
      return e.exitCode;
    }
    throw e;
  }
  // --json: the messages go to standard error and one JSON object to standard output, whatever happens
  if (RESULT_JSON_WORKFLOWS.has(workflow.name) && cli.args.includes("--json") && !deps.jsonReport) {
    let report: RunReport = { files: [] };
    const code = await run({ ...deps, streams: { stdout: streams.stderr, stderr: streams.stderr }, jsonReport: (r) => (report = r) });
    streams.stdout.write(`${JSON.stringify(await resultJson(workflow.name, code, report))}\n`);
    return code;
  }
  const recoveryMode = deps.isRescueSystem() || cli.portable;
  const kernelVersion = cli.kernelVersion ?? release();

  if (workflow.name === "help") {
    // `rear help WORKFLOW` (ReaR accepts it): that workflow's usage
    if (cli.args.length > 1) {
      streams.stderr.write(`ERROR: rear help takes at most one WORKFLOW (got ${cli.args.length} words)\n${USAGE_HINT}\n`);
      return ExitCode.USAGE;
    }
    if (cli.args.length === 1) {
      const about = renderWorkflowHelp(cli.args[0]!);
      if (!about) {
        streams.stderr.write(`ERROR: rear help: '${cli.args[0]}' is not a workflow; 'rear -v help' lists them all\n`);
        return ExitCode.USAGE;
      }
      streams.stdout.write(`${about}\n`);
      return ExitCode.OK;
    }
    streams.stdout.write(`${renderHelp({ verbose: cli.verbose, recoveryMode, kernelVersion })}\n`);
    return ExitCode.OK;
  }
  if (workflow.name === "showlayout") {
    // read-only and lockless: no configuration, log or work area (a non-root user may look at a FILE)
    const paths = resolvePaths({ execPath: deps.execPath, env: deps.env, isDir });
    try {
      const r = showlayout(cli.args, `${paths.varDir}/layout/disklayout.conf`, { exposeSecrets: cli.exposeSecrets });
      streams.stderr.write(r.stderr);
      streams.stdout.write(r.stdout);
      return ExitCode.OK;
    } catch (e) {
      if (e instanceof UserError) {
        printError(streams, e);
        return e.exitCode;
      }
      throw e;
    }
  }
  if (deps.uid !== 0 && !workflow.noRoot) {
    streams.stderr.write(`ERROR: Relax-and-Recover needs 'root' privileges: run it as root (for example with sudo)\n`);
    return ExitCode.USAGE;
  }

  const log = new Logger(streams, cli.verbose, cli.debug);
  const exitTasks = new ExitTasks();
  let lockRelease: (() => void) | undefined;
  let removeSignals: (() => void) | undefined;
  let ctx: Context | undefined;
  let runtimeLog: string | undefined;
  let mainLog: string | undefined;
  let failure: RunReport["error"];

  const finish = async (code: number): Promise<number> => {
    await exitTasks.runAll((label, e) => log.error(`Exit task '${label}' failed: ${(e as Error).message}`));
    if (deps.jsonReport) {
      const rescue = ctx?.state.rescue as { resultFiles?: string[] } | undefined;
      deps.jsonReport({
        files: [...(rescue?.resultFiles ?? [])],
        ...(ctx ? { host: ctx.config.str("HOSTNAME") } : {}),
        ...(typeof ctx?.state.resultsCopiedTo === "string" ? { copiedTo: ctx.state.resultsCopiedTo } : {}),
        ...(Array.isArray(ctx?.state.backupFiles) ? { backup: ctx.state.backupFiles as RunReport["backup"] } : {}),
        ...(runtimeLog ? { log: ctx?.config.str("LOGFILE") && code === 0 ? ctx.config.str("LOGFILE") : runtimeLog } : {}),
        ...(failure ? { error: failure } : {}),
      });
    }
    if (ctx) {
      log.log(`Exiting rear ${workflow.name} (PID ${process.pid}) with exit code ${code}`);
      const finalLog = ctx.config.str("LOGFILE");
      // A lockless or simultaneous run (dump, checklayout, mkbackuponly) never copies its log over the
      // main log: a locked run may be writing it. A LOGFILE that is a symlink is replaced, not followed.
      const othersLog = !lockRelease && runtimeLog !== undefined && finalLog === mainLog;
      if (runtimeLog && finalLog && finalLog !== runtimeLog && code === 0 && !othersLog) {
        try {
          const tmp = `${finalLog}.rear-${process.pid}`;
          copyFileSync(runtimeLog, tmp);
          chmodSync(tmp, 0o600);
          renameSync(tmp, finalLog);
        } catch (e) {
          log.printError(`WARNING: could not copy the log to LOGFILE=${finalLog}: ${(e as Error).message}`);
        }
      }
    }
    log.close();
    setExecLog(undefined);
    setExecEnv(undefined);
    setExecSecrets([]);
    lockRelease?.();
    removeSignals?.();
    return code;
  };

  try {
    if (cli.configDir !== undefined) {
      if (recoveryMode && !cli.portable) throw new UserError("-c cannot be used inside the rescue system (the configuration there is /etc/rear)");
      if (!isDir(cli.configDir)) throw new UserError(`-c ${cli.configDir}: not a directory`, "give the directory that holds local.conf");
    }
    // simulate runs nothing, so it lists the modules of any workflow on any machine
    const placement = cli.simulate ? undefined : placementError(workflow, recoveryMode, cli.portable, cli.args);
    if (placement) throw new UserError(placement);

    const env: Record<string, string | undefined> = { ...deps.env, PATH: augmentPath(deps.env.PATH) };
    const paths = resolvePaths({ execPath: deps.execPath, env, isDir, portable: cli.portable, ...(cli.configDir ? { configDir: cli.configDir } : {}) });
    const arch = archVars(deps.machine ?? machine());
    // -p on a live system: the original machine's name (saved in the PORTABLE archive), not the live system's
    const savedHost = cli.portable ? readSavedHostname(`${paths.varDir}/${SAVED_HOSTNAME}`) : "";
    const host = savedHost || (hostname().split(".")[0] ?? "") || "localhost";
    let binaryOwner = 0;
    try {
      binaryOwner = statSync(deps.execPath).uid;
    } catch {}
    const flag = (b: boolean) => (b ? "1" : "");
    const seed: Record<string, Value> = {
      PROGRAM: "rear",
      VERSION,
      RELEASE_DATE,
      HOSTNAME: host,
      CONFIG_DIR: paths.configDir,
      VAR_DIR: paths.varDir,
      LOG_DIR: paths.logDir,
      SHARE_DIR: "",
      REAR_DIR_PREFIX: paths.prefix,
      WORKFLOW: workflow.name,
      ...arch,
      OS_VENDOR: "generic",
      OS_VERSION: "none",
      KERNEL_VERSION: kernelVersion,
      VERBOSE: flag(cli.verbose),
      DEBUG: flag(cli.debug),
      DEBUGSCRIPTS: flag(cli.debugscripts !== undefined),
      DEBUGSCRIPTS_ARGUMENT: cli.debugscripts ?? "x",
      SIMULATE: flag(cli.simulate),
      STEPBYSTEP: flag(cli.stepByStep),
      NON_INTERACTIVE: flag(cli.nonInteractive),
      EXPOSE_SECRETS: flag(cli.exposeSecrets),
      PORTABLE: flag(cli.portable),
      RECOVERY_MODE: flag(recoveryMode),
      TARGET_FS_ROOT: "/mnt/local",
      DISKLAYOUT_FILE: `${paths.varDir}/layout/disklayout.conf`,
      SECRET_OUTPUT_DEV: cli.exposeSecrets ? "stderr" : "null",
    };
    const loadConfig = () => new ConfigLoader(
      {
        configDir: paths.configDir,
        workflow: workflow.name,
        extraConfigs: cli.extraConfigs,
        recoveryMode,
        seed,
        env,
        release: deps.releaseFiles(),
        embedded: embeddedConfs(),
        trustedUids: [...new Set([0, binaryOwner])],
        ...(env.REAR_CONFIG_READER === "bash" || env.REAR_CONFIG_READER === "ts" ? { mode: env.REAR_CONFIG_READER } : {}),
      },
      deps.configIo,
    ).load();
    let loaded = loadConfig();
    let config = new Config(loaded);
    // Secrets never reach a command line (always) nor the log or the terminal (unless -e).
    const guardSecrets = () => {
      const secrets = secretValuesOf(config.entries(), (n) => config.isSecret(n));
      setExecSecrets(secrets);
      if (!cli.exposeSecrets) log.setSecrets(secrets);
    };
    guardSecrets();
    const tmpdir = env.TMPDIR || "/var/tmp";
    if (config.has("TMPDIR") && config.str("TMPDIR") !== tmpdir) {
      const o = loaded.origins.get("TMPDIR");
      throw new ConfigError("Setting TMPDIR in a configuration file is not supported", o?.file, o?.line, `export TMPDIR=${config.str("TMPDIR")} before running rear instead`);
    }
    if (!workflow.implemented && !cli.simulate) throw new NotImplementedError(`The workflow '${workflow.name}'`);
    if (LFTP_SCHEMES.test(config.str("OUTPUT_URL")) && ["mkrescue", "mkbackup"].includes(workflow.name) && !cli.simulate) {
      throw new NotImplementedError(`OUTPUT_URL=${maskPasswords(config.str("OUTPUT_URL"))} (an upload with lftp; this version copies results to file://, nfs://, cifs://, usb://, sshfs://, sftp:// and rsync:// URLs)`);
    }

    // Lock and log file name (ReaR: LOCKLESS_WORKFLOWS, SIMULTANEOUS_RUNNABLE_WORKFLOWS).
    const lockless = config.arr("LOCKLESS_WORKFLOWS").includes(workflow.name);
    const simultaneous = config.arr("SIMULTANEOUS_RUNNABLE_WORKFLOWS").includes(workflow.name);
    const baseLog = `${paths.logDir}/rear-${host}.log`;
    mainLog = baseLog;
    if (!lockless && !simultaneous) {
      const lock = await acquireLock(`${paths.varDir}/rear.lock`);
      if (!lock.ok) throw new UserError(`rear is already running with PID ${lock.heldBy}, not starting again`, "wait for it to finish (only checklayout, dump, help, mkbackuponly and restoreonly may run beside it)");
      lockRelease = lock.release;
    }
    runtimeLog = lockless ? `${baseLog}.lockless` : simultaneous ? `${paths.logDir}/rear-${host}.${process.pid}.log` : baseLog;
    log.prefix = config.str("MESSAGE_PREFIX");
    log.open(runtimeLog);
    setExecLog({
      trace: (argv) => (cli.debugscripts ? log.log(`+ ${argv.join(" ")}`) : log.debug(`Running: ${argv.join(" ")}`)),
      output: (text) => log.raw(text),
    });
    log.logPrint(`${PRODUCT} ${VERSION} / ${RELEASE_DATE}`);
    log.logPrint(`Running rear ${workflow.name} (PID ${process.pid} date ${logTimestamp().slice(0, 19)})`);
    log.logPrint(`Using log file: ${runtimeLog}`);
    log.log(`Configuration evaluated by ${loaded.evaluatedBy === "ts" ? "rear's reader" : `bash (${loaded.bashReason ?? "requested"})`}; files: ${loaded.files.filter((f) => f.used).map((f) => f.path ?? f.label).join(" ")}`);
    const reportConfig = () => {
      for (const w of loaded.warnings) log.warn(`while reading the configuration, bash said: ${w}`);
      for (const n of loaded.notices) log.warn(n);
      if (loaded.printed.length > 0) log.log(`The configuration files printed:\n${loaded.printed.join("\n")}`);
    };
    reportConfig();
    // RECOVERY_UPDATE_URL: this machine's configuration and layout fetched before recover starts, then the
    // configuration read again so that all of it applies to this very recover (ReaR reads it only once).
    if (workflow.name === "recover" && !cli.simulate && env.REAR_RECOVERY_UPDATED !== "1") {
      const upd = updateSettings(config, env, recoveryMode && !cli.portable ? (deps.kernelCmdline ?? readCmdline)() : "");
      if (upd) {
        const out = await runRecoveryUpdate(upd, { root: paths.prefix || "/", configDir: paths.configDir, varDir: paths.varDir, binary: deps.execPath }, (deps.machineFacts ?? machineFacts)(host), {
          print: (l) => log.logPrint(l),
          log: (l) => log.log(l),
        }).catch(async (e: unknown) => {
          // a download that never got an answer: say what the network looks like (in the rescue system: its own)
          if (e instanceof UserError && /no update could be downloaded/.test(e.message) && recoveryMode) log.logPrint(`The network here: ${await networkState(env)}`);
          throw e;
        });
        if (out.binaryReplaced) {
          // the archive (signed or pinned) brought a new rear: it runs this recover from the start
          log.logPrint(`The update replaced ${deps.execPath}: running it again for this recover`);
          await finish(ExitCode.OK);
          const child = Bun.spawnSync([deps.execPath, ...deps.argv], { env: { ...deps.env, REAR_RECOVERY_UPDATED: "1" } as Record<string, string>, stdio: ["inherit", "inherit", "inherit"] });
          return child.exitCode ?? ExitCode.FAILED;
        }
        // the archive names the machine it recovers (a rescue image shared by many machines has the name of
        // the one it was made on): HOSTNAME and with it NETFS_PREFIX are that machine's from now on
        const updatedHost = out.writes.some((w) => w.path === `var/lib/rear/${SAVED_HOSTNAME}` && w.change !== "unchanged") ? readSavedHostname(`${paths.varDir}/${SAVED_HOSTNAME}`) : "";
        if (updatedHost && updatedHost !== host) {
          seed.HOSTNAME = updatedHost;
          log.logPrint(`Recovering ${updatedHost} (the name in the update; this rescue system was made on ${host})`);
        }
        loaded = loadConfig();
        config = new Config(loaded);
        guardSecrets();
        log.prefix = config.str("MESSAGE_PREFIX");
        log.logPrint(`Read the configuration again after the update`);
        reportConfig();
      }
    }
    if (cli.simulate) log.logPrint(`Simulation mode activated: modules are listed, not run`);

    // Work area.
    const childEnv: Record<string, string | undefined> = { ...env };
    // `export VAR=…` in the configuration reaches the programs rear runs, as in ReaR (bash exports it
    // to every child); only scalars: bash cannot export arrays
    for (const n of config.names()) if (config.isExported(n) && typeof config.raw(n) === "string") childEnv[n] = config.str(n);
    let workArea;
    if (!workflow.noWorkArea) {
      workArea = createWorkArea(tmpdir);
      const wa = workArea;
      const keep = cli.debug || config.isTrue("KEEP_BUILD_DIR");
      exitTasks.add("clean up the work area", () => {
        if (keep) {
          log.logUserOutput(`To remove the build area you may use (with caution): rm -Rf --one-file-system ${wa.buildDir}`);
          return;
        }
        const problem = removeWorkArea(wa);
        if (problem) log.warn(problem);
      });
      // Outside the rescue system, child processes get the work area's tmp/ as TMPDIR (ReaR).
      if (!recoveryMode) childEnv.TMPDIR = wa.tmpDir;
    }
    setExecEnv(childEnv);
    ctx = {
      cli, workflow, args: cli.args, config, paths, log, exitTasks, recoveryMode, env: childEnv, readLine: deps.readLine, state: {},
      ...(workArea ? { workArea } : {}),
    };
    if (deps.onSignal) {
      removeSignals = deps.onSignal(async (sig) => {
        log.error(`rear ${workflow.name} was ${sig === "SIGINT" ? "interrupted" : "terminated"} (${sig}); running exit tasks`);
        const n = killRunning("SIGTERM");
        if (n > 0) log.log(`Terminated ${n} running child process(es)`);
        const code = await finish(sig === "SIGINT" ? ExitCode.INTERRUPTED : ExitCode.TERMINATED);
        process.exit(code);
      });
    }

    const trustedUids = [...new Set([0, binaryOwner])];
    const runner: RunnerDeps = {
      modules: MODULES,
      findHooks: (stage: StageName) => findHooks(paths.configDir, stage, (m) => log.warn(m)),
      runHook: (c, h) => runHook(c, h, trustedUids),
    };
    const stages = workflow.stages?.({ BACKUP_URL: config.str("BACKUP_URL"), OUTPUT: config.str("OUTPUT") }) ?? [];
    await runStages(ctx, ["init", ...stages], runner);
    // a stage may set the workflow's result (checklayout: 1 when the layout changed, as ReaR's EXIT_CODE)
    let code: number = typeof ctx.state.exitCode === "number" ? ctx.state.exitCode : ExitCode.OK;
    if (cli.simulate) {
      if (!workflow.stages) log.logPrint(`Would run the '${workflow.name}' command: ${workflow.description}`);
      if (!workflow.implemented) log.logUserOutput(`NOTE: the workflow '${workflow.name}' is not implemented yet in this version: running it stops with exit code ${ExitCode.NOT_IMPLEMENTED}`);
    } else if (!workflow.stages) {
      const cmd = COMMANDS[workflow.name];
      if (!cmd) throw new BugError(`workflow ${workflow.name} is marked implemented but has neither stages nor a command`);
      const parsed = parseWorkflowArgs(cmd, cli.args);
      code = (await cmd.run(ctx, parsed)) ?? ExitCode.OK;
    }
    return await finish(code);
  } catch (e) {
    if (e instanceof UserError) {
      failure = { message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      if (log.path) {
        log.error(`ERROR: ${e.message}`);
        if (e.hint) log.userOutput(e.hint);
        if (e.exitCode === ExitCode.FAILED) log.printError(`Aborting due to an error, check ${log.path} for details`);
      } else printError(streams, e);
      return finish(e.exitCode);
    }
    const err = e as Error;
    const what = e instanceof CommandError ? err.message : e instanceof BugError ? err.message : `unexpected error: ${err.message}`;
    failure = { message: what };
    if (log.path) {
      log.error(`ERROR: ${what}`);
      log.log(err.stack ?? "");
      log.printError(`Aborting due to an error, check ${log.path} for details`);
    } else streams.stderr.write(`ERROR: ${what}\n`);
    return finish(ExitCode.FAILED);
  }
}

export function realReleaseFiles(): ReleaseFiles {
  const read = (p: string) => {
    try {
      return existsSync(p) ? readFileSync(p, "utf8") : undefined;
    } catch {
      return undefined;
    }
  };
  const r: ReleaseFiles = {};
  const set = <K extends keyof ReleaseFiles>(k: K, p: string) => {
    const v = read(p);
    if (v !== undefined) r[k] = v;
  };
  set("osRelease", "/etc/os-release");
  set("systemRelease", "/etc/system-release");
  set("suseRelease", "/etc/SuSE-release");
  set("redhatRelease", "/etc/redhat-release");
  set("slackwareVersion", "/etc/slackware-version");
  return r;
}
