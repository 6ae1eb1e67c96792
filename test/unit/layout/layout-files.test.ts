// The layout files beyond their grammar: ReaR's pre-2.1 lvmvol lines, LUKS passwords kept out of what
// is shown, files written all or nothing with private modes, and reading in linear time.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { showlayout } from "../../../src/cli/commands/showlayout.ts";
import { UserError } from "../../../src/engine/errors.ts";
import { buildDeps, creationOrder } from "../../../src/layout/deps.ts";
import { LayoutSyntaxError, readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { writeDisklayout } from "../../../src/layout/disklayout/write.ts";
import { activeEntries } from "../../../src/layout/model.ts";
import { buildPlan } from "../../../src/layout/plan/build.ts";
import { renderDiskrestore } from "../../../src/layout/plan/render.ts";
import { seededUuids } from "../../../src/layout/plan/uuids.ts";
import { hideTextSecrets } from "../../../src/layout/secrets.ts";
import { renderTree } from "../../../src/layout/show.ts";
import { checkLayout } from "../../../src/layout/validate.ts";
import { StagedFiles, writePrivateFile } from "../../../src/stages/layout/private-files.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const tmp = mkdtempSync(join(tmpdir(), "rear-unit-layout-files."));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("lvmvol lines of ReaR before 2.1 (lvmvol VG LV EXTENTS SECTORS)", () => {
  const OLD = `disk /dev/sda ${40 * GiB} msdos
part /dev/sda ${40 * GiB - MiB} ${MiB} primary lvm /dev/sda1
lvmdev /dev/vg00 /dev/sda1 N4Hpdc-DkBP-Hdm6-Z6FH-VixZ-7tTb-LiRt0w 83881984
lvmgrp /dev/vg00 8192 5119 41934848
lvmvol /dev/vg00 lvroot 2560 41943040 
lvmvol /dev/vg00 lvswap 256 4194304
fs /dev/mapper/vg00-lvroot / ext4 uuid=1 label= options=rw
swap /dev/mapper/vg00-lvswap uuid=2 label=
`;
  test("sized as extents × the group's extent size (what ReaR's lvcreate -l made), linear, and said so once", () => {
    const r = readDisklayout(OLD, "old.conf");
    const lvs = activeEntries(r.doc).filter((e) => e.kw === "lvmvol");
    expect(lvs).toEqual([
      { kw: "lvmvol", vg: "/dev/vg00", lv: "lvroot", sizeBytes: 2560 * 8192 * 1024, layout: "linear", opts: {} },
      { kw: "lvmvol", vg: "/dev/vg00", lv: "lvswap", sizeBytes: 256 * 8192 * 1024, layout: "linear", opts: {} },
    ]);
    expect(r.warnings).toEqual(["old.conf:5: 2 lvmvol lines in the format of ReaR before 2.1 (extents and sectors) read as linear volumes of extents × the group's extent size"]);
    expect(checkLayout(r.doc)).toEqual([]);
    // written back in today's form
    expect(writeDisklayout(r.doc)).toContain(`\nlvmvol /dev/vg00 lvroot ${2560 * 8192 * 1024}b linear\n`);
  });
  test("the lvmgrp line may come after; without one the sectors give the size; without both it is an error", () => {
    const after = readDisklayout("lvmvol /dev/vg00 lv 10 2048\nlvmgrp /dev/vg00 4096 100 409600\n").doc;
    expect(activeEntries(after)[0]).toMatchObject({ sizeBytes: 10 * 4096 * 1024 });
    expect(activeEntries(readDisklayout("lvmvol /dev/vg00 lv 10 2048\n").doc)[0]).toMatchObject({ sizeBytes: 2048 * 512 });
    expect(() => readDisklayout("lvmvol /dev/vg00 lv 10\n", "f")).toThrow(/^f:1: an lvmvol line of ReaR before 2.1 gives 10 extents, but there is no 'lvmgrp \/dev\/vg00/);
  });
  test("the plan makes them with lvcreate -L of that size", () => {
    const r = readDisklayout(OLD);
    const plan = buildPlan({
      doc: r.doc, facts: {}, targets: { disks: [] }, mapping: {}, wipe: [], xfsInfo: {}, lvmCfg: {}, allowVgcfgrestore: false, uuids: seededUuids("x"),
      cryptsetupOptions: [], xfsOptions: () => undefined, targetRoot: "/mnt/local", workDir: "/w", layoutSha256: "0",
    });
    const lv = plan.steps.find((s) => s.action === "lv" && s.argv.includes("lvroot"))!;
    expect(lv.argv).toContain(`${2560 * 8192 * 1024}b`);
  });
  test("today's form is not taken for the old one", () => {
    expect(activeEntries(readDisklayout("lvmvol /dev/vg0 root 3221225472b linear\n").doc)[0]).toMatchObject({ sizeBytes: 3221225472, layout: "linear" });
    expect(() => readDisklayout("lvmvol /dev/vg0 root 3221225472 linear\n")).toThrow(LayoutSyntaxError);
  });
});

