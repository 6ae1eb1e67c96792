// The VM tier of layout recreation (`run.ts recreate --layout NAME|all`): in one builder guest, the
// layout recipe of test/vm/layouts/NAME.json is made on blank source disks (on their own buses), saved
// with our binary, unmounted with its LVM/MD/LUKS stacks left active, and recreated on the same disks
// with `rear -p -n layoutonly`; the result is saved again and compared on the host with the original.
// Beside the source disks sits a "USB backup disk" (ext4, label REAR-000, the size of the first source
// disk) whose whole-device sha256 and label must come through unchanged. In the same guest ReaR 2.7
// recreates the same layout for a time to compare (test/vm/guest/recreate.sh says how it is made to
// run outside its rescue system), and the layout is migrated onto 30% bigger disks with a mapping file
// after the source disks were wiped (a dead disk).
// The guest side is test/vm/guest/recreate.sh; the comparison is lib/recreate-compare.ts. A result
// JSON per layout goes into the run's work directory ($REAR_VM_CACHE/recreate/NAME-<time>/result.json).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runInBuilder } from "./builder.ts";
import { parseTimings, type Timing } from "./capture.ts";
import type { Job } from "./channel.ts";
import { pruneRuns } from "./cycle.ts";
import { buildImage, CACHE, VM_DIR } from "./image.ts";
import type { Layout } from "./layouts.ts";
import { chooseAccel, createDisk, type VmDisk } from "./qemu.ts";
import { compareRecreated, sourceEntries, type LayoutComparison } from "./recreate-compare.ts";

const DIST = join(VM_DIR, "../../dist/rear");
/** the migration's disks are this much bigger than the source disks */
export const GROWTH = 1.3;

export interface RecreateCheck {
  name: string;
  ok: boolean;
  details: string[];
}

export interface ToolRun {
  exitCode?: number;
  ms?: number;
  /** the recreated layout saved again, against the source layout */
  comparison?: LayoutComparison;
  note?: string;
}

export interface RecreateResult {
  layout: string;
  ok: boolean;
  accel: string;
  startedAt: string;
  oursVersion?: string;
  rearVersion?: string;
  /** the guest's run time, and the job's inside it */
  guestMs?: number;
  jobMs?: number;
  ours: ToolRun & { savelayoutMs?: number };
  rear27?: ToolRun & { savelayoutMs?: number };
  migration?: ToolRun & { mapping?: Record<string, string> };
  checks: RecreateCheck[];
  workDir: string;
}

/** Job: test/vm/guest/recreate.sh with the recipe and our binary. */
export function recreateJob(l: Pick<Layout, "layout" | "sourceDisks">, o: { rear27: boolean; migrate: boolean }): Job {
  return {
    files: {
      "layout.sh": l.layout,
      "recreate.sh": readFileSync(join(VM_DIR, "guest/recreate.sh"), "utf8"),
      "rear-ours": { copy: DIST },
    },
    script: `export NSRC=${l.sourceDisks.length} REAR27=${o.rear27 ? 1 : 0} MIGRATE=${o.migrate ? 1 : 0}\nexec bash ./recreate.sh\n`,
  };
}

const readIn = (dir: string, n: string): string | undefined => (existsSync(join(dir, n)) ? readFileSync(join(dir, n), "utf8") : undefined);

/** `role device` lines of disks.txt: src1 /dev/vdd, usb /dev/vdf, tgt1 /dev/vdg */
function parseDisks(text: string): Record<string, string> {
  return Object.fromEntries(text.split("\n").flatMap((l) => (/^(\S+) (\/dev\/\S+)$/.test(l.trim()) ? [l.trim().split(" ") as [string, string]] : [])));
}

