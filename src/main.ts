#!/usr/bin/env bun
// Entry point of the rear binary: the real world handed to cli/run.ts.

import { existsSync, readFileSync, readSync } from "node:fs";
import { run, realReleaseFiles } from "./cli/run.ts";
import { realConfigIo } from "./config/io.ts";
import { rawArgv } from "./sys/bytes.ts";

/**
 * The arguments byte for byte: process.argv decodes them as UTF-8 and turns a Latin-1 byte of a path
 * (`-c /etc/rear-caf\xe9`) into U+FFFD, so they are read again from /proc/self/cmdline (its last words
 * are ours; what precedes them is the runtime and the script).
 */
function arguments_(): string[] {
  const n = process.argv.length - 2;
  const raw = rawArgv(() => {
    try {
      return readFileSync("/proc/self/cmdline");
    } catch {
      return undefined;
    }
  });
  return raw && raw.length >= n && n >= 0 ? raw.slice(raw.length - n) : process.argv.slice(2);
}

/** One line from standard input, read synchronously (prompts of -S and questions). */
function readLine(prompt: string): string | undefined {
  process.stdout.write(`${prompt} `);
  const buf = Buffer.alloc(1);
  let line = "";
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      return line === "" ? undefined : line;
    }
    if (n === 0) return line === "" ? undefined : line;
    const c = buf.toString("utf8", 0, 1);
    if (c === "\n") return line;
    line += c;
  }
}

const code = await run({
  argv: arguments_(),
  env: process.env,
  execPath: process.execPath,
  uid: process.getuid?.() ?? 0,
  streams: { stdout: process.stdout, stderr: process.stderr },
  isRescueSystem: () => existsSync("/etc/rear-release"),
  readLine,
  configIo: realConfigIo,
  releaseFiles: realReleaseFiles,
  onSignal(handler) {
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  },
});
process.exit(code);
