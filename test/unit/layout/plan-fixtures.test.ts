// Plan snapshots: for every fixture machine, the plan that recreates its layout on identical disks
// (plan.json) and its diskrestore.sh, made with a seeded UUID source, must be exactly the reviewed
// files in test/fixtures/machines/<name>/plan/. REAR_UPDATE_FIXTURES=1 rewrites them (review the diff).
// Two migrations are snapshotted too: a GPT NVMe disk onto a 30% bigger SCSI disk, an MBR disk with
// logical partitions onto a 30% bigger one.

import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyMapping, mapDisks, mapFacts } from "../../../src/layout/mapping.ts";
import { activeEntries } from "../../../src/layout/model.ts";
import { buildPlan } from "../../../src/layout/plan/build.ts";
import { renderDiskrestore } from "../../../src/layout/plan/render.ts";
import type { Plan } from "../../../src/layout/plan/types.ts";
import { seededUuids } from "../../../src/layout/plan/uuids.ts";
import { resizeLayout } from "../../../src/layout/resize.ts";
import type { TargetProbe } from "../../../src/layout/targets.ts";
import { FIXTURES, type FixtureMachine, fixtureMachines, loadFixtureMachine } from "./fixture-helpers.ts";

const UPDATE = process.env.REAR_UPDATE_FIXTURES === "1";

function planFor(m: FixtureMachine, targets: TargetProbe): Plan {
  const sources = activeEntries(m.doc).flatMap((e) => (e.kw === "disk" ? [{ device: e.device, sizeBytes: e.sizeBytes, ...(m.facts[e.device] ?? {}) }] : []));
  const mapping = mapDisks(sources, targets.disks);
  expect(mapping.unmapped).toEqual([]);
  const mapped = applyMapping(m.doc, mapping.map);
  const sizes = Object.fromEntries(targets.disks.map((d) => [d.device, { sizeBytes: d.sizeBytes, sectorSize: d.logicalSectorSize }]));
  const resized = resizeLayout(mapped.doc, sizes);
  expect(resized.errors).toEqual([]);
  const lvmCfg = Object.fromEntries(activeEntries(m.doc).flatMap((e) => (e.kw === "lvmgrp" ? [[e.vg.replace(/^\/dev\//, ""), `/var/lib/rear/layout/lvm/${e.vg.replace(/^\/dev\//, "")}.cfg`]] : [])));
  return buildPlan({
    doc: resized.doc,
    facts: mapFacts(m.facts, mapping.map),
    targets,
    mapping: mapping.map,
    wipe: Object.values(mapping.map),
    xfsInfo: mapFacts(m.xfsInfo, mapping.map),
    lvmCfg,
    allowVgcfgrestore: mapping.identical && resized.changes.length === 0,
    uuids: seededUuids(m.name),
    cryptsetupOptions: ["--iter-time", "2000", "--use-random"],
    xfsOptions: () => undefined,
    targetRoot: "/mnt/local",
    workDir: "/var/lib/rear/layout/recreate",
    layoutSha256: "0".repeat(64),
  });
}

function check(name: string, sub: string, plan: Plan): void {
  const dir = join(FIXTURES, name, sub);
  const json = `${JSON.stringify(plan, null, 1)}\n`;
  const script = renderDiskrestore(plan, { hostname: name, layoutFile: "/var/lib/rear/layout/disklayout.conf", version: "test" });
  if (UPDATE || !existsSync(join(dir, "plan.json"))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "plan.json"), json);
    writeFileSync(join(dir, "diskrestore.sh"), script);
    if (!UPDATE) throw new Error(`${dir}: no reviewed plan yet; written now, review and commit it`);
  }
  expect(json).toBe(readFileSync(join(dir, "plan.json"), "utf8"));
  expect(script).toBe(readFileSync(join(dir, "diskrestore.sh"), "utf8"));
}

/** The same machine with its disks renamed and made bigger. */
function migrated(t: TargetProbe, names: Record<string, string>, factor: number): TargetProbe {
  return {
    disks: t.disks.map((d) => ({ ...d, device: names[d.device] ?? d.device, sizeBytes: Math.round((d.sizeBytes * factor) / 2 ** 20) * 2 ** 20, serial: `new-${d.serial ?? ""}`, byId: [], children: [] })),
  };
}

describe("plan snapshots of the fixture machines", () => {
  for (const name of fixtureMachines()) {
    test(`${name}: identical disks`, () => {
      const m = loadFixtureMachine(name);
      const plan = planFor(m, m.targets);
      expect(plan.unhandled).toEqual([]);
      check(name, "plan", plan);
    });
  }
  test("nvme-xfs onto a 30% bigger /dev/sda", () => {
    const m = loadFixtureMachine("nvme-xfs");
    const t = migrated({ disks: m.targets.disks.filter((d) => d.device === "/dev/nvme0n1") }, { "/dev/nvme0n1": "/dev/sda" }, 1.3);
    check("nvme-xfs", "plan-migrated", planFor(m, t));
  });
  test("bios-mbr-logical onto a 30% bigger disk", () => {
    const m = loadFixtureMachine("bios-mbr-logical");
    const t = migrated({ disks: m.targets.disks.filter((d) => d.device === "/dev/vda") }, { "/dev/vda": "/dev/vdb" }, 1.3);
    check("bios-mbr-logical", "plan-migrated", planFor(m, t));
  });
});
