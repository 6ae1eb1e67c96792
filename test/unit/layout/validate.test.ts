// layout/validate.ts: every class of impossible layout is refused with its line, and the real layouts
// (ReaR 2.7's files and ours, from the fixture machines) pass.

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { buildPlan } from "../../../src/layout/plan/build.ts";
import { seededUuids } from "../../../src/layout/plan/uuids.ts";
import { checkLayout, formatProblems, LayoutCheckError } from "../../../src/layout/validate.ts";
import { FIXTURES, fixtureMachines, loadFixtureMachine } from "./fixture-helpers.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const problems = (text: string) => checkLayout(readDisklayout(text, "t.conf").doc);
/** "LINE: message" for each problem */
const lines = (text: string) => problems(text).map((p) => `${p.line}: ${p.message}`);

const GOOD = `disk /dev/sda ${10 * GiB} gpt
part /dev/sda ${512 * MiB} ${MiB} EFI boot,esp /dev/sda1
part /dev/sda ${4 * GiB} ${513 * MiB} root none /dev/sda2
part /dev/sda ${2 * GiB} ${4609 * MiB} crypt none /dev/sda3
crypt /dev/mapper/data /dev/sda3 type=luks2 uuid=u
lvmdev /dev/vg0 /dev/mapper/data AAAA 4194304
lvmgrp /dev/vg0 4096 511 2093056
lvmvol /dev/vg0 home ${GiB}b linear
lvmvol /dev/vg0 pool ${512 * MiB}b thin,pool
lvmvol /dev/vg0 thin1 ${5 * GiB}b thin,sparse thinpool:pool
fs /dev/sda2 / ext4 uuid=1 label= options=rw
fs /dev/sda1 /boot/efi vfat uuid=2 label= options=rw
fs /dev/mapper/vg0-home /home xfs uuid=3 label= options=rw
fs /dev/vg0/thin1 /srv ext4 uuid=4 label= options=rw
swap /swapfile uuid=5 label=
`;

describe("a layout that can be made passes", () => {
  test("GPT + LUKS + LVM with a thin pool (thin volumes may be bigger than the group)", () => {
    expect(lines(GOOD)).toEqual([]);
  });
  test("the fixture machines: ReaR 2.7's files and our extraction", () => {
    const names = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, "rear27/layout/disklayout.conf"))) : [];
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) {
      const f = join(FIXTURES, n, "rear27/layout/disklayout.conf");
      expect({ n, p: formatProblems(f, checkLayout(readDisklayout(readFileSync(f, "utf8"), f).doc)) }).toEqual({ n, p: "" });
    }
    for (const n of fixtureMachines()) expect({ n, p: checkLayout(loadFixtureMachine(n).doc) }).toEqual({ n, p: [] });
  });
  test("msdos: logical partitions inside the extended one; a commented-out component with everything on it", () => {
    const t = `disk /dev/vda ${8 * GiB} msdos
part /dev/vda ${GiB} ${MiB} primary boot /dev/vda1
part /dev/vda ${6 * GiB} ${GiB + MiB} extended none /dev/vda2
part /dev/vda ${GiB} ${GiB + 2 * MiB} logical none /dev/vda5
part /dev/vda ${GiB} ${2 * GiB + 3 * MiB} logical none /dev/vda6
fs /dev/vda1 / ext4 uuid=1 label= options=rw
#disk /dev/vdb ${GiB} gpt
#part /dev/vdb ${GiB - 2 * MiB} ${MiB} data none /dev/vdb1
#fs /dev/vdb1 /data ext4 uuid=2 label= options=rw
`;
    expect(lines(t)).toEqual([]);
  });
  test("an edited line beside the old one commented out is not a duplicate", () => {
    expect(lines(`disk /dev/sda ${GiB} msdos\npart /dev/sda ${100 * MiB} ${MiB} primary none /dev/sda1\n#fs /dev/sda1 / ext4 uuid=1 label= options=rw\nfs /dev/sda1 / xfs uuid=1 label= options=rw\n`)).toEqual([]);
  });
});

