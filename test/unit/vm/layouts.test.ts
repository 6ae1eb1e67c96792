import { describe, expect, test } from "bun:test";
import { parseTimings, writeFixture } from "../../vm/lib/capture.ts";
import { allCaptureNames, listLayouts, loadLayout, parseLayout, resolveLayout } from "../../vm/lib/layouts.ts";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

describe("VM layouts are data files that validate against the schema", () => {
  test("every file in test/vm/layouts", () => {
    const names = listLayouts();
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const n of names) expect(loadLayout(n).name).toBe(n);
  });
  test("the layouts cover thin LVM, RAID1, LUKS2, btrfs subvolumes, NVMe and logical partitions", () => {
    const all = listLayouts().map(loadLayout);
    const has = (re: RegExp) => all.some((l) => re.test(l.layout));
    expect(has(/--type thin-pool/)).toBe(true);
    expect(has(/--level=1/)).toBe(true);
    expect(has(/luksFormat[^\n]*--type luks2/)).toBe(true);
    expect(has(/btrfs subvolume create/)).toBe(true);
    expect(has(/mkpart logical/)).toBe(true);
    expect(all.some((l) => l.sourceDisks.some((d) => d.bus === "nvme"))).toBe(true);
  });
  test("capture takes a scenario's name too, and `all` names every layout and the baseline scenarios", () => {
    const s = resolveLayout("bios-lvm");
    expect(s).toMatchObject({ name: "bios-lvm", firmware: "bios" });
    expect(s.layout).toContain("lvcreate");
    expect(allCaptureNames()).toEqual([...listLayouts(), "bios-ext4-swap", "bios-lvm", "uefi-ext4"]);
    expect(() => resolveLayout("no-such-machine")).toThrow(/no layout or scenario/);
  });
  const good = { name: "x", description: "d", firmware: "uefi", sourceDisks: [{ sizeMiB: 1024 }], layout: "true" };
  test("defaults are filled in, mistakes are reported with their path", () => {
    const l = parseLayout(JSON.stringify(good));
    expect(l.sourceDisks[0]!.bus).toBe("virtio");
    expect(l.timeouts).toEqual({});
    expect(() => parseLayout(JSON.stringify({ ...good, firmware: "coreboot" }))).toThrow(/firmware/);
    expect(() => parseLayout(JSON.stringify({ ...good, sourceDisks: [{ sizeMiB: 1024, bus: "ide" }] }))).toThrow(/sourceDisks\.0\.bus/);
    expect(() => parseLayout(JSON.stringify({ ...good, tool: {} }))).toThrow(/tool|Unrecognized/);
    expect(() => parseLayout(JSON.stringify(good), "/x/other-name.json")).toThrow(/must match the file name/);
  });
});

describe("layout capture results", () => {
  test("timings.txt lines", () => {
    expect(parseTimings("rear27-savelayout 0 5120\nrear27-checklayout-1 1 4000\njunk\n")).toEqual({
      "rear27-savelayout": { exitCode: 0, ms: 5120 },
      "rear27-checklayout-1": { exitCode: 1, ms: 4000 },
    });
  });
  test("a fixture keeps expected* files, drops a big log and records exit codes and timings", () => {
    const tmp = mkdtempSync("/tmp/rear-test-capture.");
    const out = join(tmp, "out");
    const fx = join(tmp, "fixture");
    mkdirSync(join(out, "rear27", "layout"), { recursive: true });
    mkdirSync(join(out, "guest"), { recursive: true });
    mkdirSync(join(out, "probe"), { recursive: true });
    mkdirSync(join(fx, "rear27"), { recursive: true });
    writeFileSync(join(fx, "expected-disklayout.conf"), "kept\n");
    writeFileSync(join(fx, "rear27", "stale"), "gone\n");
    writeFileSync(join(out, "rear27", "layout", "disklayout.conf"), "disk /dev/vda 6442450944 msdos\n");
    writeFileSync(join(out, "rear27", "rear-savelayout.log"), "x".repeat(300 * 1024));
    writeFileSync(join(out, "guest", "fstab"), "UUID=1 / ext4 defaults 0 1\n");
    writeFileSync(join(out, "kernel"), "6.1.0-test\n");
    writeFileSync(join(out, "rear-version"), "Relax-and-Recover 2.7 / Git\n");
    writeFileSync(join(out, "timings.txt"), "rear27-savelayout 0 100\nrear27-checklayout-1 0 50\nrear27-checklayout-2 0 60\nrear27-checklayout-3 0 70\nours-capturelayout 3 20\nours-savelayout 3 21\n");
    const l = parseLayout(JSON.stringify({ name: "x", description: "d", firmware: "bios", sourceDisks: [{ sizeMiB: 1024, bus: "scsi" }], layout: "true" }));
    const r = writeFixture(l, out, "tcg", fx);
    expect(readFileSync(join(fx, "expected-disklayout.conf"), "utf8")).toBe("kept\n");
    expect(existsSync(join(fx, "rear27", "stale"))).toBe(false);
    expect(existsSync(join(fx, "rear27", "rear-savelayout.log"))).toBe(false);
    expect(readFileSync(join(fx, "rear27", "layout", "disklayout.conf"), "utf8")).toContain("disk /dev/vda");
    expect(existsSync(join(fx, "probe"))).toBe(false);
    expect(r).toMatchObject({
      layout: "x", firmware: "bios", buses: ["scsi"], kernel: "6.1.0-test", probe: false,
      timings: { rear27: { savelayoutMs: 100, checklayoutMs: [50, 60, 70] }, ours: { capturelayoutMs: 20, savelayoutMs: 21, checklayoutMs: [] } },
      exitCodes: { rear27: { savelayout: 0, checklayout: [0, 0, 0] }, ours: { capturelayout: 3, savelayout: 3 } },
    });
    expect(JSON.parse(readFileSync(join(fx, "capture.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(r)));
    rmSync(tmp, { recursive: true });
  });
});
