import { describe, expect, test } from "bun:test";
import { type DeviceRenames, filesToPatch, isIdentity, rewriteFile } from "../../../src/finalize/rewrite.ts";

const U1_OLD = "7a1c8b5e-1111-4000-8000-000000000001";
const U1_NEW = "0d2f9c6a-aaaa-4bbb-8ccc-dddddddddd01";
const U2_OLD = "5c0d2e11-2222-4000-8000-000000000002";
const U2_NEW = "e3b1f7a0-bbbb-4ccc-8ddd-eeeeeeeeee02";
const LUKS_OLD = "8f3c5e1a-3333-4000-8000-000000000003";
const LUKS_NEW = "1e2d3c4b-cccc-4ddd-8eee-ffffffffff03";
const MD_OLD = "8d05eb84:2de831d1:dfed54b2:ad592118";
const MD_NEW = "11223344:55667788:99aabbcc:ddeeff00";

const none: DeviceRenames = { devices: {}, uuids: {} };
const toNvme: DeviceRenames = {
  devices: { "/dev/sda": "/dev/nvme0n1", "/dev/sda1": "/dev/nvme0n1p1", "/dev/sda2": "/dev/nvme0n1p2" },
  uuids: {},
};
const uuidsOnly: DeviceRenames = {
  devices: {},
  uuids: { [U1_OLD]: U1_NEW, [U2_OLD]: U2_NEW, [LUKS_OLD]: LUKS_NEW, [MD_OLD]: MD_NEW },
};

function lines(text: string): string[] {
  return text.split("\n");
}

describe("isIdentity", () => {
  test("empty and self-mappings are identity", () => {
    expect(isIdentity(none)).toBe(true);
    expect(isIdentity({ devices: { "/dev/sda": "/dev/sda" }, uuids: { [U1_OLD]: U1_OLD.toUpperCase() }, byId: {} })).toBe(true);
    // the same MD UUID spelled with colons and with dashes
    expect(isIdentity({ devices: {}, uuids: { [MD_OLD]: "8d05eb84-2de8-31d1-dfed-54b2ad592118" } })).toBe(true);
  });
  test("any real change is not identity", () => {
    expect(isIdentity(toNvme)).toBe(false);
    expect(isIdentity({ devices: {}, uuids: { [U1_OLD]: U1_NEW } })).toBe(false);
    expect(isIdentity({ devices: {}, uuids: {}, byId: { "/dev/disk/by-id/ata-A": "/dev/disk/by-id/ata-B" } })).toBe(false);
  });
  test("nothing applies: text returned as is", () => {
    const text = "/dev/sda1 / ext4 defaults 0 1\n";
    expect(rewriteFile("fstab", text, none)).toEqual({ text, changes: [] });
  });
});