function compareFiles(out: string, beforeFile: string, afterFile: string, others: string[], map?: Record<string, string>): LayoutComparison | string {
  const before = readIn(out, beforeFile);
  const after = readIn(out, afterFile);
  if (!before) return `${beforeFile} is missing`;
  if (!after) return `${afterFile} is missing (the recreated layout was not saved again)`;
  try {
    // the saved source has its own disks and the migration targets as "others"; the result has the
    // source disks as "others" after a migration (they were wiped, but stay attached)
    const b = sourceEntries(before, others, "/target");
    const afterOthers = map ? [...others.filter((d) => !Object.values(map).includes(d)), ...Object.keys(map)] : others;
    const a = sourceEntries(after, afterOthers, "/mnt/local");
    return compareRecreated(b, a, map ? { map } : {});
  } catch (e) {
    return `cannot read the layouts: ${(e as Error).message}`;
  }
}

function comparisonCheck(name: string, c: LayoutComparison | string): RecreateCheck {
  if (typeof c === "string") return { name, ok: false, details: [c] };
  return { name, ok: c.same, details: [`${c.entries} entries compared`, ...c.violations, ...c.removed.map((l) => `- ${l}`), ...c.added.map((l) => `+ ${l}`), ...c.allowed.map((l) => `allowed: ${l}`)] };
}

/** Reads what the guest wrote and decides; pure apart from reading `out`. */
export function evaluate(out: string, result: RecreateResult, o: { rear27: boolean; migrate: boolean }): void {
  const t: Record<string, Timing> = parseTimings(readIn(out, "timings.txt") ?? "");
  const disks = parseDisks(readIn(out, "disks.txt") ?? "");
  const others = (readIn(out, "others.txt") ?? "").split("\n").map((s) => s.trim()).filter(Boolean);
  const tail = (n: string) => (readIn(out, n) ?? "").trim().split("\n").slice(-4).join(" / ");
  result.oursVersion = readIn(out, "ours-version")?.trim();
  result.rearVersion = readIn(out, "rear-version")?.trim();
  const run = (name: string): ToolRun => ({ ...(t[name] ? { exitCode: t[name]!.exitCode, ms: t[name]!.ms } : {}) });

  // ours, onto the same disks
  result.ours = { ...run("ours-layoutonly"), ...(t["ours-savelayout-source"] ? { savelayoutMs: t["ours-savelayout-source"]!.ms } : {}) };
  const saved = t["ours-savelayout-source"];
  result.checks.push({ name: "source layout saved", ok: saved?.exitCode === 0, details: saved?.exitCode === 0 ? [] : [`savelayout exited ${saved?.exitCode ?? "?"}: ${tail("ours/savelayout-source.out")}`] });
  const lo = t["ours-layoutonly"];
  result.checks.push({ name: "layoutonly (same disks)", ok: lo?.exitCode === 0, details: lo?.exitCode === 0 ? [] : [`exited ${lo?.exitCode ?? "- (did not run)"}: ${tail("ours/layoutonly.out")}`] });
  if (lo) {
    const c = compareFiles(out, "ours/source.conf", "ours/after.conf", others);
    if (typeof c !== "string") result.ours.comparison = c;
    result.checks.push(comparisonCheck("recreated = source", c));
  }
  // the backup disk: in no plan, and bit for bit the same at the end
  const usb = disks.usb;
  for (const [dir, name] of [["ours", "same disks"], ["migrate", "migration"]] as const) {
    const plan = readIn(out, `${dir}/plan.json`);
    if (!plan || !usb) continue;
    const touched = plan.includes(`"${usb}`) || new RegExp(`${usb}[p0-9]*[" ]`).test(plan);
    result.checks.push({ name: `backup disk not in the plan (${name})`, ok: !touched, details: touched ? [`${usb} appears in ${dir}/plan.json`] : [] });
  }
  const before = readIn(out, "usb-before.txt")?.trim();
  const after = readIn(out, "usb-after.txt")?.trim();
  const usbOk = !!before && before === after && /^label REAR-000$/m.test(after ?? "");
  result.checks.push({ name: "backup disk unchanged (sha256, label)", ok: usbOk, details: usbOk ? [] : [`before: ${before ?? "-"}`, `after: ${after ?? "-"}`] });

  // ReaR 2.7, for the time (its result is compared too, for the record; it does not decide the verdict)
  if (o.rear27) {
    const s = t["rear27-savelayout"];
    const r = t["rear27-layoutonly"];
    result.rear27 = { ...run("rear27-layoutonly"), ...(s ? { savelayoutMs: s.ms } : {}) };
    if (!s || s.exitCode !== 0) result.rear27.note = `ReaR 2.7's savelayout ${s ? `exited ${s.exitCode}: ${tail("rear27/savelayout.out")}` : "did not run"}`;
    else if (!r) result.rear27.note = "ReaR 2.7's layoutonly did not run";
    else if (r.exitCode !== 0) result.rear27.note = `ReaR 2.7's layoutonly exited ${r.exitCode}: ${tail("rear27/layoutonly.out")}`;
    if (r) {
      const c = compareFiles(out, "ours/source.conf", "rear27/after.conf", others);
      if (typeof c !== "string") result.rear27.comparison = c;
      else result.rear27.note = [result.rear27.note, c].filter(Boolean).join("; ");
    }
  }

  // migration onto bigger disks
  if (o.migrate) {
    const map: Record<string, string> = {};
    for (const [role, dev] of Object.entries(disks)) {
      const m = /^src(\d+)$/.exec(role);
      if (m && disks[`tgt${m[1]}`]) map[dev] = disks[`tgt${m[1]}`]!;
    }
    const m = t["migrate-layoutonly"];
    result.migration = { ...run("migrate-layoutonly"), mapping: map };
    result.checks.push({ name: "layoutonly (30% bigger disks, mapping file)", ok: m?.exitCode === 0, details: m?.exitCode === 0 ? [] : [`exited ${m?.exitCode ?? "- (did not run)"}: ${tail("migrate/layoutonly.out")}`] });
    if (m) {
      const c = compareFiles(out, "ours/source.conf", "migrate/after.conf", others, map);
      if (typeof c !== "string") result.migration.comparison = c;
      result.checks.push(comparisonCheck("migrated = source (grown)", c));
    }
  }
  result.ok = result.checks.every((c) => c.ok);
}