describe("geometry", () => {
  const disk = (label: string, size = GiB) => `disk /dev/sda ${size} ${label}\n`;
  test("overlapping partitions, named with both lines", () => {
    const l = lines(`${disk("gpt")}part /dev/sda ${300 * MiB} ${MiB} a none /dev/sda1\npart /dev/sda ${300 * MiB} ${200 * MiB} b none /dev/sda2\n`);
    expect(l).toEqual([expect.stringMatching(/^3: partition \/dev\/sda2 .* overlaps \/dev\/sda1 .*line 2/)]);
  });
  test("overlap is found whatever the order of the lines, and against the partition reaching furthest", () => {
    const l = lines(`${disk("gpt")}part /dev/sda ${100 * MiB} ${600 * MiB} c none /dev/sda3\npart /dev/sda ${800 * MiB} ${MiB} a none /dev/sda1\npart /dev/sda ${10 * MiB} ${700 * MiB} b none /dev/sda2\n`);
    expect(l.length).toBe(2);
    expect(l.join("\n")).toContain("partition /dev/sda3");
    expect(l.join("\n")).toContain("partition /dev/sda2");
  });
  test("past the end of the disk; on GPT the last 33 sectors are the backup table", () => {
    expect(lines(`${disk("msdos")}part /dev/sda ${GiB} ${MiB} primary none /dev/sda1\n`)).toEqual([expect.stringMatching(/^2: partition \/dev\/sda1 ends at byte .* past the end of \/dev\/sda/)]);
    expect(lines(`${disk("msdos")}part /dev/sda ${GiB - MiB} ${MiB} primary none /dev/sda1\n`)).toEqual([]);
    expect(lines(`${disk("gpt")}part /dev/sda ${GiB - MiB} ${MiB} a none /dev/sda1\n`)).toEqual([expect.stringContaining("a gpt table leaves 1073724928 usable")]);
    expect(lines(`${disk("gpt")}part /dev/sda ${GiB - MiB - 33 * 512} ${MiB} a none /dev/sda1\n`)).toEqual([]);
  });
  test("before the first usable byte: the MBR, the GPT header and table", () => {
    expect(lines(`${disk("msdos")}part /dev/sda ${MiB} 0 primary none /dev/sda1\n`)).toEqual([expect.stringContaining("starts at byte 0, before the first usable byte 512")]);
    expect(lines(`${disk("gpt")}part /dev/sda ${MiB} 16896 a none /dev/sda1\n`)).toEqual([expect.stringContaining("before the first usable byte 17408 of a gpt disk")]);
    expect(lines(`${disk("gpt")}part /dev/sda ${MiB} 17408 a none /dev/sda1\n`)).toEqual([]);
  });
  test("a 4K-sector disk (sector size from layout.json or the disk now) needs more at both ends", () => {
    const doc = readDisklayout(`${disk("gpt")}part /dev/sda ${MiB} 17408 a none /dev/sda1\n`).doc;
    expect(checkLayout(doc, { sectorSize: () => 4096 })).toEqual([expect.objectContaining({ message: expect.stringContaining("first usable byte 24576") })]);
  });
  test("msdos: one extended partition, at most four primary ones, logical ones inside", () => {
    const two = lines(`${disk("msdos", 8 * GiB)}part /dev/sda ${GiB} ${MiB} extended none /dev/sda1\npart /dev/sda ${GiB} ${2 * GiB} extended none /dev/sda2\n`);
    expect(two).toEqual([expect.stringContaining("a second extended partition /dev/sda2")]);
    const five = lines(`${disk("msdos", 8 * GiB)}${[1, 2, 3, 4, 5].map((i) => `part /dev/sda ${MiB} ${i * 10 * MiB} primary none /dev/sda${i}\n`).join("")}`);
    expect(five).toEqual([expect.stringMatching(/^6: .* 5 primary and extended partitions: an msdos disk holds at most 4/)]);
    const outside = lines(`${disk("msdos", 8 * GiB)}part /dev/sda ${GiB} ${MiB} extended none /dev/sda1\npart /dev/sda ${GiB} ${GiB} logical none /dev/sda5\n`);
    expect(outside).toEqual([expect.stringContaining("logical partition /dev/sda5 (bytes 1073741824–2147483648) is not inside the extended partition /dev/sda1")]);
    expect(lines(`${disk("msdos")}part /dev/sda ${MiB} ${MiB} logical none /dev/sda5\n`)).toEqual([expect.stringContaining("has no extended partition")]);
  });
  test("size 0, a disk of size 0, partitions on a disk without a partition table", () => {
    expect(lines(`${disk("gpt")}part /dev/sda 0 ${MiB} a none /dev/sda1\n`)).toEqual([expect.stringContaining("has size 0")]);
    expect(lines("disk /dev/sda 0 gpt\n")).toEqual([expect.stringContaining("disk /dev/sda has size 0")]);
    expect(lines(`disk /dev/sda ${GiB}\npart /dev/sda ${MiB} ${MiB} primary none /dev/sda1\n`)).toEqual([expect.stringContaining("has no partition table")]);
  });
  test("logical volumes bigger than their volume group (thin volumes do not count)", () => {
    const t = GOOD.replace(`lvmvol /dev/vg0 home ${GiB}b linear`, `lvmvol /dev/vg0 home ${2 * GiB}b linear`);
    expect(lines(t)).toEqual([expect.stringMatching(/^8: logical volume home does not fit: the volumes of \/dev\/vg0 up to here need 2147483648 bytes, the group has 2143289344 bytes/)]);
  });
});

