// Layout extraction on what real machines printed (test/fixtures/machines/<name>/, captured in VM guests
// by `bun test/vm/run.ts capture`): probe/ is our probes' raw output, rear27/ what ReaR 2.7 saved on the
// same machine at the same moment. Our disklayout.conf must have the same entries as ReaR's, except for
// the deliberate differences listed in test/fixtures/machines/DIFFERENCES.md; ReaR's file must read and
// write back byte for byte; no single missing probe output may crash extraction.

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { entryLine, writeDisklayout } from "../../../src/layout/disklayout/write.ts";
import { applyExclusions } from "../../../src/layout/exclude.ts";
import { extractLayout } from "../../../src/layout/extract/index.ts";
import { allEntries, type Entry, type LayoutDoc } from "../../../src/layout/model.ts";
import { readProbeDir } from "../../../src/layout/probe/collect.ts";
import { EXCLUSION_DEFAULTS } from "./fixture-helpers.ts";

const DIR = join(import.meta.dir, "../../fixtures/machines");


/** The deliberate differences (DIFFERENCES.md), applied to ReaR's entries before comparing. */
function asWeWriteIt(e: Entry, probe: Record<string, string>): Entry {
  if (e.kw === "fs" && e.fstype === "btrfs" && /^'.*'$/.test(e.opts.label ?? "")) return { ...e, opts: { ...e.opts, label: e.opts.label!.slice(1, -1) } };
  // the array's own name, homehost:name (mdadm --detail's "Name :"), instead of a /dev/md/NAME link's or none
  if (e.kw === "raidarray") {
    const held = /^\s*Name\s*:\s*(\S+)/m.exec(probe[`mdadm/${e.device.replace(/^\/dev\//, "")}.txt`] ?? "")?.[1];
    if (held && held.includes(":")) {
      // where we write it: after devices=
      const opts: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.opts)) {
        if (k === "name") continue;
        opts[k] = v as string;
        if (k === "devices") opts.name = held;
      }
      return { ...e, opts } as Entry;
    }
  }
  return e;
}

function lines(doc: LayoutDoc, disabled: boolean, fix?: Record<string, string>): string[] {
  return allEntries(doc)
    .filter((x) => x.disabled === disabled)
    .map((x) => entryLine(fix ? asWeWriteIt(x.entry, fix) : x.entry))
    .sort();
}


const machines = existsSync(DIR) ? readdirSync(DIR).filter((n) => existsSync(join(DIR, n, "rear27/layout/disklayout.conf"))).sort() : [];
/** machines ReaR cannot describe (loop disks): our own reviewed output is the expectation */
const own = existsSync(DIR) ? readdirSync(DIR).filter((n) => existsSync(join(DIR, n, "expected/disklayout.conf"))).sort() : [];

describe("layout fixtures from real machines", () => {
  test("there are fixtures", () => {
    expect(machines.length).toBeGreaterThan(0);
  });
  for (const name of machines) {
    const rearFile = join(DIR, name, "rear27/layout/disklayout.conf");
    const rearText = readFileSync(rearFile, "utf8");
    test(`${name}: ReaR 2.7's disklayout.conf reads and writes back byte for byte`, () => {
      const { doc, warnings } = readDisklayout(rearText, rearFile);
      expect(warnings).toEqual([]);
      expect(writeDisklayout(doc)).toBe(rearText);
    });
    const probeDir = join(DIR, name, "probe");
    if (!existsSync(probeDir)) continue;
    const probe = readProbeDir(probeDir);
    test(`${name}: our entries are ReaR 2.7's`, () => {
      const ex = extractLayout(probe, { dated: "20260101000000" });
      expect(ex.problems.filter((p) => p.level === "error")).toEqual([]);
      const ours = applyExclusions(ex.doc, EXCLUSION_DEFAULTS).doc;
      const theirs = readDisklayout(rearText, rearFile).doc;
      expect(lines(ours, false)).toEqual(lines(theirs, false, probe));
      expect(lines(ours, true)).toEqual(lines(theirs, true, probe));
    });
    test(`${name}: without any one probe output, extraction still completes`, () => {
      for (const key of Object.keys(probe)) {
        const partial = { ...probe };
        delete partial[key];
        const ex = extractLayout(partial, { dated: "20260101000000" });
        expect(ex.doc.lines.length).toBeGreaterThan(0);
      }
    });
  }
  for (const name of own) {
    const opts = existsSync(join(DIR, name, "options.json")) ? (JSON.parse(readFileSync(join(DIR, name, "options.json"), "utf8")) as { includeLoop?: boolean }) : {};
    const probe = readProbeDir(join(DIR, name, "probe"));
    const expected = readDisklayout(readFileSync(join(DIR, name, "expected/disklayout.conf"), "utf8")).doc;
    test(`${name}: our entries are the reviewed expected ones`, () => {
      const ex = extractLayout(probe, { dated: "20260101000000", includeLoop: opts.includeLoop === true });
      const ours = applyExclusions(ex.doc, EXCLUSION_DEFAULTS).doc;
      expect(lines(ours, false)).toEqual(lines(expected, false));
      expect(lines(ours, true)).toEqual(lines(expected, true));
    });
    test(`${name}: without any one probe output, extraction still completes`, () => {
      for (const key of Object.keys(probe)) {
        const partial = { ...probe };
        delete partial[key];
        expect(extractLayout(partial, { dated: "20260101000000", includeLoop: opts.includeLoop === true }).doc.lines.length).toBeGreaterThan(0);
      }
    });
  }
});

describe("ours-disklayout.conf of each machine is what this version writes", () => {
  // the VM capture writes it with the binary of the day; a later change of the extraction must refresh it
  // (it was left stale once: luks2-lvm's had no lvmvol lines)
  for (const name of existsSync(DIR) ? readdirSync(DIR).filter((n) => existsSync(join(DIR, n, "ours-disklayout.conf")) && existsSync(join(DIR, n, "probe"))).sort() : []) {
    test(name, () => {
      const file = join(DIR, name, "ours-disklayout.conf");
      const now = applyExclusions(extractLayout(readProbeDir(join(DIR, name, "probe")), { dated: "20260101000000" }).doc, EXCLUSION_DEFAULTS).doc;
      const saved = readDisklayout(readFileSync(file, "utf8"), file).doc;
      expect(lines(saved, false)).toEqual(lines(now, false));
      expect(lines(saved, true)).toEqual(lines(now, true));
    });
  }
});
