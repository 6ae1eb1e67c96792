// `rear mkrescue --json` / `mkbackup --json`: one JSON object on standard output for the program that ran
// rear (a backup agent such as Cove's Backup Manager backs up the ISO it names): the exit code and its
// meaning, each file written with its size and sha256, where they were copied, the log, the error.
// The sha256 is computed here, once, from the file as written (streamed: an ISO may be gigabytes).

import { createReadStream, statSync } from "node:fs";
import { ExitCode } from "../engine/errors.ts";
import { VERSION } from "../version.ts";
import type { RunReport } from "./run.ts";

export interface ResultFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ResultJson {
  workflow: string;
  version: string;
  exitCode: number;
  ok: boolean;
  /** ok | failed | usage | not-implemented | interrupted | terminated */
  outcome: string;
  host?: string;
  files: ResultFile[];
  backup?: ResultFile[];
  copiedTo?: string;
  log?: string;
  error?: { message: string; hint?: string };
}

const OUTCOME: Record<number, string> = {
  [ExitCode.OK]: "ok", [ExitCode.USAGE]: "usage", [ExitCode.FAILED]: "failed", [ExitCode.NOT_IMPLEMENTED]: "not-implemented",
  [ExitCode.INTERRUPTED]: "interrupted", [ExitCode.TERMINATED]: "terminated",
};

async function sha256(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function resultJson(workflow: string, code: number, r: RunReport): Promise<ResultJson> {
  const files: ResultFile[] = [];
  for (const path of r.files) {
    try {
      files.push({ path, bytes: statSync(path).size, sha256: await sha256(path) });
    } catch {
      // a file the run wrote and an exit task removed (a failed run's partial output): not a result
    }
  }
  return {
    workflow, version: VERSION, exitCode: code, ok: code === ExitCode.OK, outcome: OUTCOME[code] ?? "failed",
    ...(r.host ? { host: r.host } : {}), files, ...(r.backup ? { backup: r.backup } : {}),
    ...(r.copiedTo ? { copiedTo: r.copiedTo } : {}), ...(r.log ? { log: r.log } : {}), ...(r.error ? { error: r.error } : {}),
  };
}
