// Disk mapping (migration) and autoresize: pure functions over layout entries and the disks of now.

import { describe, expect, test } from "bun:test";
import { readDisklayout } from "../../../../src/layout/disklayout/read.ts";
import { entryLine } from "../../../../src/layout/disklayout/write.ts";
import { applyMapping, mapDisks, MappingFileError, mapFacts, parseDiskMappings, type SourceDisk } from "../../../../src/layout/mapping.ts";
import { activeEntries, allEntries } from "../../../../src/layout/model.ts";
import { bytesNeededFor, DEFAULT_RESIZE, minimumDiskBytes, resizeLayout, usableEnd } from "../../../../src/layout/resize.ts";
import { parseDfUsed } from "../../../../src/layout/extract/fs.ts";
import type { TargetDisk } from "../../../../src/layout/targets.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function disk(device: string, sizeBytes: number, more: Partial<TargetDisk> = {}): TargetDisk {
  return { device, sizeBytes, logicalSectorSize: 512, readOnly: false, removable: false, byId: [], mountpoints: [], children: [], ...more };
}
const src = (device: string, sizeBytes: number, more: Partial<SourceDisk> = {}): SourceDisk => ({ device, sizeBytes, ...more });

describe("mapDisks", () => {
  test("the same disks under the same names and sizes: identical, identity mapping", () => {
    const m = mapDisks([src("/dev/sda", 10 * GiB)], [disk("/dev/sda", 10 * GiB), disk("/dev/sdb", 20 * GiB)]);
    expect(m.identical).toBe(true);
    expect(m.map).toEqual({ "/dev/sda": "/dev/sda" });
    expect(m.how["/dev/sda"]).toBe("name and size");
  });
  test("two saved disks of one size without identities: not identical (ReaR's ambiguity rule), still mapped by name", () => {
    const m = mapDisks([src("/dev/vda", GiB), src("/dev/vdb", GiB)], [disk("/dev/vda", GiB), disk("/dev/vdb", GiB)]);
    expect(m.identical).toBe(false);
    expect(m.differences.join()).toContain("nothing identifies");
    expect(m.map).toEqual({ "/dev/vda": "/dev/vda", "/dev/vdb": "/dev/vdb" });
  });
  test("the same disks found by serial although the kernel swapped their names", () => {
    const m = mapDisks(
      [src("/dev/sda", GiB, { serial: "AAA" }), src("/dev/sdb", GiB, { serial: "BBB" })],
      [disk("/dev/sda", GiB, { serial: "BBB" }), disk("/dev/sdb", GiB, { serial: "AAA" })],
    );
    expect(m.map).toEqual({ "/dev/sda": "/dev/sdb", "/dev/sdb": "/dev/sda" });
    expect(m.how["/dev/sda"]).toBe("identity");
  });
  test("path-based by-id links do not count as identity", () => {
    const m = mapDisks([src("/dev/sda", GiB, { byId: ["pci-0000:00:1f.2-ata-1"] })], [disk("/dev/sdx", 2 * GiB, { byId: ["pci-0000:00:1f.2-ata-1"] }), disk("/dev/sdy", 2 * GiB)]);
    expect(m.how["/dev/sda"]).toBeUndefined();
    expect(m.unmapped).toEqual(["/dev/sda"]);
  });
  test("a disk of the same size under another name (sda → nvme0n1)", () => {
    const m = mapDisks([src("/dev/sda", 8 * GiB)], [disk("/dev/nvme0n1", 8 * GiB), disk("/dev/nvme1n1", 16 * GiB)]);
    expect(m.identical).toBe(false);
    expect(m.map).toEqual({ "/dev/sda": "/dev/nvme0n1" });
    expect(m.how["/dev/sda"]).toBe("size");
  });
  test("the only disk big enough is taken; two candidates are left to the user", () => {
    expect(mapDisks([src("/dev/sda", 8 * GiB)], [disk("/dev/sdb", 4 * GiB), disk("/dev/sdc", 12 * GiB)]).map).toEqual({ "/dev/sda": "/dev/sdc" });
    const m = mapDisks([src("/dev/sda", 8 * GiB)], [disk("/dev/sdb", 10 * GiB), disk("/dev/sdc", 12 * GiB)]);
    expect(m.unmapped).toEqual(["/dev/sda"]);
  });
  test("two disks in the other order and of other sizes: the one assignment where each fits is taken", () => {
    const min = (s: SourceDisk) => Math.floor(s.sizeBytes * 0.98);
    const m = mapDisks([src("/dev/vda", 6 * GiB), src("/dev/vdb", 2 * GiB)], [disk("/dev/vda", 2.5 * GiB), disk("/dev/vdb", 6.5 * GiB)], { minSize: min });
    expect(m.map).toEqual({ "/dev/vda": "/dev/vdb", "/dev/vdb": "/dev/vda" });
    expect(m.how["/dev/vda"]).toBe("only fit");
    // two ways to fit: left to the user
    const a = mapDisks([src("/dev/vda", 6 * GiB), src("/dev/vdb", 2 * GiB)], [disk("/dev/vda", 7 * GiB), disk("/dev/vdb", 8 * GiB)], { minSize: min });
    expect(a.unmapped).toEqual(["/dev/vda", "/dev/vdb"]);
  });
  test("one saved disk and one disk left that is too small: mapped, so that the resize says how big a disk must be", () => {
    const m = mapDisks([src("/dev/sda", 8 * GiB)], [disk("/dev/sdb", 4 * GiB)], { minSize: (s) => s.sizeBytes });
    expect(m.map).toEqual({ "/dev/sda": "/dev/sdb" });
    // a protected disk is still never taken
    const p = mapDisks([src("/dev/sda", 8 * GiB)], [disk("/dev/sdb", 4 * GiB)], { minSize: (s) => s.sizeBytes, protected: new Map([["/dev/sdb", "holds the backup"]]) });
    expect(p.unmapped).toEqual(["/dev/sda"]);
  });
  test("the mapping file comes first; read-only disks are never candidates", () => {
    const m = mapDisks([src("/dev/sda", GiB)], [disk("/dev/sda", GiB), disk("/dev/sdb", GiB)], { userMap: { "/dev/sda": "/dev/sdb" } });
    expect(m.map).toEqual({ "/dev/sda": "/dev/sdb" });
    expect(m.how["/dev/sda"]).toBe("mapping file");
    // the disks look the same, but the file moves one: a migration (mapping shown, no vgcfgrestore)
    expect(m.identical).toBe(false);
    expect(m.differences).toContain("the mapping file puts /dev/sda on /dev/sdb");
    expect(mapDisks([src("/dev/sda", GiB)], [disk("/dev/sdb", GiB, { readOnly: true })]).unmapped).toEqual(["/dev/sda"]);
  });
});