describe("LUKS password= stays hidden", () => {
  const FILE = `disk /dev/sda ${2 * GiB} gpt
part /dev/sda ${GiB} ${MiB} root none /dev/sda1
part /dev/sda ${GiB - 2 * MiB} ${GiB + MiB} crypt none /dev/sda2
crypt /dev/mapper/secret /dev/sda2 type=luks2 cipher=aes-xts-plain64 key_size=512 hash=sha256 uuid=u-1 password=TopSecret42
fs /dev/sda1 / ext4 uuid=u-2 label=root options=rw
fs /dev/mapper/secret /secret xfs uuid=u-3 label=s options=rw
`;
  const f = join(tmp, "luks.conf");
  writeFileSync(f, FILE);
  test("showlayout: tree, --json and --format disklayout say password=<hidden>; -e shows it", () => {
    for (const args of [[f], [f, "--json"], [f, "--format", "disklayout"]]) {
      const r = showlayout(args, "/nonexistent", { exposeSecrets: false });
      expect(r.stdout).not.toContain("TopSecret42");
    }
    expect(showlayout([f, "--format", "disklayout"], "/x", { exposeSecrets: false }).stdout).toContain(" password=<hidden>\n");
    expect(showlayout([f, "--json"], "/x", { exposeSecrets: true }).stdout).toContain('"password": "TopSecret42"');
    expect(showlayout([f, "--format", "disklayout"], "/x", { exposeSecrets: true }).stdout).toBe(FILE);
  });
  test("a syntax error quoting the line hides it", () => {
    expect(() => readDisklayout(FILE.replace("uuid=u-1 ", "uuid "), "f")).toThrow(/password=<hidden>/);
    try {
      readDisklayout(FILE.replace("uuid=u-1 ", "uuid "), "f");
    } catch (e) {
      expect((e as Error).message).not.toContain("TopSecret42");
    }
    expect(hideTextSecrets("#opaldisk /dev/sda boot=y password=x'y\"z")).toBe("#opaldisk /dev/sda boot=y password=<hidden>");
  });
  test("neither plan.json nor diskrestore.sh holds it; the passphrase is taken from the layout when needed", () => {
    const doc = readDisklayout(FILE).doc;
    const plan = buildPlan({
      doc, facts: {}, targets: { disks: [{ device: "/dev/sda", sizeBytes: 2 * GiB, logicalSectorSize: 512, readOnly: false, children: [] } as never] }, mapping: { "/dev/sda": "/dev/sda" }, wipe: ["/dev/sda"],
      xfsInfo: {}, lvmCfg: {}, allowVgcfgrestore: false, uuids: seededUuids("x"), cryptsetupOptions: [], xfsOptions: () => undefined, targetRoot: "/mnt/local", workDir: "/w", layoutSha256: "0",
    });
    expect(plan.steps.some((s) => s.action === "luks-format")).toBe(true);
    expect(JSON.stringify(plan)).not.toContain("TopSecret42");
    expect(renderDiskrestore(plan, { hostname: "h", layoutFile: f, version: "t" })).not.toContain("TopSecret42");
  });
});

