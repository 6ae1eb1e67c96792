// The VM harness runner.
//   bun run test:vm --scenario NAME|all --tool rear27|ours [--record] [--keep] [--power-cut layout|restore|finalize]
//                               --power-cut: the power goes during recover's layout (while a LUKS volume is
//                               formatted), restore or finalize; the rescue image boots again and recover, run
//                               again unattended, must say it resumes (layout: start over) and end in a
//                               machine that passes the same comparison
//   bun run test:vm rejudge --run DIR [--record] [--power-cut PHASE]
//                               the comparison run again, with today's compare.ts, on the truths a finished run
//                               collected (its work directory): for a run failed only by the comparison's own
//                               mistake; the result says it was rejudged and which checks changed
//   bun run test:vm image       build (or reuse) the guest image
//   bun run test:vm smoke       boot a guest, run a command, read the result back (CI)
//   bun run test:vm list        the scenarios and the layouts
//   bun run test:vm capture --layout NAME|all [--keep]
//                               layout fixtures: ReaR 2.7's savelayout/checklayout and our probes on a
//                               machine built with a layout (test/vm/layouts/) or a scenario's machine,
//                               into test/fixtures/machines/NAME/
//   bun run test:vm recreate --layout NAME|all [--keep] [--no-rear27] [--no-migrate]
//                               layout recreation in a builder guest: the layout is made, saved, unmounted
//                               with its LVM/MD/LUKS stacks left active, recreated on the same disks with
//                               `rear -p -n layoutonly`, saved again and compared with the original; a
//                               REAR-000 "USB backup disk" beside it must keep its sha256 and label. Also
//                               ReaR 2.7's own layoutonly on the same disks, timed (--no-rear27 skips it),
//                               and a migration onto 30% bigger disks with a disk_mappings file after the
//                               source disks were wiped (--no-migrate skips it). PASS/FAIL per layout;
//                               result.json in $REAR_VM_CACHE/recreate/NAME-<time>/ (bench/recreate.sh
//                               tabulates the times)
//   bun run test:vm rescue [--firmware bios|uefi|uefi-sb|all] [--rear27]
//                               the rescue image: our mkrescue in a guest of that firmware whose layout has
//                               MD, LUKS, LVM, xfs, btrfs, vfat and swap and whose NIC has a static address;
//                               the ISO boots on a new machine with a blank disk and a check script typed
//                               into its serial console runs every recovery tool and checks udev and the
//                               network. --rear27: ReaR 2.7's mkrescue in the same guest (bench/mkrescue.sh)
//   bun run test:vm backup [--rear27]
//                               BACKUP=NETFS against real servers: one guest serves an NFS export and an SMB
//                               share on 127.0.0.1; our mkbackuponly to nfs:// and cifs://, restoreonly into a
//                               blank filesystem, a full manifest compared, nothing left mounted, the SMB
//                               password in no log (-v, -d, a failed mount). --rear27: ReaR 2.7's
//                               mkbackuponly/restoreonly timed next to ours and plain tar (bench/backup.sh --vm)
//   bun run test:vm outputs [--record]
//                               mkrescue per output (ISO, USB, PXE, RAWDISK, PORTABLE), ours and ReaR 2.7's in one
//                               BIOS guest with the same local.conf: exit code, time, bytes written
//                               (bench/outputs.sh; --record: bench/results/outputs/mkrescue.json)
// Results: a JSON per run in the run's work directory (under $REAR_VM_CACHE, default /var/cache/rear-vm);
// with --record also in bench/results/<tool>-<scenario>.json and a line in bench/results/README.md.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runInBuilder } from "./lib/builder.ts";
import { runCapture, type CaptureResult } from "./lib/capture.ts";
import { pruneRuns, rejudge, runScenario, type RunResult, type Tool } from "./lib/cycle.ts";
import { printBackup, runBackup } from "./lib/backup.ts";
import { printRecreate, runRecreate } from "./lib/recreate.ts";
import { printRescue, runRescue, type Firmware } from "./lib/rescue.ts";
import { renderOutputs, runOutputs } from "./lib/outputs.ts";
import { buildImage, CACHE, VM_DIR } from "./lib/image.ts";
import { allCaptureNames, listLayouts, loadLayout, resolveLayout } from "./lib/layouts.ts";
import { chooseAccel } from "./lib/qemu.ts";
import { listScenarios, loadScenario } from "./lib/scenario.ts";
import { renderSummary } from "./lib/summary.ts";

const RESULTS = join(VM_DIR, "../../bench/results");

