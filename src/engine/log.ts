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

import { closeSync, existsSync, fchmodSync, openSync, renameSync, writeSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createConsola, type ConsolaInstance, type LogObject } from "consola";

export interface TerminalStreams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `YYYY-mm-dd HH:MM:SS.nnnnnnnnn`, as ReaR's `date '+%Y-%m-%d %H:%M:%S.%N'`. */
export function logTimestamp(d = new Date(), hr = process.hrtime.bigint()): string {
  const ns = Number(hr % 1_000_000_000n);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(ns, 9)}`;
}

export class Logger {
  private fd: number | undefined;
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
            const text = o.args.map((a) => (typeof a === "string" ? a : String(a))).join(" ");
            (o.level <= 1 ? streams.stderr : streams.stdout).write(text + "\n");
          },
        },
      ],
    });
  }

  /** Opens the log file: rotates an existing one to `.old`, creates the new one with mode 0600. */
  open(path: string): void {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) renameSync(path, `${path}.old`);
    this.fd = openSync(path, "w", 0o600);
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
    const lines = msg.replace(/\n+$/, "").split("\n");
    // ReaR indents the continuation lines of a multi-line message
    const text = `${this.prefix}${logTimestamp()} ${lines[0]}\n${lines.slice(1).map((l) => `  ${l}\n`).join("")}`;
    if (this.fd !== undefined) writeSync(this.fd, text);
    else this.buffer.push(text);
  }

  /** Raw text into the log (a command's output), without timestamps. */
  raw(text: string): void {
    if (!text) return;
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