describe("references", () => {
  const base = `disk /dev/sda ${GiB} msdos\npart /dev/sda ${500 * MiB} ${MiB} primary none /dev/sda1\n`;
  test.each([
    ["a partition on a disk not declared", `part /dev/sdb ${MiB} ${MiB} primary none /dev/sdb1\n`, "partition /dev/sdb1: its disk /dev/sdb is not declared"],
    ["a filesystem on a device nothing creates", "fs /dev/sda7 / ext4 uuid=1 label= options=rw\n", "the ext4 filesystem for /: its device /dev/sda7 is not declared"],
    ["swap on a partition not declared", "swap /dev/sdc2 uuid=1 label=\n", "swap: its device /dev/sdc2 is not declared"],
    ["a PV on a device not declared", "lvmdev /dev/vg /dev/sdq1 U 100\nlvmgrp /dev/vg 4096 10 40960\n", "physical volume /dev/sdq1 of vg: its device /dev/sdq1 is not declared"],
    ["a PV of a group without lvmgrp", "lvmdev /dev/vg /dev/sda1 U 100\n", "belongs to volume group /dev/vg, which has no 'lvmgrp /dev/vg …' line"],
    ["an LV in an undeclared VG", "lvmvol /dev/vgx root 100b linear\n", "logical volume root is in volume group /dev/vgx, which has no 'lvmgrp /dev/vgx …' line"],
    ["a VG without PVs", "lvmgrp /dev/vg 4096 10 40960\n", "volume group /dev/vg has no physical volume"],
    ["a thin volume in a pool that is not there", "lvmdev /dev/vg /dev/sda1 U 100\nlvmgrp /dev/vg 4096 100 409600\nlvmvol /dev/vg t 100b thin,sparse thinpool:nopool\n", "thin volume vg/t: its thin pool /dev/mapper/vg-nopool is not declared"],
    ["LUKS on an undeclared device", "crypt /dev/mapper/c /dev/sdz9 type=luks2\n", "LUKS volume /dev/mapper/c: its source device /dev/sdz9 is not declared"],
    ["a RAID member not declared", "raidarray /dev/md0 level=raid1 raid-devices=2 devices=/dev/sda1,/dev/sdb1\n", "RAID array /dev/md0: its member device /dev/sdb1 is not declared"],
    ["a RAID array without members", "raidarray /dev/md0 level=raid1 raid-devices=2\n", "RAID array /dev/md0 has no member devices"],
    ["a btrfs subvolume of a filesystem not there", "btrfsmountedsubvol /dev/sda1 /home rw @/home\n", "there is no 'fs /dev/sda1 … btrfs' line"],
    ["a btrfs subvolume of an ext4 filesystem", "fs /dev/sda1 / ext4 uuid=1 label= options=rw\nbtrfsnormalsubvol /dev/sda1 / 256 @\n", "the filesystem there is ext4 (line 3), not btrfs"],
    ["a partition on a partition", `part /dev/sda1 ${MiB} ${MiB} primary none /dev/sda1p1\n`, "partition /dev/sda1p1: its disk /dev/sda1 is a part (line 2), not a disk or multipath or raidarray"],
  ])("%s", (_what, extra, message) => {
    const p = lines(base + extra);
    expect(p.join("\n")).toContain(message);
  });
  test("an active line on a commented-out device: nothing would create it", () => {
    const p = lines(`#disk /dev/sdb ${GiB} gpt\npart /dev/sdb ${MiB} ${MiB} a none /dev/sdb1\n#lvmgrp /dev/vg 4096 10 40960\nlvmdev /dev/vg /dev/sdb1 U 100\n`);
    expect(p).toEqual([
      expect.stringMatching(/^2: partition \/dev\/sdb1: its disk \/dev\/sdb is commented out on line 1, so nothing creates it/),
      expect.stringMatching(/^4: physical volume \/dev\/sdb1 belongs to volume group \/dev\/vg, which is commented out on line 3/),
    ]);
  });
  test("a filesystem may name an LV by either of its names; md names by /dev/md/<name>", () => {
    const t = `disk /dev/sda ${GiB} gpt\ndisk /dev/sdb ${GiB} gpt\npart /dev/sda ${500 * MiB} ${MiB} a raid /dev/sda1\npart /dev/sdb ${500 * MiB} ${MiB} a raid /dev/sdb1\nraidarray /dev/md127 level=raid1 raid-devices=2 name=host:root devices=/dev/sda1,/dev/sdb1\nfs /dev/md/root / ext4 uuid=1 label= options=rw\n`;
    expect(lines(t)).toEqual([]);
  });
});

