import { afterAll, describe, expect, test } from "bun:test";
import { guessBootloader } from "../../../src/layout/bootloader.ts";
import { compareLayouts, partitionDevice } from "../../../src/layout/compare.ts";
import { buildDeps, creationOrder, dependantsOf, renderDiskdeps } from "../../../src/layout/deps.ts";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { writeDisklayout } from "../../../src/layout/disklayout/write.ts";
import { applyExclusions, type ExclusionSettings } from "../../../src/layout/exclude.ts";
import { activeEntries } from "../../../src/layout/model.ts";
import { percentDecode, percentEncode } from "../../../src/layout/extract/disks.ts";
import { renderTree } from "../../../src/layout/show.ts";

const LVM = `disk /dev/vda 6979321856 msdos
part /dev/vda 536870912 1048576 primary boot /dev/vda1
part /dev/vda 5904531456 537919488 primary lvm /dev/vda2
part /dev/vda 536870912 6442450944 primary none /dev/vda3
disk /dev/vdb 4294967296 gpt
part /dev/vdb 4292870144 1048576 data none /dev/vdb1
lvmdev /dev/vg0 /dev/vda2 AAAA 11532288
lvmgrp /dev/vg0 4096 1407 5763072
lvmvol /dev/vg0 root 3221225472b linear
lvmvol /dev/vg0 pool 1073741824b thin,pool chunksize:65536b
lvmvol /dev/vg0 thin1 2147483648b thin,sparse thinpool:pool
fs /dev/mapper/vg0-root / ext4 uuid=1 label= options=rw
fs /dev/vda1 /boot ext2 uuid=2 label= options=rw
fs /dev/mapper/vg0-thin1 /srv ext4 uuid=3 label= options=rw
fs /dev/vdb1 /mnt/data ext4 uuid=4 label= options=rw
swap /dev/vda3 uuid=5 label=
`;
const doc = () => readDisklayout(LVM).doc;
const none: ExclusionSettings = {
  AUTOEXCLUDE_DISKS: false, AUTOEXCLUDE_MULTIPATH: false, AUTOEXCLUDE_PATH: [], AUTOEXCLUDE_USB_PATH: [], EXCLUDE_MOUNTPOINTS: [],
  EXCLUDE_MD: [], EXCLUDE_VG: [], ONLY_INCLUDE_VG: [], EXCLUDE_COMPONENTS: [], EXCLUDE_RECREATE: [], MANUAL_INCLUDE: false, BACKUP_PROG_INCLUDE: [],
};

describe("dependencies (ReaR's diskdeps.conf)", () => {
  test("edges as ReaR names them", () => {
    const g = buildDeps(activeEntries(doc()));
    const deps = renderDiskdeps(g);
    for (const l of ["/dev/vda1 /dev/vda", "pv:/dev/vda2 /dev/vda2", "/dev/vg0 pv:/dev/vda2", "/dev/mapper/vg0-root /dev/vg0", "/dev/mapper/vg0-thin1 /dev/mapper/vg0-pool", "fs:/boot /dev/vda1", "fs:/boot fs:/", "fs:/srv /dev/mapper/vg0-thin1", "swap:/dev/vda3 /dev/vda3"]) {
      expect(deps).toContain(`${l}\n`);
    }
  });
  test("creation order puts every component after what it needs", () => {
    const g = buildDeps(activeEntries(doc()));
    const order = creationOrder(g);
    expect(order.length).toBe(g.ids.length);
    for (const id of order) for (const n of g.needs.get(id)!) if (g.entries.has(n)) expect(order.indexOf(n)).toBeLessThan(order.indexOf(id));
  });
  test("dependants of a disk reach the filesystems on its LVM", () => {
    const g = buildDeps(activeEntries(doc()));
    expect(dependantsOf(g, "/dev/vda")).toEqual(expect.arrayContaining(["/dev/vg0", "/dev/mapper/vg0-thin1", "fs:/srv", "fs:/"]));
  });
});