describe("the mapping file", () => {
  test("pairs, comments and blank lines", () => {
    expect(parseDiskMappings("# saved now\n/dev/sda /dev/vdb\n\n/dev/sdb   /dev/vda # swapped\n", "m")).toEqual({ "/dev/sda": "/dev/vdb", "/dev/sdb": "/dev/vda" });
  });
  test("errors name the file and line", () => {
    expect(() => parseDiskMappings("/dev/sda\n", "/etc/rear/mappings/disk_mappings")).toThrow("/etc/rear/mappings/disk_mappings:1: expected");
    expect(() => parseDiskMappings("/dev/sda /dev/sdb\n/dev/sdc /dev/sdb\n", "f")).toThrow("f:2: /dev/sdb is the target of two disks");
    expect(() => parseDiskMappings("sda sdb\n", "f")).toThrow(MappingFileError);
  });
});

const LAYOUT = `disk /dev/sda 8589934592 gpt
part /dev/sda 536870912 1048576 ESP boot,esp /dev/sda1
part /dev/sda 8049917952 537919488 root none /dev/sda2
disk /dev/sdb 4294967296 msdos
part /dev/sdb 4293918720 1048576 primary none /dev/sdb1
lvmdev /dev/vg /dev/sdb1 uuid-1 8386560
lvmgrp /dev/vg 4096 1023 4190208
lvmvol /dev/vg data 4290772992b linear
fs /dev/sda1 /boot/efi vfat uuid=AAAA-BBBB label=EFI options=rw
fs /dev/sda2 / ext4 uuid=1111 label=root options=rw
fs /dev/mapper/vg-data /data xfs uuid=2222 label=data options=rw
`;

