// Logging with ReaR's split between the log file and the terminal (lib/_input-output-functions.sh):
//
//   log        file only                 debug      file, only with -d
//   print      terminal if verbose       logPrint   file + terminal if verbose
//   userOutput terminal always           logUserOutput  file + terminal always
//   error      file + stderr always
//
// The log file is /var/log/rear/rear-<host>.log (mode 0600, the previous one rotated to .old), each
// line prefixed with a nanosecond timestamp as ReaR's. Until the file is opened, lines are buffered.
// Terminal output goes through consola, with a plain reporter: ReaR's messages have no decorations.

import { closeSync, constants, existsSync, fchmodSync, openSync, renameSync, rmSync, writeSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createConsola, type ConsolaInstance, type LogObject } from "consola";

export interface TerminalStreams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Nanoseconds since the epoch, from the wall clock (process.hrtime is another clock: its fraction is not the wall clock's). */
export function wallClockNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** `YYYY-mm-dd HH:MM:SS.nnnnnnnnn`, as ReaR's `date '+%Y-%m-%d %H:%M:%S.%N'` (one clock for both parts: times only go forward). */
export function logTimestamp(epochNs = wallClockNs()): string {
  const d = new Date(Number(epochNs / 1_000_000n));
  const ns = Number(epochNs % 1_000_000_000n);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(ns, 9)}`;
}

/** What a secret is replaced with in the log and on the terminal. */
export const HIDDEN_SECRET = "<hidden>";

export class Logger {
  private fd: number | undefined;
  /** secret values (longest first) replaced in everything written, unless -e (ReaR's SECRET_OUTPUT_DEV idea, for every channel) */
  private secrets: string[] = [];
  private buffer: string[] = [];
  private readonly term: ConsolaInstance;
  prefix = "";
  path: string | undefined;

  constructor(
    streams: TerminalStreams = { stdout: process.stdout, stderr: process.stderr },
    public verbose = false,
    public debugMode = false,
  ) {
    this.term = createConsola({
      // consola levels: 0 error, 2 log, 3 info, 4 debug. info = "only when verbose".
      level: 5,
      reporters: [
        {
          log: (o: LogObject) => {
            const text = this.redact(o.args.map((a) => (typeof a === "string" ? a : String(a))).join(" "));
            (o.level <= 1 ? streams.stderr : streams.stdout).write(text + "\n");
          },
        },
      ],
    });
  }

  /**
   * The values that never reach the log or the terminal (the secrets of the configuration, passwords
   * inside URLs and mount options). Values shorter than 4 characters are not searched for: they would
   * blank out ordinary words; rear refuses such keys where it can.
   */
  setSecrets(values: readonly string[]): void {
    this.secrets = [...new Set(values.filter((v) => v.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** One more secret learnt while running (unless -e: the caller decides). */
  addSecret(value: string): void {
    this.setSecrets([...this.secrets, value]);
  }

  /** The text with every secret value replaced. */
  redact(text: string): string {
    for (const s of this.secrets) if (text.includes(s)) text = text.split(s).join(HIDDEN_SECRET);
    return text;
  }

  /** Opens the log file: rotates an existing one to `.old`, creates the new one with mode 0600. */
  open(path: string): void {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) renameSync(path, `${path}.old`);
    // O_EXCL: a file (or a symlink planted) at `path` since the rename is replaced, never followed
    for (let attempt = 0; ; attempt++) {
      try {
        this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 5) throw e;
        rmSync(path, { force: true });
      }
    }
    fchmodSync(this.fd, 0o600); // the umask could have cleared bits, never added; be explicit anyway
    this.path = path;
    for (const l of this.buffer) writeSync(this.fd, l);
    this.buffer = [];
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private write(msg: string): void {
    const lines = this.redact(msg).replace(/\n+$/, "").split("\n");
    // ReaR indents the continuation lines of a multi-line message
    const text = `${this.prefix}${logTimestamp()} ${lines[0]}\n${lines.slice(1).map((l) => `  ${l}\n`).join("")}`;
    if (this.fd !== undefined) writeSync(this.fd, text);
    else this.buffer.push(text);
  }

  /** Raw text into the log (a command's output), without timestamps. */
  raw(text: string): void {
    if (!text) return;
    text = this.redact(text);
    const t = text.endsWith("\n") ? text : `${text}\n`;
    if (this.fd !== undefined) writeSync(this.fd, t);
    else this.buffer.push(t);
  }

  log(msg: string): void {
    this.write(msg);
  }
  debug(msg: string): void {
    if (this.debugMode) this.write(msg);
  }
  print(msg: string): void {
    if (this.verbose) this.term.info(msg);
  }
  logPrint(msg: string): void {
    this.write(msg);
    this.print(msg);
  }
  userOutput(msg: string): void {
    this.term.log(msg);
  }
  logUserOutput(msg: string): void {
    this.write(msg);
    this.userOutput(msg);
  }
  /** Always on stderr, and in the log. */
  error(msg: string): void {
    this.write(msg);
    this.term.error(msg);
  }
  /** stderr only (before a log exists, or for messages that must not be logged). */
  printError(msg: string): void {
    this.term.error(msg);
  }
  warn(msg: string): void {
    this.write(`WARNING: ${msg}`);
    this.term.error(`WARNING: ${msg}`);
  }
}
