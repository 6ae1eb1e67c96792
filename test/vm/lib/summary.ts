// bench/results/README.md: a short table of the recorded VM runs, rendered from their JSON files.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunResult } from "./cycle.ts";
import { OUTPUTS, type OutputRun, type OutputsResult } from "./outputs.ts";

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
  // ours next to ReaR 2.7 on the same scenario (the plain runs, not the power-cut ones)
  const plain = rows.filter((r) => !r.powerCut);
  const pairs = [...new Set(plain.map((r) => r.scenario))].flatMap((sc) => {
    const o = plain.find((r) => r.scenario === sc && r.tool === "ours");
    const b = plain.find((r) => r.scenario === sc && r.tool === "rear27");
    return o && b ? [{ sc, o, b }] : [];
  });
  if (pairs.length) {
    const rate = (r: Omit<RunResult, "workDir">) => (r.figures.restoredMiB && r.figures.restoreMs ? `${(r.figures.restoredMiB / (r.figures.restoreMs / 1000)).toFixed(1)} MiB/s` : "-");
    const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : "-");
    L.push(
      "",
      "## Ours next to ReaR 2.7 (same scenario, same harness, TCG)",
      "",
      "Restore rate: the backup archive's MiB over tar's time, from the rescue console (\"-\": the run did not record it).",
      "Where the backup archives differ in size, the guest image changed between the two runs (ReaR 2.7's were",
      "recorded first): compare the rates and the rescue boot → login times, not the backup times.",
      "",
      "| scenario | result ours / ReaR | backup archive ours / ReaR | mkbackup ours / ReaR | rescue image ours / ReaR | recover ours / ReaR | rescue boot → recovered login ours / ReaR (ratio) | restore ours / ReaR |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const { sc, o, b } of pairs) {
      L.push(
        `| ${sc} | ${o.ok ? "PASS" : "FAIL"} / ${b.ok ? "PASS" : "FAIL"} | ${mib(o.figures.backupArchiveBytes)} / ${mib(b.figures.backupArchiveBytes)} | ${s(o.figures.mkbackupMs)} / ${s(b.figures.mkbackupMs)} | ${mib(o.figures.rescueImageBytes)} / ${mib(b.figures.rescueImageBytes)} | ${s(o.figures.recoverMs)} / ${s(b.figures.recoverMs)} | ${s(o.figures.rescueBootToLoginMs)} / ${s(b.figures.rescueBootToLoginMs)} (${ratio(o.figures.rescueBootToLoginMs, b.figures.rescueBootToLoginMs)}) | ${rate(o)} / ${rate(b)} |`,
      );
    }
  }
  // mkrescue per output (run.ts outputs --record)
  const outputs = join(dir, "outputs", "mkrescue.json");
  if (existsSync(outputs)) {
    const r = JSON.parse(readFileSync(outputs, "utf8")) as Omit<OutputsResult, "workDir">;
    const cell = (x?: OutputRun) => (x ? (x.exitCode === 0 ? `${(x.ms! / 1000).toFixed(0)} s, ${mib(x.bytes)}` : `exit ${x.exitCode ?? "-"}`) : "none");
    L.push(
      "",
      "## mkrescue per output (`bun run test:vm outputs --record`, bench/outputs.sh)",
      "",
      `One BIOS guest (${r.accel}, ${r.startedAt.slice(0, 10)}), the same local.conf for both tools (FIRMWARE_FILES=(no), MODULES=(loaded_modules));`,
      "the size is what the output wrote: the ISO, the compressed raw image, the PXE tree, the files on the USB medium, the archive.",
      "",
      "| output | ours | ReaR 2.7 |",
      "|---|---|---|",
      ...OUTPUTS.map((o) => `| ${o} | ${cell(r.runs.ours[o])} | ${cell(r.runs.rear27[o])} |`),
    );
  }
  return `${L.join("\n")}\n`;
}
