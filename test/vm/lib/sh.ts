// Running host commands for the VM harness, with their output in a log.

import { appendFileSync } from "node:fs";

export interface ShOptions {
  cwd?: string;
  env?: Record<string, string>;
  log?: string;
  allowFail?: boolean;
  stdin?: string;
}

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sh(argv: string[], o: ShOptions = {}): Promise<ShResult> {
  if (o.log) appendFileSync(o.log, `$ ${argv.join(" ")}\n`);
  const p = Bun.spawn(argv, {
    ...(o.cwd ? { cwd: o.cwd } : {}),
    env: { ...process.env, ...(o.env ?? {}) } as Record<string, string>,
    stdin: o.stdin !== undefined ? new TextEncoder().encode(o.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (o.log) appendFileSync(o.log, stdout + stderr);
  if (code !== 0 && !o.allowFail) {
    throw new Error(`'${argv.join(" ")}' failed with exit code ${code}: ${(stderr || stdout).trim().split("\n").slice(-5).join(" / ")}`);
  }
  return { code, stdout, stderr };
}