describe("device names are whole tokens", () => {
  test("/dev/sda1 does not match inside /dev/sda10, /dev/sda not inside /dev/sdab", () => {
    const r: DeviceRenames = { devices: { "/dev/sda1": "/dev/vda1", "/dev/sda": "/dev/vda" }, uuids: {} };
    const text = "/dev/sda10 /data xfs defaults 0 0\n/dev/sdab /x ext4 defaults 0 0\n/dev/sda1 / ext4 defaults 0 1\n";
    const out = rewriteFile("generic", text, { devices: { "/dev/sda1": "/dev/vda1" }, uuids: {} });
    expect(out.text).toBe("/dev/sda10 /data xfs defaults 0 0\n/dev/sdab /x ext4 defaults 0 0\n/dev/vda1 / ext4 defaults 0 1\n");
    expect(out.changes).toEqual([{ line: 3, before: "/dev/sda1 / ext4 defaults 0 1", after: "/dev/vda1 / ext4 defaults 0 1" }]);
    // With the disk mapped too, sda10 is derived as a partition of sda but sdab is still another disk.
    expect(rewriteFile("generic", text, r).text).toBe("/dev/vda10 /data xfs defaults 0 0\n/dev/sdab /x ext4 defaults 0 0\n/dev/vda1 / ext4 defaults 0 1\n");
  });
  test("a swap sda<->sdb comes out right (no chained replacement)", () => {
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/sdb", "/dev/sdb": "/dev/sda", "/dev/sda1": "/dev/sdb1", "/dev/sdb1": "/dev/sda1" }, uuids: {} };
    const text = "/dev/sda1 / ext4 defaults 0 1\n/dev/sdb1 /data ext4 defaults 0 2\n";
    expect(rewriteFile("fstab", text, r).text).toBe("/dev/sdb1 / ext4 defaults 0 1\n/dev/sda1 /data ext4 defaults 0 2\n");
    expect(rewriteFile("generic", "(hd0) /dev/sda\n(hd1) /dev/sdb\n", r).text).toBe("(hd0) /dev/sdb\n(hd1) /dev/sda\n");
  });
  test("a chain sda->sdb, sdb->sdc is applied once", () => {
    const r: DeviceRenames = { devices: { "/dev/sda2": "/dev/sdb2", "/dev/sdb2": "/dev/sdc2" }, uuids: {} };
    expect(rewriteFile("generic", "a /dev/sda2 b /dev/sdb2", r).text).toBe("a /dev/sdb2 b /dev/sdc2");
  });
  test("partitions of a mapped whole disk follow it, in the new disk's partition naming", () => {
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/nvme0n1", "/dev/nvme1n1": "/dev/vdb" }, uuids: {} };
    expect(rewriteFile("generic", "/dev/sda3 /dev/sda /dev/nvme1n1p2 /dev/nvme1n11", r).text).toBe(
      "/dev/nvme0n1p3 /dev/nvme0n1 /dev/vdb2 /dev/nvme1n11",
    );
    // An explicit partition mapping wins over the derived one.
    const explicit: DeviceRenames = { devices: { "/dev/sda": "/dev/sdb", "/dev/sda2": "/dev/sdb5" }, uuids: {} };
    expect(rewriteFile("generic", "/dev/sda2 /dev/sda1", explicit).text).toBe("/dev/sdb5 /dev/sdb1");
  });
  test("no partition is derived from a partition or a /dev/mapper name", () => {
    const r: DeviceRenames = { devices: { "/dev/sda2": "/dev/vda2", "/dev/mapper/vg-root": "/dev/mapper/vg2-root" }, uuids: {} };
    expect(rewriteFile("generic", "/dev/sda21 /dev/mapper/vg-root2 /dev/mapper/vg-root-x /dev/mapper/vg-root", r).text).toBe(
      "/dev/sda21 /dev/mapper/vg-root2 /dev/mapper/vg-root-x /dev/mapper/vg2-root",
    );
  });
  test("boundaries: punctuation after a name ends it, a path around it does not", () => {
    const r: DeviceRenames = { devices: { "/dev/sda1": "/dev/vda1" }, uuids: {} };
    const text = `a|^/dev/sda1$| "/dev/sda1", (/dev/sda1) devices=/dev/sda1,/dev/sdb1 /dev/sda1. /mnt/dev/sda1 /dev/sda1/x /dev/sda1.bak`;
    expect(rewriteFile("generic", text, r).text).toBe(
      `a|^/dev/vda1$| "/dev/vda1", (/dev/vda1) devices=/dev/vda1,/dev/sdb1 /dev/vda1. /mnt/dev/sda1 /dev/sda1/x /dev/sda1.bak`,
    );
  });
  test("md and mapper names are renamed when listed", () => {
    const r: DeviceRenames = { devices: { "/dev/md127": "/dev/md0", "/dev/md/host:root": "/dev/md/root", "/dev/mapper/mpatha": "/dev/mapper/mpathb" }, uuids: {} };
    expect(rewriteFile("generic", "/dev/md127 /dev/md/host:root /dev/mapper/mpatha /dev/mapper/mpatha-part1", r).text).toBe(
      "/dev/md0 /dev/md/root /dev/mapper/mpathb /dev/mapper/mpatha-part1",
    );
  });
  test("by-id names, and their -partN from a mapped by-id disk", () => {
    const r: DeviceRenames = {
      devices: {},
      uuids: {},
      byId: { "/dev/disk/by-id/ata-OLD_SERIAL": "/dev/disk/by-id/nvme-NEW_SERIAL", "/dev/disk/by-id/ata-X-part2": "/dev/disk/by-id/nvme-Y-part2" },
    };
    const text = "/dev/disk/by-id/ata-OLD_SERIAL-part1 /dev/disk/by-id/ata-OLD_SERIAL /dev/disk/by-id/ata-X-part2 /dev/disk/by-id/ata-X-part20\n";
    expect(rewriteFile("generic", text, r).text).toBe(
      "/dev/disk/by-id/nvme-NEW_SERIAL-part1 /dev/disk/by-id/nvme-NEW_SERIAL /dev/disk/by-id/nvme-Y-part2 /dev/disk/by-id/ata-X-part20\n",
    );
  });
});