describe("applyMapping", () => {
  test("sda → nvme0n1 renames partitions the NVMe way; an unmapped disk is commented out with everything on it", () => {
    const { doc } = readDisklayout(LAYOUT);
    const r = applyMapping(doc, { "/dev/sda": "/dev/nvme0n1" }, ["/dev/sdb"]);
    const active = activeEntries(r.doc).map((e) => entryLine(e));
    expect(active).toContain("part /dev/nvme0n1 8049917952 537919488 root none /dev/nvme0n1p2");
    expect(active).toContain("fs /dev/nvme0n1p2 / ext4 uuid=1111 label=root options=rw");
    expect(active.some((l) => l.includes("sdb") || l.includes("vg"))).toBe(false);
    expect(allEntries(r.doc).filter((e) => e.disabled).length).toBe(6);
  });
  test("a swap of names is safe (each name is mapped once)", () => {
    const { doc } = readDisklayout(LAYOUT);
    const r = applyMapping(doc, { "/dev/sda": "/dev/sdb", "/dev/sdb": "/dev/sda" });
    const lines = activeEntries(r.doc).map((e) => entryLine(e));
    expect(lines).toContain("fs /dev/sdb2 / ext4 uuid=1111 label=root options=rw");
    expect(lines).toContain("lvmdev /dev/vg /dev/sda1 uuid-1 8386560");
  });
  test("facts follow their component", () => {
    expect(mapFacts({ "/dev/sda2": { partuuid: "x" }, "fs:/": { a: 1 } }, { "/dev/sda": "/dev/nvme0n1" })).toEqual({ "/dev/nvme0n1p2": { partuuid: "x" }, "fs:/": { a: 1 } });
  });
});