describe("exclusions", () => {
  test("EXCLUDE_VG disables the VG, its PVs, LVs, their filesystems and those mounted inside them, nothing else", () => {
    const r = applyExclusions(doc(), { ...none, EXCLUDE_VG: ["vg0"] });
    const text = writeDisklayout(r.doc);
    expect(text).toContain("#lvmgrp /dev/vg0 ");
    expect(text).toContain("#lvmdev /dev/vg0 /dev/vda2 ");
    expect(text).toContain("#lvmvol /dev/vg0 thin1 ");
    expect(text).toContain("#fs /dev/mapper/vg0-root / ");
    expect(text).toContain("\npart /dev/vda 5904531456 ");
    // /boot is mounted inside / (on the VG): it goes too, as in ReaR (fs:/boot depends on fs:/)
    expect(text).toContain("\n#fs /dev/vda1 /boot ");
    expect(text).toContain("\nswap /dev/vda3 ");
    expect(r.excluded.find((x) => x.id === "/dev/vg0")!.reason).toBe("Volume Group vg0 in EXCLUDE_VG");
  });
  test("AUTOEXCLUDE_PATH excludes below /mnt, and AUTOEXCLUDE_DISKS then the unused disk", () => {
    const r = applyExclusions(doc(), { ...none, AUTOEXCLUDE_PATH: ["/mnt"], AUTOEXCLUDE_DISKS: true });
    const ids = r.excluded.map((x) => x.id);
    expect(ids).toEqual(expect.arrayContaining(["fs:/mnt/data", "/dev/vdb", "/dev/vdb1"]));
    expect(ids).not.toContain("/dev/vda");
  });
  test("EXCLUDE_MOUNTPOINTS only stops a filesystem from keeping its disk in", () => {
    const r = applyExclusions(doc(), { ...none, EXCLUDE_MOUNTPOINTS: ["/mnt/data"], AUTOEXCLUDE_DISKS: true });
    expect(r.excluded.map((x) => x.id)).toContain("/dev/vdb");
  });
  test("ONLY_INCLUDE_VG and EXCLUDE_COMPONENTS", () => {
    expect(applyExclusions(doc(), { ...none, ONLY_INCLUDE_VG: ["other"] }).excluded.map((x) => x.id)).toContain("/dev/vg0");
    const r = applyExclusions(doc(), { ...none, EXCLUDE_COMPONENTS: ["/dev/mapper/vg0-pool"] });
    expect(r.excluded.map((x) => x.id).sort()).toEqual(["/dev/mapper/vg0-pool", "/dev/mapper/vg0-thin1", "fs:/srv"]);
  });
});

describe("checklayout comparison", () => {
  test("blanks and comments do not count; a changed size does", () => {
    const a = readDisklayout(`# x\nlvmvol /dev/vg0 root 3221225472b linear \n`).doc;
    const b = readDisklayout(`lvmvol /dev/vg0 root 3221225472b linear\n`).doc;
    expect(compareLayouts(a, b).same).toBe(true);
    const c = readDisklayout(`lvmvol /dev/vg0 root 4221225472b linear\n`).doc;
    expect(compareLayouts(a, c)).toMatchObject({ same: false, removed: ["lvmvol /dev/vg0 root 3221225472b linear"], added: ["lvmvol /dev/vg0 root 4221225472b linear"] });
  });
  test("sda and sdb swapped by the kernel is not a change (rear#3495), told apart by serial", () => {
    const a = readDisklayout("disk /dev/sda 100 gpt\npart /dev/sda 50 1 x none /dev/sda1\ndisk /dev/sdb 100 gpt\npart /dev/sdb 50 1 x none /dev/sdb1\nfs /dev/sda1 / ext4 uuid=1 label= options=rw\n").doc;
    const b = readDisklayout("disk /dev/sda 100 gpt\npart /dev/sda 50 1 x none /dev/sda1\ndisk /dev/sdb 100 gpt\npart /dev/sdb 50 1 x none /dev/sdb1\nfs /dev/sdb1 / ext4 uuid=1 label= options=rw\n").doc;
    expect(compareLayouts(a, b).same).toBe(false);
    const r = compareLayouts(a, b, { saved: { "/dev/sda": { serial: "S1" }, "/dev/sdb": { serial: "S2" } }, current: { "/dev/sda": { serial: "S2" }, "/dev/sdb": { serial: "S1" } } });
    expect(r).toMatchObject({ same: true, renamed: { "/dev/sda": "/dev/sdb", "/dev/sdb": "/dev/sda" } });
  });
  test("partition naming", () => {
    expect(partitionDevice("/dev/sda", 2)).toBe("/dev/sda2");
    expect(partitionDevice("/dev/nvme0n1", 2)).toBe("/dev/nvme0n1p2");
    expect(partitionDevice("/dev/mmcblk0", 1)).toBe("/dev/mmcblk0p1");
  });
});