describe("UUIDs", () => {
  test("every spelling of a reference", () => {
    const text = [
      `UUID=${U1_OLD} / ext4 defaults 0 1`,
      `UUID="${U1_OLD}" / ext4 defaults 0 1`,
      `/dev/disk/by-uuid/${U1_OLD} / ext4 defaults 0 1`,
      `root=UUID=${U1_OLD} resume=UUID=${U2_OLD} cryptdevice=UUID=${LUKS_OLD}:cryptroot`,
      `rd.luks.uuid=${LUKS_OLD} rd.luks.uuid=luks-${LUKS_OLD} rd.md.uuid=${MD_OLD}`,
      `cryptomount -u ${LUKS_OLD.replace(/-/g, "")}`,
      `x ${U1_OLD.toUpperCase()} y`,
    ].join("\n");
    expect(lines(rewriteFile("generic", text, uuidsOnly).text)).toEqual([
      `UUID=${U1_NEW} / ext4 defaults 0 1`,
      `UUID="${U1_NEW}" / ext4 defaults 0 1`,
      `/dev/disk/by-uuid/${U1_NEW} / ext4 defaults 0 1`,
      `root=UUID=${U1_NEW} resume=UUID=${U2_NEW} cryptdevice=UUID=${LUKS_NEW}:cryptroot`,
      `rd.luks.uuid=${LUKS_NEW} rd.luks.uuid=luks-${LUKS_NEW} rd.md.uuid=${MD_NEW}`,
      `cryptomount -u ${LUKS_NEW.replace(/-/g, "")}`,
      `x ${U1_NEW.toUpperCase()} y`,
    ]);
  });
  test("keys are case-insensitive; MD UUIDs match across colon and dash spellings, written like the file", () => {
    const r: DeviceRenames = { devices: {}, uuids: { "8D05EB84-2DE8-31D1-DFED-54B2AD592118": "11223344-5566-7788-99aa-bbccddeeff00" } };
    expect(rewriteFile("generic", `rd.md.uuid=${MD_OLD} md-uuid-8d05eb84-2de8-31d1-dfed-54b2ad592118`, r).text).toBe(
      "rd.md.uuid=11223344:55667788:99aabbcc:ddeeff00 md-uuid-11223344-5566-7788-99aa-bbccddeeff00",
    );
  });
  test("FAT volume ids keep their spelling", () => {
    const r: DeviceRenames = { devices: {}, uuids: { "1A2B-3C4D": "9F8E-7D6C" } };
    expect(rewriteFile("fstab", "UUID=1A2B-3C4D /boot/efi vfat umask=0077 0 1\n", r).text).toBe("UUID=9F8E-7D6C /boot/efi vfat umask=0077 0 1\n");
  });
  test("a UUID is a whole token: not inside a longer hex string", () => {
    const r: DeviceRenames = { devices: {}, uuids: { "1a2b-3c4d": "9f8e-7d6c" } };
    expect(rewriteFile("generic", "x1a2b-3c4d 1a2b-3c4d0 01a2b-3c4d", r).changes).toEqual([]);
  });
  test("a swap of two UUIDs comes out right", () => {
    const r: DeviceRenames = { devices: {}, uuids: { [U1_OLD]: U2_OLD, [U2_OLD]: U1_OLD } };
    expect(rewriteFile("generic", `UUID=${U1_OLD} UUID=${U2_OLD}`, r).text).toBe(`UUID=${U2_OLD} UUID=${U1_OLD}`);
  });
  test("PARTUUID is left unless it is in the map", () => {
    const partOld = "0a1b2c3d-02";
    const text = `PARTUUID=${U1_OLD.replace("7a1c", "7a1d")} / ext4 defaults 0 1\nPARTUUID=${partOld} /b ext4 defaults 0 1\n`;
    expect(rewriteFile("fstab", text, uuidsOnly).changes).toEqual([]);
    const pu = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
    const pr: DeviceRenames = { devices: {}, uuids: { [pu]: "00000000-1111-2222-3333-444444444444" } };
    expect(rewriteFile("fstab", `PARTUUID=${pu} / ext4 defaults 0 1`, pr).text).toBe("PARTUUID=00000000-1111-2222-3333-444444444444 / ext4 defaults 0 1");
  });
  test("names stay names: /dev/mapper/luks-<uuid>, dm-name-, LABEL=, and the name of rd.luks.name / cryptdevice", () => {
    const text = [
      `/dev/mapper/luks-${LUKS_OLD} / ext4 defaults 0 1`,
      `root=/dev/mapper/luks-${LUKS_OLD} rd.luks.name=${LUKS_OLD}=luks-${LUKS_OLD} luks.name=${LUKS_OLD}=root`,
      `cryptdevice=/dev/disk/by-uuid/${LUKS_OLD}:luks-${LUKS_OLD}:allow-discards`,
      `/dev/disk/by-id/dm-name-luks-${LUKS_OLD} LABEL=${U1_OLD} PARTLABEL=${U1_OLD}`,
    ].join("\n");
    expect(lines(rewriteFile("generic", text, uuidsOnly).text)).toEqual([
      `/dev/mapper/luks-${LUKS_OLD} / ext4 defaults 0 1`,
      `root=/dev/mapper/luks-${LUKS_OLD} rd.luks.name=${LUKS_NEW}=luks-${LUKS_OLD} luks.name=${LUKS_NEW}=root`,
      `cryptdevice=/dev/disk/by-uuid/${LUKS_NEW}:luks-${LUKS_OLD}:allow-discards`,
      `/dev/disk/by-id/dm-name-luks-${LUKS_OLD} LABEL=${U1_OLD} PARTLABEL=${U1_OLD}`,
    ]);
  });
  test("a by-id dm-uuid of a LUKS device follows its UUID but keeps the mapping's name", () => {
    const hexOld = LUKS_OLD.replace(/-/g, "");
    const hexNew = LUKS_NEW.replace(/-/g, "");
    expect(rewriteFile("generic", `/dev/disk/by-id/dm-uuid-CRYPT-LUKS2-${hexOld}-luks-${LUKS_OLD} none`, uuidsOnly).text).toBe(
      `/dev/disk/by-id/dm-uuid-CRYPT-LUKS2-${hexNew}-luks-${LUKS_OLD} none`,
    );
  });
  test("a /dev/mapper name listed as a whole in devices is renamed", () => {
    const r: DeviceRenames = { devices: { [`/dev/mapper/luks-${LUKS_OLD}`]: `/dev/mapper/luks-${LUKS_NEW}` }, uuids: { [LUKS_OLD]: LUKS_NEW } };
    expect(rewriteFile("fstab", `/dev/mapper/luks-${LUKS_OLD} / ext4 defaults 0 1`, r).text).toBe(`/dev/mapper/luks-${LUKS_NEW} / ext4 defaults 0 1`);
  });
  test("devices and UUIDs in one pass on the same line", () => {
    const r: DeviceRenames = { devices: { "/dev/sda2": "/dev/nvme0n1p2" }, uuids: { [U1_OLD]: U1_NEW } };
    expect(rewriteFile("kernel-cmdline", `root=UUID=${U1_OLD} resume=/dev/sda2 quiet\n`, r).text).toBe(`root=UUID=${U1_NEW} resume=/dev/nvme0n1p2 quiet\n`);
  });
});