describe("duplicates", () => {
  const base = `disk /dev/sda ${GiB} gpt\npart /dev/sda ${100 * MiB} ${MiB} a none /dev/sda1\npart /dev/sda ${100 * MiB} ${200 * MiB} b none /dev/sda2\n`;
  test.each([
    ["the same disk twice", `disk /dev/sda ${GiB} gpt\n`, "/dev/sda is declared twice (also on line 1, disk)"],
    ["the same partition twice", `part /dev/sda ${100 * MiB} ${400 * MiB} c none /dev/sda1\n`, "/dev/sda1 is declared twice (also on line 2, part)"],
    ["a volume group twice", "lvmdev /dev/vg /dev/sda1 U 100\nlvmgrp /dev/vg 4096 10 40960\nlvmgrp /dev/vg 4096 10 40960\n", "/dev/vg is declared twice (also on line 5)"],
    ["a logical volume twice", "lvmdev /dev/vg /dev/sda1 U 100\nlvmgrp /dev/vg 4096 100 409600\nlvmvol /dev/vg lv 100b linear\nlvmvol /dev/vg lv 200b linear\n", "/dev/mapper/vg-lv is declared twice (also on line 6, lvmvol)"],
    ["two filesystems on one mountpoint", "fs /dev/sda1 / ext4 uuid=1 label= options=rw\nfs /dev/sda2 / ext4 uuid=2 label= options=rw\n", "two filesystems are mounted at / (the other on line 4)"],
    ["two filesystems on one device", "fs /dev/sda1 / ext4 uuid=1 label= options=rw\nfs /dev/sda1 /home ext4 uuid=2 label= options=rw\n", "/dev/sda1 is used twice: by the ext4 filesystem for /home here and by the ext4 filesystem for / on line 4"],
    ["a filesystem on a PV", "lvmdev /dev/vg /dev/sda1 U 100\nlvmgrp /dev/vg 4096 10 40960\nfs /dev/sda1 / ext4 uuid=1 label= options=rw\n", "/dev/sda1 is used twice: by the ext4 filesystem for / here and by a physical volume of vg on line 4"],
    ["a partition in two RAID arrays", "raidarray /dev/md0 level=raid1 raid-devices=2 devices=/dev/sda1,/dev/sda2\nraidarray /dev/md1 level=raid1 raid-devices=1 devices=/dev/sda2\n", "/dev/sda2 is used twice: by the RAID array /dev/md1 here"],
    ["swap twice", "swap /dev/sda2 uuid=1 label=\nswap /dev/sda2 uuid=2 label=\n", "/dev/sda2 is used twice: by swap here and by swap on line 4"],
    ["a partitioned disk formatted whole", "fs /dev/sda / ext4 uuid=1 label= options=rw\n", "/dev/sda is used whole by the ext4 filesystem for / but also has partitions (line 2)"],
  ])("%s", (_what, extra, message) => {
    expect(lines(base + extra).join("\n")).toContain(message);
  });
});

