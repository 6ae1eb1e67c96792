#!/usr/bin/env bun
// Entry point of the rear binary: the real world handed to cli/run.ts.

import { existsSync, readSync } from "node:fs";
import { run, realReleaseFiles } from "./cli/run.ts";
import { realConfigIo } from "./config/io.ts";

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
  argv: process.argv.slice(2),
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