describe("fstab", () => {
  const FSTAB = [
    "# /etc/fstab: static file system information.",
    "# /dev/sda1 was on /boot during installation",
    "",
    `UUID=${U1_OLD}  /               ext4    errors=remount-ro 0       1`,
    "/dev/sda1\t/boot\text4\tdefaults,x-systemd.requires=/dev/sda2\t0\t2",
    `  /dev/sda2 none swap sw,comment=${U2_OLD} 0 0`,
    "LABEL=data /data xfs defaults 0 0",
    "server:/export /mnt/nfs nfs defaults 0 0",
    "",
  ].join("\n");
  const r: DeviceRenames = { ...toNvme, uuids: { [U1_OLD]: U1_NEW, [U2_OLD]: U2_NEW } };

  test("only the first field; comments, blanks, other fields and spacing kept byte for byte", () => {
    const out = rewriteFile("fstab", FSTAB, r);
    const expected = [
      "# /etc/fstab: static file system information.",
      "# /dev/sda1 was on /boot during installation",
      "",
      `UUID=${U1_NEW}  /               ext4    errors=remount-ro 0       1`,
      "/dev/nvme0n1p1\t/boot\text4\tdefaults,x-systemd.requires=/dev/sda2\t0\t2",
      `  /dev/nvme0n1p2 none swap sw,comment=${U2_OLD} 0 0`,
      "LABEL=data /data xfs defaults 0 0",
      "server:/export /mnt/nfs nfs defaults 0 0",
      "",
    ].join("\n");
    expect(out.text).toBe(expected);
    expect(out.changes.map((c) => c.line)).toEqual([4, 5, 6]);
    expect(out.changes[1]).toEqual({ line: 5, before: "/dev/sda1\t/boot\text4\tdefaults,x-systemd.requires=/dev/sda2\t0\t2", after: "/dev/nvme0n1p1\t/boot\text4\tdefaults,x-systemd.requires=/dev/sda2\t0\t2" });
  });
  test("idempotent: rewriting the result again changes nothing", () => {
    const once = rewriteFile("fstab", FSTAB, r).text;
    expect(rewriteFile("fstab", once, r).changes).toEqual([]);
  });
  test("CRLF and a missing trailing newline are kept", () => {
    expect(rewriteFile("fstab", "/dev/sda1 / ext4 defaults 0 1\r\n# c\r\n", toNvme).text).toBe("/dev/nvme0n1p1 / ext4 defaults 0 1\r\n# c\r\n");
    expect(rewriteFile("fstab", "/dev/sda1 / ext4 defaults 0 1", toNvme).text).toBe("/dev/nvme0n1p1 / ext4 defaults 0 1");
  });
});

