// Running external commands: the one place that spawns processes. Their output goes to the log, not
// the terminal (ReaR redirects stdout/stderr of everything into its log); -D traces every command line.
// In the unit-test tier (REAR_TEST_TIER=unit) any attempt to run a command throws: unit tests must
// never touch the machine.

import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants as osConstants, tmpdir } from "node:os";
import { join } from "node:path";
import { BugError, CommandError } from "../engine/errors.ts";
import { decodeBytes, encodeBytes, hasRawBytes } from "./bytes.ts";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string | Uint8Array;
  /** throw CommandError on a non-zero exit */
  check?: boolean;
  /** what the command is for, in error messages */
  what?: string;
  /** keep the output out of the log (it may hold secrets) */
  quiet?: boolean;
  /** inherit the terminal (interactive programs: `rear shell`, hook scripts under -S) */
  interactive?: boolean;
  /** a question on the terminal: stdin and stderr are the terminal, stdout (the answer) is captured */
  ask?: boolean;
  /** called with the PID once the command started (exec only: progress read from /proc/PID) */
  onStart?: (pid: number) => void;
}

export interface ExecLog {
  trace(argv: readonly string[]): void;
  output(text: string): void;
}

let sink: ExecLog | undefined;
/** Processes started by exec() that have not ended: killed when rear is interrupted (ReaR kills its descendants). */
const running = new Set<{ pid: number }>();

