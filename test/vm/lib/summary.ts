// bench/results/README.md: a short table of the recorded VM runs, rendered from their JSON files.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunResult } from "./cycle.ts";

const s = (ms?: number) => (ms === undefined ? "-" : `${Math.round(ms / 1000)} s`);
const mib = (b?: number) => (b === undefined ? "-" : `${Math.round(b / 1048576)} MiB`);

export function renderSummary(dir: string): string {
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Omit<RunResult, "workDir">);
  const L = [
    "# VM harness results",
    "",
    "Recorded with `bun run test:vm --scenario NAME --tool TOOL --record` (test/vm/). Each JSON file holds the",
    "phases, the checks and the figures of one run. Times are wall-clock under the accelerator named (TCG is",
    "software emulation: several times slower than KVM or real hardware). What the runs show, checked in",
    "the logs: [findings.md](findings.md).",
    "",
    "| tool | scenario | result | accel | mkbackup (image + backup) | rescue image | backup archive | recover | rescue boot → recovered login | failed checks / phase |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const failedPhase = Object.entries(r.phases).find(([, v]) => v && !v.ok);
    const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name}${c.allowed ? " (allowed)" : ""}`);
    const why = failedPhase ? `${failedPhase[0]}: ${failedPhase[1]!.note ?? ""}` : failed.join(", ");
    L.push(
      `| ${r.tool} ${r.toolVersion ? `(${r.toolVersion.replace(/\|/g, "/")})` : ""} | ${r.scenario}${r.powerCut ? ` (power cut during ${r.powerCut.phase}, recover run again)` : ""} | ${r.ok ? "PASS" : "FAIL"} | ${r.accel} | ${s(r.figures.mkbackupMs)} (${s(r.figures.imageBuildMs)} + ${s(r.figures.backupMs)}) | ${mib(r.figures.rescueImageBytes)} | ${mib(r.figures.backupArchiveBytes)} | ${s(r.figures.recoverMs)} | ${s(r.figures.rescueBootToLoginMs)} | ${why || "-"} |`,
    );
  }
  return `${L.join("\n")}\n`;
}