describe("crypttab", () => {
  test("only the source device (second field); name, key file and options kept", () => {
    const text = [
      "# <target name> <source device> <key file> <options>",
      `luks-${LUKS_OLD} UUID=${LUKS_OLD} none discard`,
      "cr_home /dev/sda3 /dev/sda4 luks,header=/dev/sda5",
      "",
    ].join("\n");
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/vda" }, uuids: { [LUKS_OLD]: LUKS_NEW } };
    const out = rewriteFile("crypttab", text, r);
    expect(lines(out.text)).toEqual([
      "# <target name> <source device> <key file> <options>",
      `luks-${LUKS_OLD} UUID=${LUKS_NEW} none discard`,
      "cr_home /dev/vda3 /dev/sda4 luks,header=/dev/sda5",
      "",
    ]);
    expect(out.changes.map((c) => c.line)).toEqual([2, 3]);
  });
});

describe("default-grub", () => {
  test("GRUB_CMDLINE_LINUX and _DEFAULT values only", () => {
    const text = [
      "# GRUB_CMDLINE_LINUX=\"root=/dev/sda2\"",
      'GRUB_DEFAULT=0',
      `GRUB_CMDLINE_LINUX="rd.md.uuid=${MD_OLD} rd.lvm.lv=vg0/root resume=UUID=${U2_OLD}"`,
      "GRUB_CMDLINE_LINUX_DEFAULT='quiet root=/dev/sda2'",
      "GRUB_DISABLE_OS_PROBER=/dev/sda2",
    ].join("\n");
    const r: DeviceRenames = { devices: { "/dev/sda2": "/dev/nvme0n1p2" }, uuids: { [MD_OLD]: MD_NEW, [U2_OLD]: U2_NEW } };
    const out = rewriteFile("default-grub", text, r);
    expect(lines(out.text)).toEqual([
      "# GRUB_CMDLINE_LINUX=\"root=/dev/sda2\"",
      'GRUB_DEFAULT=0',
      `GRUB_CMDLINE_LINUX="rd.md.uuid=${MD_NEW} rd.lvm.lv=vg0/root resume=UUID=${U2_NEW}"`,
      "GRUB_CMDLINE_LINUX_DEFAULT='quiet root=/dev/nvme0n1p2'",
      "GRUB_DISABLE_OS_PROBER=/dev/sda2",
    ]);
  });
});