/** PIDs of all descendants of `pid`, from /proc (children before their own children). */
export function descendants(pid: number, procDir = "/proc"): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync(procDir);
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`${procDir}/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Ends every process rear started, with their descendants (ReaR terminates its descendant processes on exit). */
export function killRunning(signal: NodeJS.Signals = "SIGTERM"): number {
  let n = 0;
  for (const p of running) {
    for (const pid of [p.pid, ...descendants(p.pid)]) {
      try {
        process.kill(pid, signal);
        n++;
      } catch {}
    }
  }
  return n;
}
let defaultEnv: Record<string, string | undefined> | undefined;
/** The environment of commands run without an explicit one: the workflow's (TMPDIR in the work area, exported configuration variables). */
export function setExecEnv(env: Record<string, string | undefined> | undefined): void {
  defaultEnv = env;
}

/** The engine points command tracing and output at its log. */
export function setExecLog(l: ExecLog | undefined): void {
  sink = l;
}

let secretValues: readonly string[] = [];
/**
 * The secret values of the configuration (src/config/secret-values.ts). A command line is readable by
 * every local user in /proc/PID/cmdline, so a command whose arguments hold one is refused: secrets go to
 * programs by environment, stdin or a 0600 file.
 */
export function setExecSecrets(values: readonly string[]): void {
  secretValues = values.filter((v) => v.length >= 4);
}

/** One more secret learnt while running (a passphrase from the rescue kernel's command line). */
export function addExecSecret(value: string): void {
  if (value.length >= 4 && !secretValues.includes(value)) secretValues = [...secretValues, value];
}

/**
 * The secret an argument list holds, or undefined: an argument that is a secret, or one that contains a
 * secret of 8 characters or more (a shorter one, "rear" say, is also a word of ordinary paths).
 */
export function secretInArgv(argv: readonly string[], secrets: readonly string[] = secretValues): string | undefined {
  for (const a of argv) for (const s of secrets) if (a === s || (s.length >= 8 && a.includes(s))) return s;
  return undefined;
}

function guard(argv: readonly string[]): void {
  if (process.env.REAR_TEST_TIER === "unit") {
    throw new Error(`unit tests must not run real commands (tried: ${argv.join(" ")})`);
  }
  if (secretInArgv(argv) !== undefined) {
    throw new BugError(`a secret value of the configuration was about to go on the command line of '${argv[0]}' (refused: every local user could read it)`);
  }
}

/**
 * The argument list as the kernel gets it. Bun hands arguments to execve as UTF-8, so a byte that is not
 * UTF-8 (a Latin-1 path, kept as U+DCxx by sys/bytes.ts) would arrive as U+FFFD. Such a command is
 * started by bash from a NUL-separated list in a private file, byte for byte.
 */
function kernelArgv(argv: readonly string[]): { argv: string[]; cleanup(): void } {
  if (!argv.some(hasRawBytes)) return { argv: [...argv], cleanup() {} };
  const dir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), "rear-argv."));
  const file = join(dir, "argv");
  writeFileSync(file, Buffer.concat(argv.map((a) => Buffer.concat([encodeBytes(a), Buffer.from([0])]))), { mode: 0o600 });
  return {
    argv: ["bash", "--noprofile", "--norc", "-c", 'mapfile -d "" -t __rear_argv < "$1" && rm -rf -- "${1%/*}" && exec "${__rear_argv[@]}"', "rear-argv", file],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function envOf(env?: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? defaultEnv ?? process.env)) if (v !== undefined) out[k] = v;
  return out;
}

function finish(argv: readonly string[], r: ExecResult, opts: ExecOptions): ExecResult {
  if (!opts.quiet) sink?.output(r.stdout + r.stderr);
  if (opts.check && r.code !== 0) throw new CommandError(argv, r.code, r.stderr, opts.what);
  return r;
}

function spawnOptions(opts: ExecOptions) {
  const io = opts.interactive ? "inherit" : "pipe";
  if (opts.ask) return { env: envOf(opts.env), stdin: "inherit", stdout: "pipe", stderr: "inherit" } as const;
  const stdin = opts.interactive ? "inherit" : opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin;
  return { env: envOf(opts.env), ...(opts.cwd ? { cwd: opts.cwd } : {}), stdin, stdout: io, stderr: io } as const;
}

/** A stream's bytes as text, bytes that are not UTF-8 kept (sys/bytes.ts): a path in a command's output stays exact. */
async function textOf(stream: ReadableStream): Promise<string> {
  return decodeBytes(new Uint8Array(await new Response(stream).arrayBuffer()));
}

/** A command that could not start (not installed): exit 127 as the shell says it. */
function notRun(argv: readonly string[], e: unknown): ExecResult {
  return { code: 127, stdout: "", stderr: `${argv[0]}: command not found (${(e as Error).message})\n` };
}

/** Runs a command and waits for it. */
export function execSync(argv: readonly string[], opts: ExecOptions = {}): ExecResult {
  guard(argv);
  sink?.trace(argv);
  let p;
  const k = kernelArgv(argv);
  try {
    p = Bun.spawnSync(k.argv, spawnOptions(opts));
  } catch (e) {
    return finish(argv, notRun(argv, e), opts);
  } finally {
    k.cleanup();
  }
  const r: ExecResult = {
    code: p.exitCode ?? 128 + (p.signalCode ? (osConstants.signals[p.signalCode as keyof typeof osConstants.signals] ?? 0) : 0),
    stdout: p.stdout ? decodeBytes(p.stdout) : "",
    stderr: p.stderr ? decodeBytes(p.stderr) : "",
  };
  return finish(argv, r, opts);
}

/** Runs a command asynchronously (long-running work: the process can be interrupted meanwhile). */
export async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  guard(argv);
  sink?.trace(argv);
  let p;
  const k = kernelArgv(argv);
  try {
    p = Bun.spawn(k.argv, spawnOptions(opts));
  } catch (e) {
    k.cleanup();
    return finish(argv, notRun(argv, e), opts);
  }
  p.exited.finally(k.cleanup);
  running.add(p);
  opts.onStart?.(p.pid);
  let stdout: string, stderr: string, code: number;
  try {
    [stdout, stderr, code] = await Promise.all([
      p.stdout instanceof ReadableStream ? textOf(p.stdout) : Promise.resolve(""),
      p.stderr instanceof ReadableStream ? textOf(p.stderr) : Promise.resolve(""),
      p.exited,
    ]);
  } finally {
    running.delete(p);
  }
  return finish(argv, { code, stdout, stderr }, opts);
}

/**
 * Writes `input` to a process's stdin, waiting for the pipe to drain, and closes it. Stops when the
 * process ended (its exit status says why) or stopped reading (EPIPE); any other error goes to `fail`.
 */
async function feedStdin(p: { stdin: unknown; exitCode: number | null; signalCode: unknown }, input: AsyncIterable<Uint8Array>, fail: (e: unknown) => void): Promise<void> {
  const sinkIn = p.stdin as import("bun").FileSink;
  try {
    for await (const chunk of input) {
      if (p.exitCode !== null || p.signalCode) break;
      sinkIn.write(chunk);
      await sinkIn.flush();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPIPE") fail(e);
  }
  try {
    await sinkIn.end();
  } catch {}
}

export interface StreamOptions extends Omit<ExecOptions, "stdin" | "interactive" | "ask"> {
  /** fed to the command's stdin; an error thrown by it ends the command (its stdin closes) and is rethrown */
  input?: AsyncIterable<Uint8Array>;
  /** receives the command's stdout chunk by chunk (not kept); an error thrown by it kills the command and is rethrown */
  output?: (chunk: Uint8Array) => void | Promise<void>;
}

/**
 * Runs a command with its stdin fed from, or its stdout drained into, this process: the pipes of
 * ReaR's `tar … | openssl … | dd` with rear as the middle element. stderr is collected as exec's.
 */
export async function execStream(argv: readonly string[], opts: StreamOptions): Promise<ExecResult> {
  guard(argv);
  sink?.trace(argv);
  let p;
  const k = kernelArgv(argv);
  try {
    p = Bun.spawn(k.argv, {
      env: envOf(opts.env),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdin: opts.input ? "pipe" : "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (e) {
    k.cleanup();
    return finish(argv, notRun(argv, e), opts);
  }
  p.exited.finally(k.cleanup);
  running.add(p);
  let failure: unknown;
  const kill = (e: unknown) => {
    failure ??= e;
    try {
      p.kill("SIGTERM");
    } catch {}
  };
  const feed = async () => {
    if (opts.input) await feedStdin(p, opts.input, kill);
  };
  const drain = async () => {
    const out = p.stdout as ReadableStream<Uint8Array>;
    if (!opts.output) return textOf(out);
    for await (const chunk of out) {
      if (failure) continue; // keep reading so the command does not block on a full pipe before it dies
      try {
        await opts.output(chunk);
      } catch (e) {
        kill(e);
      }
    }
    return "";
  };
  let stdout: string, stderr: string, code: number;
  try {
    [, stdout, stderr, code] = await Promise.all([feed(), drain(), textOf(p.stderr as ReadableStream), p.exited]);
  } finally {
    running.delete(p);
  }
  if (failure) {
    if (!opts.quiet) sink?.output(stderr);
    throw failure;
  }
  return finish(argv, { code, stdout, stderr }, opts);
}

export interface Filter {
  /** the command's stdout, to be read by the next element of the pipe */
  stdout: AsyncIterable<Uint8Array>;
  /** its exit status and stderr, once it ended */
  result: Promise<ExecResult>;
  /** ends it (the reader of its stdout stopped early) */
  stop(): void;
}

/**
 * Starts a command that transforms a stream (ReaR's `… | openssl des3 -d | tar …`): `input` is fed to
 * its stdin, its stdout is handed on. Its exit status is only known once its stdout was read to the end
 * or stop() was called.
 */
export function spawnFilter(argv: readonly string[], input: AsyncIterable<Uint8Array>, opts: Pick<ExecOptions, "env" | "quiet"> = {}): Filter {
  guard(argv);
  sink?.trace(argv);
  const k = kernelArgv(argv);
  const p = Bun.spawn(k.argv, { env: envOf(opts.env), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  p.exited.finally(k.cleanup);
  running.add(p);
  // an input that fails (a read error) ends the filter's stdin early: the next element sees a short stream
  const feed = feedStdin(p, input, () => {});
  const result = (async () => {
    const [stderr, code] = await Promise.all([textOf(p.stderr as ReadableStream), p.exited, feed]);
    running.delete(p);
    const r = { code, stdout: "", stderr };
    if (!opts.quiet) sink?.output(stderr);
    return r;
  })();
  return {
    stdout: p.stdout as ReadableStream<Uint8Array>,
    result,
    stop() {
      try {
        p.kill("SIGTERM");
      } catch {}
    },
  };
}

/** Where a program is in PATH (bash's `type -P`), without running anything. */
// The workflow's PATH (the one exec gives commands) by default, not the process's: udev runs RUN programs
// with no PATH at all, and rear udev found no systemd-run there, so it took setsid and stayed in udevd's
// sandbox (MemoryDenyWriteExecute, PrivateMounts).
export function which(name: string, path = defaultEnv?.PATH ?? process.env.PATH ?? ""): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