describe("private files, all or nothing", () => {
  test("0600 files in 0700 directories below the private roots, the directory of a root made private too", () => {
    const root = join(tmp, "var/layout");
    writePrivateFile(`${root}/recreate/done/x`, "a", [root]);
    writePrivateFile(`${root}/diskrestore.sh`, "#!/bin/bash\n", [root], 0o700);
    expect(statSync(`${root}/recreate/done/x`).mode & 0o777).toBe(0o600);
    expect(statSync(`${root}/diskrestore.sh`).mode & 0o777).toBe(0o700);
    for (const d of [root, `${root}/recreate`, `${root}/recreate/done`]) expect(statSync(d).mode & 0o777).toBe(0o700);
  });
  test("nothing replaces the old files until commit; abort leaves them and no temporary file", () => {
    const dir = join(tmp, "staged");
    writePrivateFile(`${dir}/disklayout.conf`, "old layout\n", [dir]);
    writePrivateFile(`${dir}/layout.json`, "{}\n", [dir]);
    const s = new StagedFiles([dir]);
    s.add(`${dir}/layout.json`, '{"new":1}\n');
    s.add(`${dir}/disklayout.conf`, "new layout\n");
    expect(readFileSync(`${dir}/disklayout.conf`, "utf8")).toBe("old layout\n");
    s.abort();
    expect(readFileSync(`${dir}/disklayout.conf`, "utf8")).toBe("old layout\n");
    expect(readFileSync(`${dir}/layout.json`, "utf8")).toBe("{}\n");
    expect(readdirSync(dir).sort()).toEqual(["disklayout.conf", "layout.json"]);
    const t = new StagedFiles([dir]);
    t.add(`${dir}/disklayout.conf`, "new layout\n");
    t.commit();
    expect(readFileSync(`${dir}/disklayout.conf`, "utf8")).toBe("new layout\n");
    expect(readdirSync(dir).sort()).toEqual(["disklayout.conf", "layout.json"]);
  });
  test("a write that fails (a directory where the file goes) leaves the previous file", () => {
    const dir = join(tmp, "fails");
    writePrivateFile(`${dir}/disklayout.conf`, "old\n", [dir]);
    const s = new StagedFiles([dir]);
    s.add(`${dir}/disklayout.conf`, "new\n");
    expect(() => s.add(`${dir}/disklayout.conf/x`, "y")).toThrow();
    s.abort();
    expect(readFileSync(`${dir}/disklayout.conf`, "utf8")).toBe("old\n");
    expect(existsSync(`${dir}/.disklayout.conf.${process.pid}.new`)).toBe(false);
  });
});

describe("reading is linear in the file's size", () => {
  const gen = (n: number, perDisk: number) => {
    const out = ["# generated"];
    for (let p = 0, d = 0; p < n; d++) {
      const cnt = Math.min(perDisk, n - p);
      out.push(`disk /dev/sd${d} ${(cnt + 2) * MiB} gpt`);
      for (let i = 1; i <= cnt; i++, p++) out.push(`part /dev/sd${d} ${MiB} ${i * MiB} rear-noname none /dev/sd${d}p${i}`);
    }
    return `${out.join("\n")}\n`;
  };
  // 22 s for 100 000 partitions on one disk before (a quadratic tree and creation order); now ~1 s (more on a busy machine)
  test("100 000 partitions on one disk: read, checked, ordered and drawn in seconds", () => {
    const text = gen(100_000, 100_000);
    const t0 = performance.now();
    const doc = readDisklayout(text).doc;
    expect(checkLayout(doc)).toEqual([]);
    const g = buildDeps(activeEntries(doc));
    expect(creationOrder(g).length).toBe(100_001);
    expect(renderTree(doc).split("\n").length).toBe(100_001);
    expect(performance.now() - t0).toBeLessThan(15_000);
  }, 60_000);
  test("ten times the lines take well under a hundred times as long", () => {
    const time = (n: number) => {
      const text = gen(n, n);
      const t0 = performance.now();
      const doc = readDisklayout(text).doc;
      checkLayout(doc);
      creationOrder(buildDeps(activeEntries(doc)));
      renderTree(doc);
      return performance.now() - t0;
    };
    time(2000); // warm up the JIT
    const small = Math.max(time(4000), 5);
    const big = time(40_000);
    expect(big / small).toBeLessThan(40);
  }, 60_000);
});