describe("grub-cfg", () => {
  test("search --fs-uuid with hints, linux lines, cryptomount; comments kept", () => {
    const text = [
      "### BEGIN /etc/grub.d/10_linux ###",
      `# search ${U1_OLD}`,
      `\tsearch --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 --hint-efi=hd0,gpt2 --hint-baremetal=ahci0,gpt2  ${U1_OLD}`,
      `\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=${U1_OLD} ro resume=/dev/sda3 rd.luks.uuid=luks-${LUKS_OLD} quiet`,
      "\tinitrd\t/initrd.img-6.1.0-18-amd64",
    ].join("\n");
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/vda" }, uuids: { [U1_OLD]: U1_NEW, [LUKS_OLD]: LUKS_NEW } };
    const out = rewriteFile("grub-cfg", text, r);
    expect(lines(out.text)).toEqual([
      "### BEGIN /etc/grub.d/10_linux ###",
      `# search ${U1_OLD}`,
      `\tsearch --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 --hint-efi=hd0,gpt2 --hint-baremetal=ahci0,gpt2  ${U1_NEW}`,
      `\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=${U1_NEW} ro resume=/dev/vda3 rd.luks.uuid=luks-${LUKS_NEW} quiet`,
      "\tinitrd\t/initrd.img-6.1.0-18-amd64",
    ]);
    expect(out.changes.map((c) => c.line)).toEqual([3, 4]);
  });
  test("the ESP stub", () => {
    const stub = `search --no-floppy --fs-uuid --set=dev ${U1_OLD}\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n`;
    expect(rewriteFile("grub-cfg", stub, uuidsOnly).text).toBe(stub.replace(U1_OLD, U1_NEW));
  });
});

