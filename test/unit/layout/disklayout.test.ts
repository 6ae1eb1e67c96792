import { describe, expect, test } from "bun:test";
import { LayoutSyntaxError, readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { writeDisklayout } from "../../../src/layout/disklayout/write.ts";
import { activeEntries, allEntries, entryId } from "../../../src/layout/model.ts";

// As ReaR 2.7 writes it, including its stray blanks (lvmvol and crypt end with one; xfs has two before options=).
const SAMPLE = `# Disk layout dated 20261122120000 (YYYYmmddHHMMSS)
# NAME        KNAME     PKNAME   TRAN TYPE FSTYPE LABEL SIZE MOUNTPOINT UUID WWN
# /dev/vda    /dev/vda           virtio disk              6G
# Disk /dev/vda
# Format: disk <devname> <size(bytes)> <partition label type>
disk /dev/vda 6442450944 msdos
# Partitions on /dev/vda
# Format: part <device> <partition size(bytes)> <partition start(bytes)> <partition type|name> <flags> /dev/<partition>
part /dev/vda 536870912 1048576 primary boot /dev/vda1
part /dev/vda 5904531456 537919488 primary lvm /dev/vda2
#disk /dev/vdb 4294967296 loop
lvmdev /dev/vg0 /dev/vda2 3WXBl2-mdFi-Lr2T-Q9dI-6w6M-LHfe-0ZGzZf 5904531456
lvmgrp /dev/vg0 4096 1407 5901385728
lvmvol /dev/vg0 root 3221225472b linear 
lvmvol /dev/vg0 pool 1073741824b thin-pool chunksize:65536b poolmetadatasize:4194304b
lvmvol /dev/vg0 thin1 2147483648b thin thinpool:pool
crypt /dev/mapper/luks-home /dev/vda3 type=luks2 cipher=aes-xts-plain64 key_size=512 hash=sha256 uuid=8f3c5e1a-0000-4000-8000-000000000001 
fs /dev/mapper/vg0-root / ext4 uuid=7a1c8b5e-0000-4000-8000-000000000002 label=root blocksize=4096 reserved_blocks=5% max_mounts=-1 check_interval=0d bytes_per_inode=16384 default_mount_options=user_xattr,acl options=rw,relatime,errors=remount-ro
fs /dev/vda1 /boot xfs uuid=1b2c label=  options=rw,relatime,attr2,inode64,logbufs=8,logbsize=32k,noquota
btrfsdefaultsubvol /dev/vda4 / 5 /
btrfsmountedsubvol /dev/vda4 /home rw,relatime,space_cache=v2,subvolid=257,subvol=/@home @home
#btrfssnapshotsubvol /dev/vda4 / 260 @/.snapshots/1/snapshot
swap /dev/mapper/vg0-swap uuid=5c0d label=
raidarray /dev/md0 metadata=1.2 level=raid1 raid-devices=2 uuid=8d05eb84:2de831d1:dfed54b2:ad592118 name=root devices=/dev/vda1,/dev/vdb1
opaldisk /dev/nvme0n1 boot=y
`;

describe("disklayout.conf reader and writer", () => {
  test("round trip is the identity, stray blanks included", () => {
    const { doc, warnings } = readDisklayout(SAMPLE, "x.conf");
    expect(warnings).toEqual([]);
    expect(writeDisklayout(doc)).toBe(SAMPLE);
  });

  test("entries are typed", () => {
    const { doc } = readDisklayout(SAMPLE);
    const es = activeEntries(doc);
    const part = es.find((e) => e.kw === "part");
    expect(part).toEqual({ kw: "part", disk: "/dev/vda", sizeBytes: 536870912, startBytes: 1048576, name: "primary", flags: ["boot"], device: "/dev/vda1" });
    const fs = es.find((e) => e.kw === "fs")!;
    expect(fs.kw === "fs" && fs.opts.options).toBe("rw,relatime,errors=remount-ro");
    expect(fs.kw === "fs" && fs.opts.default_mount_options).toBe("user_xattr,acl");
    const thin = es.find((e) => e.kw === "lvmvol" && e.lv === "thin1")!;
    expect(thin.kw === "lvmvol" && thin.opts).toEqual({ thinpool: "pool" });
    expect(es.map(entryId).filter(Boolean)).toContain("/dev/mapper/vg0-root");
    expect(es.map(entryId)).toContain("pv:/dev/vda2");
    expect(es.map(entryId)).toContain("fs:/");
    expect(es.map(entryId)).toContain("opaldisk:/dev/nvme0n1");
  });

  test("a #keyword line is a disabled entry, '# …' a comment", () => {
    const { doc } = readDisklayout(SAMPLE);
    const disabled = allEntries(doc).filter((e) => e.disabled).map((e) => e.entry.kw);
    expect(disabled).toEqual(["disk", "btrfssnapshotsubvol"]);
  });

  test("an entry from the model is written with single blanks", () => {
    const { doc } = readDisklayout("lvmvol /dev/vg0 root 3221225472b linear \n");
    const l = doc.lines[0]!;
    if (l.t !== "entry") throw new Error("not an entry");
    delete l.ws;
    expect(writeDisklayout(doc)).toBe("lvmvol /dev/vg0 root 3221225472b linear\n");
  });

  test("2.8-style part lines with a PARTUUID are kept", () => {
    const line = "part /dev/sda 1048576 1048576 rear-noname bios_grub /dev/sda1 0b0c1d2e-0000-4000-8000-000000000003\n";
    const { doc } = readDisklayout(line);
    expect(writeDisklayout(doc)).toBe(line);
    const e = activeEntries(doc)[0]!;
    expect(e.kw === "part" && e.partuuid).toBe("0b0c1d2e-0000-4000-8000-000000000003");
  });

  test("unknown keywords are kept with a warning", () => {
    const { doc, warnings } = readDisklayout("# c\nfuturething a b c\n", "f.conf");
    expect(warnings).toEqual(["f.conf:2: unknown keyword 'futurething' kept as it is"]);
    expect(writeDisklayout(doc)).toBe("# c\nfuturething a b c\n");
  });

  const bad: [string, string][] = [
    ["disk /dev/sda big msdos", "disk size must be a whole number, got 'big'"],
    ["part /dev/sda 100 200 primary", "expected part <disk>"],
    ["lvmvol /dev/vg lv 100 linear", "logical volume size must be bytes followed by 'b'"],
    ["fs /dev/sda1 / ext4 uuid", "fs option: 'uuid' is not key=value"],
    ["  disk /dev/sda 1 msdos", "a line must start with a keyword"],
    ["disk /dev/sda 1 msdos\r", "carriage return"],
    ["Disk /dev/sda 1 msdos", "'Disk' is not a keyword"],
  ];
  for (const [line, msg] of bad) {
    test(`malformed: ${JSON.stringify(line)} → FILE:LINE: ${msg}`, () => {
      const text = `# ok\n${line}\n`;
      let err: unknown;
      try {
        readDisklayout(text, "/etc/rear/disklayout.conf");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LayoutSyntaxError);
      expect((err as Error).message).toStartWith("/etc/rear/disklayout.conf:2: ");
      expect((err as Error).message).toContain(msg);
    });
  }
});