describe("resizeLayout", () => {
  const target = (sizeBytes: number) => ({ "/dev/sda": { sizeBytes, sectorSize: 512 } });
  const part2 = (r: ReturnType<typeof resizeLayout>) => activeEntries(r.doc).find((e) => e.kw === "part" && e.device === "/dev/sda2") as { sizeBytes: number; startBytes: number };
  const doc = () => readDisklayout(LAYOUT).doc;

  test("a disk 30% bigger: the last partition grows to the last MiB before the GPT backup", () => {
    const r = resizeLayout(doc(), target(Math.round(8 * GiB * 1.3)));
    expect(r.errors).toEqual([]);
    const p = part2(r);
    expect(p.startBytes).toBe(537919488);
    expect((p.startBytes + p.sizeBytes) % MiB).toBe(0);
    expect(p.startBytes + p.sizeBytes).toBeLessThanOrEqual(usableEnd("gpt", Math.round(8 * GiB * 1.3), 512));
    expect(r.changes).toHaveLength(1);
  });
  test("a disk 5% bigger: under the 10% threshold, nothing changes", () => {
    const r = resizeLayout(doc(), target(Math.round(8 * GiB * 1.05)));
    expect(r.changes).toEqual([]);
    expect(r.notes.join()).toContain("AUTOINCREASE_DISK_SIZE_THRESHOLD_PERCENTAGE=10");
  });
  test("a disk 1% smaller: the last partition shrinks to fit", () => {
    const size = Math.round(8 * GiB * 0.99);
    const r = resizeLayout(doc(), target(size));
    expect(r.errors).toEqual([]);
    const p = part2(r);
    expect(p.startBytes + p.sizeBytes).toBeLessThanOrEqual(usableEnd("gpt", size, 512));
  });
  test("a disk 5% smaller: refused, saying how much is needed", () => {
    const r = resizeLayout(doc(), target(Math.round(8 * GiB * 0.95)));
    expect(r.errors.join()).toMatch(/smaller than the saved disk, more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=2 allows: it needs at least 8191 MiB/);
  });
  test("a disk 5% smaller whose data fits: the last partition shrinks although the limit is 2% (the usage is known)", () => {
    const size = Math.round(8 * GiB * 0.95);
    const r = resizeLayout(doc(), target(size), DEFAULT_RESIZE, { "/dev/sda2": 2 * GiB });
    expect(r.errors).toEqual([]);
    expect(part2(r).startBytes + part2(r).sizeBytes).toBeLessThanOrEqual(usableEnd("gpt", size, 512));
    expect(r.notes.join()).toMatch(/more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=2, but the 2048 MiB in use on \/dev\/sda2 \(\/\) fit in \d+ MiB: it shrinks/);
  });
  test("a disk too small for the data: refused before anything, with the size of disk needed", () => {
    const r = resizeLayout(doc(), target(3 * GiB), DEFAULT_RESIZE, { "/dev/sda2": 4 * GiB });
    const need = bytesNeededFor(4 * GiB);
    expect(need).toBe(Math.ceil((4 * GiB * 1.1 + 128 * MiB) / MiB) * MiB);
    const disk = Math.ceil((537919488 + need + 512 + 16384) / MiB);
    expect(r.errors).toEqual([`/dev/sda is too small for the data: /dev/sda2 (/) holds 4096 MiB and needs at least ${need / MiB} MiB, it would get 2558 MiB; the disk needs at least ${disk} MiB`]);
    // within the 2% limit too: the data decides
    const r2 = resizeLayout(doc(), target(Math.round(8 * GiB * 0.99)), DEFAULT_RESIZE, { "/dev/sda2": Math.round(7.5 * GiB) });
    expect(r2.errors.join()).toContain("too small for the data");
  });
  test("minimumDiskBytes: the percentage limit, or the data's room when known; an excluded last partition cannot shrink", () => {
    expect(minimumDiskBytes(doc(), "/dev/sda")).toBe(Math.floor(8 * GiB * 0.98));
    expect(minimumDiskBytes(doc(), "/dev/sda", DEFAULT_RESIZE, { "/dev/sda2": GiB })).toBe(537919488 + bytesNeededFor(GiB) + 512 + 16384);
    const { doc: d } = readDisklayout("disk /dev/sda 8589934592 gpt\npart /dev/sda 4294967296 1048576 root none /dev/sda1\npart /dev/sda 1073741824 4296015872 rear-noname swap /dev/sda2\nswap /dev/sda2 uuid=x label=swap\n");
    expect(minimumDiskBytes(d, "/dev/sda")).toBe(4296015872 + 1073741824 + 512 + 16384);
  });
  describe("the last partition holds LVM (bios-lvm's kind of disk)", () => {
    // /boot 512 MiB, the rest a PV of vg0 (4 MiB extents) with swap 512 MiB and root 6 GiB
    const LVM = `disk /dev/sda 8589934592 msdos
part /dev/sda 536870912 1048576 primary boot /dev/sda1
part /dev/sda 8051965952 537919488 primary lvm /dev/sda2
lvmdev /dev/vg0 /dev/sda2 uuid-1 15726496
lvmgrp /dev/vg0 4096 1919 7860224
lvmvol /dev/vg0 swap 536870912b linear
lvmvol /dev/vg0 root 6442450944b linear
fs /dev/sda1 /boot ext4 uuid=b label=boot options=rw
fs /dev/mapper/vg0-root / ext4 uuid=r label=root options=rw
swap /dev/mapper/vg0-swap uuid=s label=swap
`;
    const lvmDoc = () => readDisklayout(LVM).doc;
    const used = { "/dev/mapper/vg0-root": 2 * GiB };
    test("5% smaller: the volumes still fit at their sizes, the PV's partition shrinks past the 2%", () => {
      const r = resizeLayout(lvmDoc(), target(Math.round(8 * GiB * 0.95)), DEFAULT_RESIZE, used);
      expect(r.errors).toEqual([]);
      expect(r.notes.join()).toMatch(/more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=2, but the logical volumes of vg0 and their data fit on \/dev\/sda2 shrunk to \d+ MiB: it shrinks/);
      expect(r.changes.map((c) => c.partition)).toEqual(["/dev/sda2"]);
    });
    test("20% smaller: root no longer fits at its size, takes what is left, and its 2 GiB of data fit", () => {
      const r = resizeLayout(lvmDoc(), target(Math.round(8 * GiB * 0.8)), DEFAULT_RESIZE, used);
      expect(r.errors).toEqual([]);
      expect(r.notes.join()).toContain("vg0/root takes what is left, and the 2048 MiB in use on it fit");
    });
    test("70% smaller: refused before anything, naming the volume, its data and the disk size needed", () => {
      const r = resizeLayout(lvmDoc(), target(Math.round(8 * GiB * 0.3)), DEFAULT_RESIZE, used);
      expect(r.errors.join()).toMatch(/^\/dev\/sda is too small for the data: \/dev\/sda2 would get \d+ MiB, but vg0\/root holds 2048 MiB and needs at least 2381 MiB; \/dev\/sda2 needs at least \d+ MiB; the disk needs at least \d+ MiB$/);
      // and the size it names is enough
      const need = Number(/the disk needs at least (\d+) MiB/.exec(r.errors[0]!)![1]) * MiB;
      expect(resizeLayout(lvmDoc(), target(need), DEFAULT_RESIZE, used).errors).toEqual([]);
      expect(minimumDiskBytes(lvmDoc(), "/dev/sda", DEFAULT_RESIZE, used)).toBeLessThanOrEqual(need);
    });
    test("usage not known (an older layout) and the volumes do not fit: refused, saying so", () => {
      const r = resizeLayout(lvmDoc(), target(Math.round(8 * GiB * 0.8)), DEFAULT_RESIZE, {});
      expect(r.errors.join()).toContain("how much of vg0/root is in use is not known");
    });
  });
  test("parseDfUsed: df -Pl -BM, mount points with blanks", () => {
    const m = parseDfUsed("Filesystem     1048576-blocks   Used Available Capacity Mounted on\n/dev/vda1 5000M 1234M 3766M 25% /\n/dev/vdb1 100M 1M 99M 1% /mnt/my data\n");
    expect(m.get("/")).toBe(1234 * MiB);
    expect(m.get("/mnt/my data")).toBe(MiB);
  });
  test("a smaller disk that still holds every partition needs no shrinking", () => {
    const { doc: d } = readDisklayout("disk /dev/sda 8589934592 msdos\npart /dev/sda 1073741824 1048576 primary none /dev/sda1\n");
    const r = resizeLayout(d, target(4 * GiB));
    expect(r.errors).toEqual([]);
    expect(r.changes).toEqual([]);
  });
  test("a swap partition at the end is not grown (AUTORESIZE_EXCLUDE_PARTITIONS)", () => {
    const { doc: d } = readDisklayout("disk /dev/sda 8589934592 gpt\npart /dev/sda 4294967296 1048576 root none /dev/sda1\npart /dev/sda 1073741824 4296015872 rear-noname swap /dev/sda2\nswap /dev/sda2 uuid=x label=swap\n");
    const r = resizeLayout(d, target(16 * GiB));
    expect(r.changes).toEqual([]);
    expect(r.notes.join()).toContain("is not resized");
  });
  test("an msdos logical partition grows with its extended partition; the msdos boot flag is not a boot partition", () => {
    const { doc: d } = readDisklayout(
      "disk /dev/sda 4294967296 msdos\npart /dev/sda 1073741824 1048576 primary boot /dev/sda1\npart /dev/sda 3220176896 1074790400 extended lba /dev/sda2\npart /dev/sda 3219128320 1075838976 logical none /dev/sda5\n",
    );
    const r = resizeLayout(d, target(8 * GiB));
    const byDev = Object.fromEntries(activeEntries(r.doc).flatMap((e) => (e.kw === "part" ? [[e.device, e]] : [])));
    expect(byDev["/dev/sda5"]!.startBytes + byDev["/dev/sda5"]!.sizeBytes).toBe(8 * GiB);
    expect(byDev["/dev/sda2"]!.startBytes + byDev["/dev/sda2"]!.sizeBytes).toBe(8 * GiB);
    const one = resizeLayout(readDisklayout("disk /dev/sda 4294967296 msdos\npart /dev/sda 4293918720 1048576 primary boot /dev/sda1\n").doc, target(8 * GiB));
    expect(one.changes).toHaveLength(1);
  });
  test("AUTORESIZE_PARTITIONS=true scales every partition but EFI, 1 MiB aligned; false changes nothing", () => {
    const r = resizeLayout(doc(), target(16 * GiB), { ...DEFAULT_RESIZE, mode: "all" });
    const p1 = activeEntries(r.doc).find((e) => e.kw === "part" && e.device === "/dev/sda1") as { sizeBytes: number };
    expect(p1.sizeBytes).toBe(536870912);
    const p = part2(r);
    expect(p.startBytes % MiB).toBe(0);
    expect(p.startBytes + p.sizeBytes).toBeLessThanOrEqual(usableEnd("gpt", 16 * GiB, 512));
    expect(p.sizeBytes).toBeGreaterThan(15 * GiB);
    expect(resizeLayout(doc(), target(16 * GiB), { ...DEFAULT_RESIZE, mode: "none" }).changes).toEqual([]);
    expect(resizeLayout(doc(), target(4 * GiB), { ...DEFAULT_RESIZE, mode: "none" }).errors.join()).toContain("too small");
  });
  test("a PV on a resized partition gets its new size", () => {
    const r = resizeLayout(readDisklayout(LAYOUT).doc, { "/dev/sdb": { sizeBytes: 8 * GiB, sectorSize: 512 } });
    const pv = activeEntries(r.doc).find((e) => e.kw === "lvmdev") as { size: number };
    expect(pv.size).toBe((8 * GiB - MiB) / 512);
  });
});