describe("mdadm-conf", () => {
  test("ARRAY UUID in colon form, device names, continuation lines; comments kept", () => {
    const text = [
      "# definitions of existing MD arrays",
      "DEVICE /dev/sda1 /dev/sdb1",
      `ARRAY /dev/md/0  metadata=1.2 UUID=${MD_OLD} name=host:0`,
      "   devices=/dev/sda1,/dev/sdb1",
      `# ARRAY /dev/md0 UUID=${MD_OLD}`,
      "MAILADDR root",
    ].join("\n");
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/vda", "/dev/sdb": "/dev/vdb" }, uuids: { "8d05eb84-2de8-31d1-dfed-54b2ad592118": "11223344-5566-7788-99aa-bbccddeeff00" } };
    const out = rewriteFile("mdadm-conf", text, r);
    expect(lines(out.text)).toEqual([
      "# definitions of existing MD arrays",
      "DEVICE /dev/vda1 /dev/vdb1",
      `ARRAY /dev/md/0  metadata=1.2 UUID=${MD_NEW} name=host:0`,
      "   devices=/dev/vda1,/dev/vdb1",
      `# ARRAY /dev/md0 UUID=${MD_OLD}`,
      "MAILADDR root",
    ]);
  });
});

describe("lvm-devices", () => {
  const FILE = [
    "# LVM uses devices listed in this file.",
    "# Created by LVM command vgimportdevices pid 1234 at Mon Jan  1 00:00:00 2024",
    "VERSION=1.1.3",
    "IDTYPE=devname IDNAME=/dev/sda2 DEVNAME=/dev/sda2 PVID=3WXBl2mdFiLr2TQ9dI6w6MLHfe0ZGzZf PART=2",
    "IDTYPE=sys_wwid IDNAME=naa.600508b1001c4d5e DEVNAME=/dev/sdb1 PVID=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 PART=1",
    "IDTYPE=sys_serial IDNAME=QM00001 DEVNAME=/dev/sdc1 PVID=Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56 PART=1",
    `IDTYPE=md_uuid IDNAME=${"8d05eb84-2de8-31d1-dfed-54b2ad592118"} DEVNAME=/dev/md127 PVID=Yy12Cd34Ef56Gh78Ij90Kl12Mn34Op56`,
    "",
  ].join("\n");
  const r: DeviceRenames = {
    devices: { "/dev/sda": "/dev/nvme0n1", "/dev/sdb": "/dev/nvme1n1", "/dev/md127": "/dev/md0" },
    uuids: { [MD_OLD]: MD_NEW },
  };
  test("devname entries get IDNAME and DEVNAME renamed; md_uuid follows the array; wwid/serial entries kept and reported", () => {
    const out = rewriteFile("lvm-devices", FILE, r);
    expect(lines(out.text)).toEqual([
      "# LVM uses devices listed in this file.",
      "# Created by LVM command vgimportdevices pid 1234 at Mon Jan  1 00:00:00 2024",
      "VERSION=1.1.3",
      "IDTYPE=devname IDNAME=/dev/nvme0n1p2 DEVNAME=/dev/nvme0n1p2 PVID=3WXBl2mdFiLr2TQ9dI6w6MLHfe0ZGzZf PART=2",
      "IDTYPE=sys_wwid IDNAME=naa.600508b1001c4d5e DEVNAME=/dev/sdb1 PVID=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 PART=1",
      "IDTYPE=sys_serial IDNAME=QM00001 DEVNAME=/dev/sdc1 PVID=Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56 PART=1",
      "IDTYPE=md_uuid IDNAME=11223344-5566-7788-99aa-bbccddeeff00 DEVNAME=/dev/md0 PVID=Yy12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
      "",
    ]);
    expect(out.changes.map((c) => c.line)).toEqual([4, 7]);
    // sdb1 was renamed, so its WWID line is reported; sdc1 was not, so it is not.
    expect(out.skipped?.map((s) => s.line)).toEqual([5]);
    expect(out.skipped?.[0]?.reason).toContain("WWID");
  });
  test("a PVID in the UUID map is replaced (written without dashes)", () => {
    const pv: DeviceRenames = { devices: {}, uuids: { "3WXBl2-mdFi-Lr2T-Q9dI-6w6M-LHfe-0ZGzZf": "NEWPV2-mdFi-Lr2T-Q9dI-6w6M-LHfe-0ZGzZf" } };
    expect(rewriteFile("lvm-devices", FILE, pv).changes).toEqual([
      {
        line: 4,
        before: "IDTYPE=devname IDNAME=/dev/sda2 DEVNAME=/dev/sda2 PVID=3WXBl2mdFiLr2TQ9dI6w6MLHfe0ZGzZf PART=2",
        after: "IDTYPE=devname IDNAME=/dev/sda2 DEVNAME=/dev/sda2 PVID=NEWPV2mdFiLr2TQ9dI6w6MLHfe0ZGzZf PART=2",
      },
    ]);
  });
  test("nothing renamed: no changes, no skipped", () => {
    const out = rewriteFile("lvm-devices", FILE, { devices: { "/dev/sdz": "/dev/sdy" }, uuids: {} });
    expect(out).toEqual({ text: FILE, changes: [] });
  });
});