describe("boot loader guess (445_guess_bootloader.sh)", () => {
  const bytes = (s: string) => new Uint8Array([0, 0, ...new TextEncoder().encode(s), 0, 0]);
  test("BOOTLOADER wins, upper-cased", () => expect(guessBootloader("grub2", undefined, []).bootloader).toBe("GRUB2"));
  test("GRUB in the MBR", () => expect(guessBootloader("", undefined, [{ device: "/dev/vda", bytes: bytes("GRUB \0Geom\0Hard Disk") }]).bootloader).toBe("GRUB"));
  test("a GPT header alone says EFI", () => expect(guessBootloader("", undefined, [{ device: "/dev/vda", bytes: bytes("EFI PART") }]).bootloader).toBe("EFI"));
  test("LUKS disks are skipped; nothing found is reported", () => {
    const g = guessBootloader("", undefined, [{ device: "/dev/vda", bytes: bytes("LUKS\xba\xbe GRUB") }]);
    expect(g.bootloader).toBeUndefined();
    expect(g.why).toContain("Cannot autodetect");
  });
});

describe("names and trees", () => {
  test("GPT names are percent-encoded bytewise as ReaR does", () => {
    expect(percentEncode("EFI System Partition")).toBe("EFI%20System%20Partition");
    expect(percentEncode("a/b%c")).toBe("a%2Fb%25c");
    expect(percentEncode("binär")).toBe("bin%C3%A4r");
    expect(percentDecode("bin%C3%A4r")).toBe("binär");
  });
  test("the tree shows disks, what is on them, and excluded parts", () => {
    const t = renderTree(applyExclusions(doc(), { ...none, AUTOEXCLUDE_PATH: ["/mnt"], AUTOEXCLUDE_DISKS: true }).doc);
    expect(t.split("\n")[0]).toBe("disk /dev/vda  6.50 GiB  msdos");
    expect(t).toContain("└─ ext4 /srv");
    expect(t).toContain("disk /dev/vdb  4.00 GiB  gpt  (excluded)");
  });
});

describe("layout.json", () => {
  test("the document and its facts survive JSON and the schema unchanged", async () => {
    const { LayoutJson } = await import("../../../src/layout/model.ts");
    const j = {
      format: "rear-layout/1", created: "2026-01-01T00:00:00.000Z", host: { hostname: "h", firmware: "uefi", bootloader: "EFI" },
      lines: readDisklayout(LVM).doc.lines,
      facts: { "/dev/vda": { serial: "S1", byId: ["virtio-S1"], logicalSectorSize: 512 }, "/dev/vda1": { partuuid: "abc", typeId: "83" }, "/dev/vg0": { uuid: "u" } },
    };
    const back = LayoutJson.parse(JSON.parse(JSON.stringify(j)));
    expect(back).toEqual(j as never);
    expect(writeDisklayout({ lines: back.lines })).toBe(LVM);
  });
});

describe("UEFI loader on the ESP", async () => {
  const { describeUefiLoader } = await import("../../../src/layout/bootloader.ts");
  test("shim, GRUB, systemd-boot", () => {
    expect(describeUefiLoader(["EFI/debian/grubx64.efi", "EFI/debian/shimx64.efi", "EFI/debian/mmx64.efi"])).toBe("GRUB2-EFI with shim (Secure Boot)");
    expect(describeUefiLoader(["EFI/debian/grubx64.efi", "EFI/BOOT/BOOTX64.EFI"])).toBe("GRUB2-EFI");
    expect(describeUefiLoader(["EFI/systemd/systemd-bootx64.efi"])).toBe("systemd-boot");
    expect(describeUefiLoader([])).toBeUndefined();
  });
});

describe("showlayout", async () => {
  const { showlayout } = await import("../../../src/cli/commands/showlayout.ts");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const dir = mkdtempSync("/tmp/rear-unit-show.");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  test("a file that is not a layout is refused with its name", () => {
    writeFileSync(`${dir}/hostname`, "myhost\n");
    expect(() => showlayout([`${dir}/hostname`], "/nonexistent")).toThrow(`${dir}/hostname does not look like a disklayout.conf`);
  });
  test("a missing default file says how to make one", () => {
    expect(() => showlayout([], `${dir}/none.conf`)).toThrow("no such file");
  });
  test("--format disklayout gives the file back; unknown options are refused", () => {
    writeFileSync(`${dir}/l.conf`, LVM);
    expect(showlayout(["--format", "disklayout", `${dir}/l.conf`], "/nonexistent").stdout).toBe(LVM);
    expect(() => showlayout(["--tree"], `${dir}/l.conf`)).toThrow("unknown option '--tree'");
  });
});