describe("cycles", () => {
  test("two RAID arrays on each other, LUKS on itself, a PV on an LV of its own group", () => {
    const p = lines(`raidarray /dev/md0 level=raid1 raid-devices=1 devices=/dev/md1
raidarray /dev/md1 level=raid1 raid-devices=1 devices=/dev/md0
crypt /dev/mapper/a /dev/mapper/a type=luks2
disk /dev/sda ${GiB} gpt
part /dev/sda ${100 * MiB} ${MiB} a none /dev/sda1
lvmdev /dev/vg /dev/sda1 U 100
lvmdev /dev/vg /dev/mapper/vg-lv U 100
lvmgrp /dev/vg 4096 100 409600
lvmvol /dev/vg lv 100b linear
`);
    expect(p).toEqual([
      "1: dependency cycle: /dev/md0 needs /dev/md1 needs /dev/md0 (none of them can be created first): correct the device names",
      "3: /dev/mapper/a is built on itself: correct the device it stands on",
      "7: dependency cycle: pv:/dev/mapper/vg-lv needs /dev/mapper/vg-lv needs /dev/vg needs pv:/dev/mapper/vg-lv (none of them can be created first): correct the device names",
    ]);
  });
});

test("a cycle through a partition of a RAID array", () => {
  const p = lines(`disk /dev/sda ${GiB} gpt\npart /dev/sda ${100 * MiB} ${MiB} a raid /dev/sda1\nraidarray /dev/md0 level=raid1 raid-devices=2 devices=/dev/sda1,/dev/md0p1\npart /dev/md0 ${10 * MiB} ${MiB} primary none /dev/md0p1\n`);
  expect(p).toEqual(["3: dependency cycle: /dev/md0 needs /dev/md0p1 needs /dev/md0 (none of them can be created first): correct the device names"]);
});

describe("the plan refuses too", () => {
  test("buildPlan throws LayoutCheckError naming the file and line, before any step", () => {
    const doc = readDisklayout(`disk /dev/sda ${GiB} gpt\npart /dev/sda ${GiB} ${MiB} a none /dev/sda1\n`).doc;
    const input = {
      doc, facts: {}, targets: { disks: [] }, mapping: {}, wipe: [], xfsInfo: {}, lvmCfg: {}, allowVgcfgrestore: false, uuids: seededUuids("x"),
      cryptsetupOptions: [], xfsOptions: () => undefined, targetRoot: "/mnt/local", workDir: "/w", layoutSha256: "0", layoutFile: "/x/disklayout.conf",
    };
    expect(() => buildPlan(input)).toThrow(LayoutCheckError);
    expect(() => buildPlan(input)).toThrow(/^\/x\/disklayout.conf:2: partition \/dev\/sda1 ends at byte/);
  });
  test("many problems: the first 20 are shown and the rest counted", () => {
    const t = `disk /dev/sda ${GiB} gpt\n${Array.from({ length: 30 }, (_, i) => `fs /dev/nope${i} /m${i} ext4 uuid=${i} label= options=rw\n`).join("")}`;
    const msg = formatProblems("f", problems(t)).split("\n");
    expect(msg.length).toBe(21);
    expect(msg[20]).toBe("f: … and 10 more problems");
  });
});