describe("kernel-cmdline and generic", () => {
  test("/etc/kernel/cmdline", () => {
    const text = `root=/dev/sda2 ro resume=/dev/sda3 rd.luks.uuid=${LUKS_OLD}\n`;
    const r: DeviceRenames = { devices: { "/dev/sda": "/dev/nvme0n1" }, uuids: { [LUKS_OLD]: LUKS_NEW } };
    expect(rewriteFile("kernel-cmdline", text, r)).toEqual({
      text: `root=/dev/nvme0n1p2 ro resume=/dev/nvme0n1p3 rd.luks.uuid=${LUKS_NEW}\n`,
      changes: [{ line: 1, before: text.trimEnd(), after: `root=/dev/nvme0n1p2 ro resume=/dev/nvme0n1p3 rd.luks.uuid=${LUKS_NEW}` }],
    });
  });
  test("initramfs-tools resume and BLS options; generic also rewrites comments", () => {
    expect(rewriteFile("generic", `RESUME=UUID=${U2_OLD}\n`, uuidsOnly).text).toBe(`RESUME=UUID=${U2_NEW}\n`);
    const bls = `title Rocky Linux\nversion 5.14.0\nlinux /vmlinuz-5.14.0\noptions root=UUID=${U1_OLD} ro resume=UUID=${U2_OLD}\n# was ${U1_OLD}\n`;
    expect(rewriteFile("generic", bls, uuidsOnly).changes.map((c) => c.line)).toEqual([4, 5]);
  });
});

describe("filesToPatch", () => {
  test("covers the files named by the brief, relative paths, no duplicates", () => {
    const files = filesToPatch();
    const byPath = new Map(files.map((f) => [f.path, f.kind]));
    expect(byPath.size).toBe(files.length);
    for (const f of files) expect(f.path.startsWith("/")).toBe(false);
    expect(byPath.get("etc/fstab")).toBe("fstab");
    expect(byPath.get("etc/crypttab")).toBe("crypttab");
    expect(byPath.get("etc/default/grub")).toBe("default-grub");
    expect(byPath.get("boot/grub/grub.cfg")).toBe("grub-cfg");
    expect(byPath.get("boot/grub2/grub.cfg")).toBe("grub-cfg");
    expect(byPath.get("boot/efi/*/*/grub.cfg")).toBe("grub-cfg");
    expect(byPath.get("etc/mdadm/mdadm.conf")).toBe("mdadm-conf");
    expect(byPath.get("etc/mdadm.conf")).toBe("mdadm-conf");
    expect(byPath.get("etc/lvm/devices/system.devices")).toBe("lvm-devices");
    expect(byPath.get("etc/kernel/cmdline")).toBe("kernel-cmdline");
    expect(byPath.has("etc/initramfs-tools/conf.d/resume")).toBe(true);
    expect(byPath.has("etc/sysconfig/bootloader")).toBe(true);
    expect([...byPath.keys()].some((p) => p.includes("grubenv"))).toBe(false);
  });
});