/**
 * One QEMU guest at a time on this machine, whoever starts it (other sessions run the harness too):
 * waits until no qemu-system process is left, polling every 30 s.
 */
async function waitForNoGuest(say: (m: string) => void): Promise<void> {
  let said = false;
  for (;;) {
    const p = Bun.spawnSync(["pgrep", "-f", "qemu-system"]);
    if (p.exitCode !== 0) return;
    if (!said) say(`another QEMU guest is running (PID ${p.stdout.toString().trim().split("\n").join(", ")}): waiting for it to end`);
    said = true;
    await Bun.sleep(30_000);
  }
}

export async function runRecreate(l: Layout, opts: { say?: (m: string) => void; keep?: boolean; rear27?: boolean; migrate?: boolean } = {}): Promise<RecreateResult> {
  const say = opts.say ?? console.log;
  const o = { rear27: opts.rear27 ?? true, migrate: opts.migrate ?? true };
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `npm run build` first");
  const image = await buildImage(say);
  pruneRuns(8, "recreate");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(CACHE, "recreate", `${l.name}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  await waitForNoGuest(say); // chooseAccel may boot a probe guest
  const accel = await chooseAccel(image.kernel, dir, say);
  const result: RecreateResult = { layout: l.name, ok: false, accel, startedAt: new Date().toISOString(), ours: {}, checks: [], workDir: dir };

  // the source disks on their own buses (an NVMe layout names its partitions nvme0n1p1), the backup
  // disk, and the migration's bigger disks
  const disks: VmDisk[] = [];
  for (const [i, d] of l.sourceDisks.entries()) {
    const file = join(dir, `source${i + 1}.img`);
    await createDisk(file, d.sizeMiB);
    disks.push({ file, bus: d.bus, serial: `src${i + 1}` });
  }
  const usb = join(dir, "usb.img");
  await createDisk(usb, l.sourceDisks[0]!.sizeMiB);
  disks.push({ file: usb, bus: "virtio", serial: "usb" });
  if (o.migrate) {
    for (const [i, d] of l.sourceDisks.entries()) {
      const file = join(dir, `target${i + 1}.img`);
      await createDisk(file, Math.round(d.sizeMiB * GROWTH));
      disks.push({ file, bus: d.bus, serial: `tgt${i + 1}` });
    }
  }
  const timeout = 3600;
  await waitForNoGuest(say);
  say(`${l.name}: recreate in a builder guest (${l.sourceDisks.map((d) => `${d.sizeMiB} MiB ${d.bus}`).join(", ")}; ReaR 2.7 ${o.rear27 ? "too" : "not"}; migration ${o.migrate ? `onto ${GROWTH}x disks` : "no"})`);
  const r = await runInBuilder({ image, dir, name: "recreate", accel, timeoutSec: timeout, say, job: recreateJob(l, o), extraDisks: disks, outSizeMiB: 256 });
  writeFileSync(join(dir, "recreate.log"), r.job.log);
  result.guestMs = r.vm.durationMs;
  if (r.job.jobMs !== undefined) result.jobMs = r.job.jobMs;
  if (r.job.exitCode === undefined) {
    result.checks.push({ name: "guest job", ok: false, details: [r.vm.timedOut ? `the guest did not finish in ${timeout} s (see ${dir}/recreate.serial.log)` : `no results from the guest (see ${dir}/recreate.serial.log)`] });
  } else {
    if (r.job.exitCode !== 0) result.checks.push({ name: "guest job", ok: false, details: [`exited ${r.job.exitCode}: ${r.job.log.trim().split("\n").slice(-3).join(" / ")}`] });
    evaluate(r.job.dir, result, o);
  }
  result.ok = result.checks.length > 0 && result.checks.every((c) => c.ok);
  writeFileSync(join(dir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  if (!opts.keep) {
    for (const f of readdirSync(dir).filter((f) => /\.img$|-root\.qcow2$/.test(f))) rmSync(join(dir, f), { force: true });
    // the job's input holds our binary twice (staged and in the tar)
    for (const f of ["recreate/in", "recreate/harness-in.img"]) rmSync(join(dir, f), { recursive: true, force: true });
  }
  return result;
}

export function printRecreate(r: RecreateResult): void {
  const s = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
  console.log(`\n${r.layout}: ${r.ok ? "PASS" : "FAIL"} (${r.accel}; guest ${s(r.guestMs)})`);
  console.log(`  ours     layoutonly ${s(r.ours.ms)} (exit ${r.ours.exitCode ?? "-"}), savelayout ${s(r.ours.savelayoutMs)}`);
  if (r.rear27) console.log(`  ReaR 2.7 layoutonly ${s(r.rear27.ms)} (exit ${r.rear27.exitCode ?? "-"}), savelayout ${s(r.rear27.savelayoutMs)}${r.rear27.comparison ? `; its result ${r.rear27.comparison.same ? "= source" : `differs in ${r.rear27.comparison.removed.length + r.rear27.comparison.added.length} lines`}` : ""}${r.rear27.note ? `; ${r.rear27.note}` : ""}`);
  if (r.migration) console.log(`  migrate  layoutonly ${s(r.migration.ms)} (exit ${r.migration.exitCode ?? "-"}) ${Object.entries(r.migration.mapping ?? {}).map(([a, b]) => `${a}=>${b}`).join(" ")}`);
  for (const c of r.checks) {
    console.log(`  check ${c.name.padEnd(44)} ${c.ok ? "ok" : "FAIL"}`);
    const n = c.ok ? 8 : 16;
    for (const d of c.details.slice(0, n)) console.log(`        ${d}`);
    if (c.details.length > n) console.log(`        … ${c.details.length - n} more in result.json`);
  }
  console.log(`  work dir ${r.workDir}`);
}