async function smoke(): Promise<number> {
  const t0 = Date.now();
  const image = await buildImage();
  pruneRuns(6);
  const dir = join(CACHE, "runs", `smoke-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const accel = await chooseAccel(image.kernel, dir);
  const r = await runInBuilder({
    image, dir, name: "smoke", accel, timeoutSec: 240, say: console.log,
    job: { script: 'set -e\nuname -r > "$HARNESS_OUT/kernel"\nmodprobe dm_mod\ntest -e /dev/mapper/control\necho smoke-ok > "$HARNESS_OUT/answer"\n' },
  });
  const answer = (await Bun.file(join(r.job.dir, "answer")).text().catch(() => "")).trim();
  const ok = r.job.exitCode === 0 && answer === "smoke-ok";
  console.log(`smoke: ${ok ? "PASS" : "FAIL"} (${accel}, guest ran ${Math.round(r.vm.durationMs / 1000)} s, total ${Math.round((Date.now() - t0) / 1000)} s${ok ? "" : `; job exit ${r.job.exitCode}, log: ${r.job.log.slice(-300)}`})`);
  return ok ? 0 : 1;
}

function printResult(r: RunResult): void {
  console.log(`\n${r.scenario} with ${r.tool} (${r.toolVersion ?? "?"}, ${r.accel}): ${r.ok ? "PASS" : "FAIL"}`);
  for (const [p, v] of Object.entries(r.phases)) console.log(`  phase ${p.padEnd(8)} ${v ? `${v.ok ? "ok  " : "FAIL"} ${Math.round(v.ms / 1000)} s${v.note ? `  ${v.note}` : ""}` : "-"}`);
  for (const c of r.checks) console.log(`  check ${c.name.padEnd(26)} ${c.ok ? "ok" : c.allowed ? "differs (allowed)" : "FAIL"}${c.ok ? "" : `: ${c.details.slice(0, 5).join("; ")}`}`);
  console.log(`  figures ${JSON.stringify(r.figures)}`);
  console.log(`  work dir ${r.workDir}`);
}

function printCapture(r: CaptureResult): void {
  console.log(`\n${r.name}: capture ${r.ok ? "done" : `FAILED: ${r.note ?? ""}`}`);
  if (r.record) {
    const { rear27, ours } = r.record.timings;
    const e = r.record.exitCodes;
    console.log(`  rear27 savelayout ${rear27.savelayoutMs ?? "-"} ms (exit ${e.rear27.savelayout ?? "-"}), checklayout ${rear27.checklayoutMs.join("/")} ms (exit ${e.rear27.checklayout.join("/")})`);
    if (ours) console.log(`  ours   capturelayout exit ${e.ours?.capturelayout ?? "-"}, savelayout ${ours.savelayoutMs ?? "-"} ms (exit ${e.ours?.savelayout ?? "-"}), checklayout ${ours.checklayoutMs.join("/") || "-"} ms`);
    for (const n of r.record.notes) console.log(`  note: ${n}`);
    console.log(`  fixture ${r.fixtureDir}`);
  }
  console.log(`  work dir ${r.workDir}`);
}

async function capture(layout: string | undefined, keep: boolean): Promise<number> {
  if (!layout) {
    console.error("usage: bun run test:vm capture --layout NAME|all [--keep]");
    return 2;
  }
  const names = layout === "all" ? allCaptureNames() : [layout];
  const layouts = names.map(resolveLayout); // every name checked before the first build
  let failed = 0;
  for (const l of layouts) {
    const r = await runCapture(l, { keep });
    printCapture(r);
    if (!r.ok) failed++;
  }
  return failed === 0 ? 0 : 1;
}

async function recreate(layout: string | undefined, o: { keep: boolean; rear27: boolean; migrate: boolean }): Promise<number> {
  if (!layout) {
    console.error("usage: bun run test:vm recreate --layout NAME|all [--keep] [--no-rear27] [--no-migrate]");
    return 2;
  }
  const layouts = (layout === "all" ? listLayouts() : layout.split(",")).map(loadLayout); // every name checked before the first guest
  const results = [];
  for (const l of layouts) {
    const r = await runRecreate(l, o);
    printRecreate(r);
    results.push(r);
  }
  if (results.length > 1) {
    console.log("\nlayout               result  ours layoutonly  ReaR 2.7 layoutonly  migration");
    const s = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
    for (const r of results) console.log(`${r.layout.padEnd(20)} ${(r.ok ? "PASS" : "FAIL").padEnd(7)} ${s(r.ours.ms).padStart(15)}  ${s(r.rear27?.ms).padStart(19)}  ${s(r.migration?.ms).padStart(9)}`);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

async function rescue(firmware: string | undefined, o: { rear27: boolean }): Promise<number> {
  const fws: readonly Firmware[] | undefined = firmware === undefined || firmware === "all" ? ["bios", "uefi", "uefi-sb"] : firmware === "bios" || firmware === "uefi" || firmware === "uefi-sb" ? [firmware] : undefined;
  if (!fws) {
    console.error("usage: bun run test:vm rescue [--firmware bios|uefi|uefi-sb|all] [--rear27]");
    return 2;
  }
  let failed = 0;
  for (const f of fws) {
    const r = await runRescue(f, o);
    printRescue(r);
    if (!r.ok) failed++;
  }
  return failed === 0 ? 0 : 1;
}

async function backup(o: { rear27: boolean }): Promise<number> {
  const r = await runBackup(o);
  printBackup(r);
  return r.ok ? 0 : 1;
}

const USAGE =
  "usage: bun run test:vm --scenario NAME|all --tool rear27|ours [--record] [--keep] [--power-cut layout|restore|finalize] | rejudge --run DIR [--record] | capture --layout NAME|all [--keep] | recreate --layout NAME|all [--keep] [--no-rear27] [--no-migrate] | rescue [--firmware bios|uefi|uefi-sb|all] [--rear27] | backup [--rear27] | outputs [--record] | image | smoke | list";

function parseCli(): ReturnType<typeof parseCliStrict> | undefined {
  try {
    return parseCliStrict();
  } catch (e) {
    // an unknown option (--help too) gets the usage, not a stack trace
    console.error(`${(e as Error).message.split("\n")[0]}\n${USAGE}`);
    return undefined;
  }
}

function parseCliStrict() {
  return parseArgs({
    args: Bun.argv.slice(2),
    options: {
      scenario: { type: "string" }, layout: { type: "string" }, tool: { type: "string", default: "ours" }, record: { type: "boolean" }, keep: { type: "boolean" },
      "no-rear27": { type: "boolean" }, "no-migrate": { type: "boolean" }, firmware: { type: "string" }, rear27: { type: "boolean" },
      "power-cut": { type: "string" }, run: { type: "string" },
    },
    allowPositionals: true,
  });
}

async function main(): Promise<number> {
  const cli = parseCli();
  if (!cli) return 2;
  const { values, positionals } = cli;
  const cmd = positionals[0];
  if (cmd === "image") {
    const img = await buildImage();
    console.log(`image ${img.key}: ${img.dir}`);
    return 0;
  }
  if (cmd === "smoke") return smoke();
  if (cmd === "list") {
    for (const n of listScenarios()) console.log(`${n}: ${loadScenario(n).description}`);
    for (const n of listLayouts()) console.log(`layout ${n}: ${loadLayout(n).description}`);
    return 0;
  }
  if (cmd === "rejudge") {
    if (!values.run) {
      console.error("usage: bun run test:vm rejudge --run DIR [--record] [--power-cut PHASE]");
      return 2;
    }
    const dir = values.run.replace(/\/$/, "");
    const prev = JSON.parse(await Bun.file(join(dir, "result.json")).text()) as RunResult;
    const r = rejudge(dir, loadScenario(prev.scenario));
    writeFileSync(join(dir, "result.json"), JSON.stringify(r, null, 2));
    printResult(r);
    for (const c of (r as RunResult & { rejudged?: { changed: string[] } }).rejudged?.changed ?? []) console.log(`  rejudged: ${c}`);
    if (values.record) {
      const pc = values["power-cut"] ?? r.powerCut?.phase;
      const { workDir: _w, ...rec } = r;
      writeFileSync(join(RESULTS, `${r.tool}-${r.scenario}${pc ? `-power-cut-${pc}` : ""}.json`), `${JSON.stringify(rec, null, 2)}\n`);
      writeFileSync(join(RESULTS, "README.md"), renderSummary(RESULTS));
    }
    return r.ok ? 0 : 1;
  }
  if (cmd === "outputs") {
    const r = await runOutputs();
    console.log(renderOutputs(r));
    if (values.record) {
      mkdirSync(join(RESULTS, "outputs"), { recursive: true });
      const { workDir: _w, ...rec } = r;
      writeFileSync(join(RESULTS, "outputs", "mkrescue.json"), `${JSON.stringify(rec, null, 2)}\n`);
      writeFileSync(join(RESULTS, "README.md"), renderSummary(RESULTS));
    }
    const failed = Object.values(r.runs.ours).filter((x) => x.exitCode !== 0).length;
    return failed === 0 ? 0 : 1;
  }
  if (cmd === "rescue") return rescue(values.firmware, { rear27: values.rear27 ?? false });
  if (cmd === "backup") return backup({ rear27: values.rear27 ?? false });
  if (cmd === "capture") return capture(values.layout, values.keep ?? false);
  if (cmd === "recreate") return recreate(values.layout, { keep: values.keep ?? false, rear27: !values["no-rear27"], migrate: !values["no-migrate"] });
  if (!values.scenario) {
    console.error(USAGE);
    return 2;
  }
  const tool = values.tool as Tool;
  if (tool !== "rear27" && tool !== "ours") {
    console.error(`--tool must be rear27 or ours, not '${tool}'`);
    return 2;
  }
  const powerCut = values["power-cut"];
  if (powerCut !== undefined && powerCut !== "layout" && powerCut !== "restore" && powerCut !== "finalize") {
    console.error(`--power-cut must be layout, restore or finalize, not '${powerCut}'`);
    return 2;
  }
  const names = values.scenario === "all" ? listScenarios() : [values.scenario];
  let failed = 0;
  for (const n of names) {
    const s = loadScenario(n);
    const r = await runScenario(s, tool, { keep: values.keep ?? false, ...(powerCut ? { powerCut } : {}) });
    printResult(r);
    if (!r.ok) failed++;
    if (values.record) {
      mkdirSync(RESULTS, { recursive: true });
      const { workDir: _w, ...rec } = r;
      writeFileSync(join(RESULTS, `${tool}-${s.name}${powerCut ? `-power-cut-${powerCut}` : ""}.json`), `${JSON.stringify(rec, null, 2)}\n`);
      writeFileSync(join(RESULTS, "README.md"), renderSummary(RESULTS));
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