test("showlayout refuses an impossible layout with FILE:LINE as a UserError (exit 1)", () => {
  const f = join(tmp, "overlap.conf");
  writeFileSync(f, `disk /dev/sda ${GiB} gpt\npart /dev/sda ${300 * MiB} ${MiB} a none /dev/sda1\npart /dev/sda ${300 * MiB} ${200 * MiB} b none /dev/sda2\n`);
  expect(() => showlayout([f], "/x")).toThrow(UserError);
  expect(() => showlayout([f], "/x")).toThrow(new RegExp(`^${f}:3: partition /dev/sda2 .* overlaps /dev/sda1`));
});

describe("savelayout writes all or nothing (saveLayoutFiles)", async () => {
  const { saveLayoutFiles } = await import("../../../src/stages/layout/save-layout.ts");
  const { WorkflowError } = await import("../../../src/engine/errors.ts");
  const ctxFor = (varDir: string) =>
    ({
      paths: { varDir },
      workflow: { name: "savelayout" },
      env: {},
      config: { arr: () => [], str: () => "", has: () => false, isTrue: () => false },
      log: { log() {}, logPrint() {}, warn() {}, debug() {}, error() {} },
    }) as never;
  const doc = readDisklayout(`disk /dev/vda ${GiB} msdos\npart /dev/vda ${GiB - MiB} ${MiB} primary boot /dev/vda1\nfs /dev/vda1 / ext4 uuid=1 label= options=rw\n`).doc;
  const saved = (varDir: string, bootloader?: string) => ({
    doc, json: { format: "rear-layout/1", created: "now", host: { hostname: "h" }, lines: doc.lines, facts: {} } as never, excluded: [], probe: { "df.txt": "df\n", "xfs_info/vdb1.txt": "meta-data=…\n" },
    file: `${varDir}/layout/disklayout.conf`, ...(bootloader ? { bootloader } : {}),
  });
  test("every file 0600, every directory 0700", async () => {
    const v = join(tmp, "save-ok");
    await saveLayoutFiles(ctxFor(v), saved(v, "GRUB2"));
    for (const f of ["layout/disklayout.conf", "layout/layout.json", "layout/diskdeps.conf", "layout/disktodo.conf", "layout/config/df.txt", "layout/config/files.md5sum", "layout/xfs/vdb1.xfs", "recovery/bootloader", "recovery/mountpoint_device", "recovery/diskbyid_mappings"]) {
      expect({ f, mode: (statSync(join(v, f)).mode & 0o777).toString(8) }).toEqual({ f, mode: "600" });
    }
    for (const d of ["layout", "layout/config", "layout/xfs", "recovery"]) expect({ d, mode: (statSync(join(v, d)).mode & 0o777).toString(8) }).toEqual({ d, mode: "700" });
    expect(readdirSync(join(v, "layout")).filter((n) => n.startsWith("."))).toEqual([]);
  });
  test("a write that fails halfway (a file where layout/config belongs) keeps the previous disklayout.conf and layout.json", async () => {
    const v = join(tmp, "save-fails");
    writePrivateFile(`${v}/layout/disklayout.conf`, "previous\n", []);
    writePrivateFile(`${v}/layout/layout.json`, "{}\n", []);
    writeFileSync(`${v}/layout/config`, "");
    const err = await saveLayoutFiles(ctxFor(v), saved(v, "GRUB2")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowError);
    expect((err as Error).message).toStartWith(`Cannot write the layout files below ${v}: `);
    expect(readFileSync(`${v}/layout/disklayout.conf`, "utf8")).toBe("previous\n");
    expect(readFileSync(`${v}/layout/layout.json`, "utf8")).toBe("{}\n");
    expect(readdirSync(`${v}/layout`).sort()).toEqual(["config", "disklayout.conf", "layout.json"]);
  });
  test("no boot loader found: refused before the first write", async () => {
    const v = join(tmp, "save-nobl");
    writePrivateFile(`${v}/layout/disklayout.conf`, "previous\n", []);
    await expect(saveLayoutFiles(ctxFor(v), saved(v))).rejects.toThrow("Cannot autodetect what is used as bootloader");
    expect(readdirSync(`${v}/layout`)).toEqual(["disklayout.conf"]);
  });
});
