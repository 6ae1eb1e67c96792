// The pieces of a plan: the sfdisk script, mkfs.xfs geometry, the lsblk view of the disks of now, the
// safety checks and the rendered diskrestore.sh (read back by bash -n in the integration tier).

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readDisklayout } from "../../../../src/layout/disklayout/read.ts";
import { activeEntries, type DiskEntry, type PartEntry } from "../../../../src/layout/model.ts";
import { buildPlan } from "../../../../src/layout/plan/build.ts";
import { decodePartName, partNumber, sfdiskScript } from "../../../../src/layout/plan/partitions.ts";
import { renderDiskrestore, shellQuote } from "../../../../src/layout/plan/render.ts";
import type { Plan } from "../../../../src/layout/plan/types.ts";
import { seededUuids } from "../../../../src/layout/plan/uuids.ts";
import { parseXfsInfo, xfsGeometryOptions } from "../../../../src/layout/plan/xfs.ts";
import { checkPlanSafety, protectedDisks, REAR_LABELS } from "../../../../src/layout/safety.ts";
import { type TargetProbe, targetsFromLsblk } from "../../../../src/layout/targets.ts";
import { FIXTURES } from "../fixture-helpers.ts";

const entries = (text: string) => activeEntries(readDisklayout(text).doc);

describe("sfdisk scripts", () => {
  test("GPT with names (percent-decoded), type GUIDs from flags, PARTUUIDs and the disk GUID", () => {
    const e = entries("disk /dev/sda 8589934592 gpt\npart /dev/sda 2097152 1048576 rear-noname bios_grub /dev/sda1\npart /dev/sda 1073741824 3145728 my%20root legacy_boot /dev/sda2\n");
    const s = sfdiskScript(e[0] as DiskEntry, e.slice(1) as PartEntry[], 512, (id) => (id === "/dev/sda2" ? { partuuid: "abcd-ef" } : undefined), "1234-5678");
    expect(s).toBe(
      "label: gpt\nlabel-id: 1234-5678\nunit: sectors\n" +
        "/dev/sda1 : start=2048, size=4096, type=21686148-6449-6E6F-744E-656564454649\n" +
        '/dev/sda2 : start=6144, size=2097152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=ABCD-EF, name="my root", attrs="LegacyBIOSBootable"\n',
    );
  });
  test("MBR: extended and logical by number, the boot flag, the saved type id, 4K sectors", () => {
    const e = entries(
      "disk /dev/vda 4294967296 msdos\npart /dev/vda 1073741824 1048576 primary boot /dev/vda1\npart /dev/vda 3220176896 1074790400 extended lba /dev/vda2\npart /dev/vda 1073741824 1075838976 logical lvm /dev/vda5\n",
    );
    const s = sfdiskScript(e[0] as DiskEntry, e.slice(1) as PartEntry[], 4096, (id) => (id === "/dev/vda1" ? { typeId: "0x7" } : undefined), "0xdeadbeef");
    expect(s).toBe(
      "label: dos\nlabel-id: 0xdeadbeef\nunit: sectors\n" +
        "/dev/vda1 : start=256, size=262144, type=7, bootable\n" +
        "/dev/vda2 : start=262400, size=786176, type=5\n" +
        "/dev/vda5 : start=262656, size=262144, type=8e\n",
    );
  });
  test("a GPT partition before sector 2048 lowers first-lba", () => {
    const e = entries("disk /dev/sda 1073741824 gpt\npart /dev/sda 1048576 17408 x none /dev/sda1\n");
    expect(sfdiskScript(e[0] as DiskEntry, e.slice(1) as PartEntry[], 512, () => undefined)).toContain("first-lba: 34\n");
  });
  test("names and numbers", () => {
    expect(decodePartName("rear-noname")).toBe("");
    expect(decodePartName("a%2Fb")).toBe("a/b");
    expect(decodePartName("100%")).toBe("100%");
    expect(partNumber("/dev/nvme0n1p12")).toBe(12);
  });
});

describe("mkfs.xfs options from xfs_info", () => {
  const info = readFileSync(join(FIXTURES, "lvm-thin/probe/xfs_info/mapper!vg0-data.txt"), "utf8");
  test("sections and values", () => {
    const x = parseXfsInfo(info);
    expect(x["meta-data"]?.agcount).toBe("4");
    expect(x.log?.kind).toBe("internal log");
    expect(x.naming?.ftype).toBe("1");
  });
  test("geometry as mkfs.xfs options (log size in bytes, sunit 0 left out)", () => {
    expect(xfsGeometryOptions(info)).toEqual([
      "-b", "size=4096", "-s", "size=512", "-i", "size=512,sparse=1,nrext64=0", "-d", "agcount=4",
      "-m", "crc=1,finobt=1,rmapbt=0,reflink=1,bigtime=1,inobtcount=1", "-n", "size=4096", "-l", "size=67108864,version=2,lazy-count=1",
    ]);
  });
  test("a v4 (crc=0) filesystem keeps ftype and no v5-only features", () => {
    const v4 = info.replace("crc=1", "crc=0");
    const o = xfsGeometryOptions(v4);
    expect(o).toContain("crc=0");
    expect(o.join(" ")).toContain("-n size=4096,ftype=1");
    expect(o.join(" ")).not.toContain("reflink");
  });
});

const LSBLK = readFileSync(join(FIXTURES, "raid1/probe/lsblk.json"), "utf8");

describe("the disks of now (lsblk)", () => {
  test("disks with their identity and everything stacked on them; CD-ROMs are not disks", () => {
    const t = targetsFromLsblk(LSBLK, { "virtio-src1": "/dev/vda" });
    expect(t.disks.map((d) => d.device)).toEqual(["/dev/vda", "/dev/vdb"]);
    const vda = t.disks[0]!;
    expect(vda.serial).toBe("src1");
    expect(vda.byId).toEqual(["virtio-src1"]);
    expect(vda.children.map((c) => `${c.device}:${c.type}:${c.depth}`)).toEqual(["/dev/vda1:part:0", "/dev/md0:raid1:1", "/dev/vda2:part:0", "/dev/md1:raid1:1"]);
    expect(vda.children[1]!.mountpoints).toEqual(["/"]);
  });
  test("bad JSON is an error that says so", () => {
    expect(() => targetsFromLsblk("{")).toThrow("cannot read lsblk's JSON output");
  });
});

function probe(disks: { device: string; label?: string; mount?: string; ro?: boolean; uuid?: string }[]): TargetProbe {
  return {
    disks: disks.map((d) => ({
      device: d.device, sizeBytes: 2 ** 30, logicalSectorSize: 512, readOnly: d.ro === true, removable: false, byId: [], mountpoints: [],
      children: [{ device: `${d.device}1`, type: "part", sizeBytes: 2 ** 29, mountpoints: d.mount ? [d.mount] : [], depth: 0, ...(d.label ? { label: d.label } : {}), ...(d.uuid ? { uuid: d.uuid } : {}) }],
    })),
  };
}
const rules = { labelPatterns: [...REAR_LABELS, "BACKUP*"], ids: ["1111-2222"], idTypes: ["UUID", "PTUUID", "PARTUUID", "WWN"], backupDevices: [{ device: "/dev/sde1", why: "BACKUP_URL=usb:///dev/disk/by-label/X" }], targetRoot: "/mnt/local" };

describe("what recover must never overwrite", () => {
  test("rescue medium and backup labels, write-protected ids, the running root, the backup device, read-only disks", () => {
    const t = probe([
      { device: "/dev/sda", label: "REAR-000" }, { device: "/dev/sdb", label: "BACKUPS" }, { device: "/dev/sdc", uuid: "1111-2222" },
      { device: "/dev/sdd", mount: "/" }, { device: "/dev/sde" }, { device: "/dev/sdf", ro: true }, { device: "/dev/sdg", label: "data" },
    ]);
    const p = protectedDisks(t, rules);
    expect([...p.keys()]).toEqual(["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/sde", "/dev/sdf"]);
    expect(p.get("/dev/sda")).toContain("label REAR-000");
    expect(p.get("/dev/sde")).toContain("holds the backup");
  });
  const plan = (wipe: string[]): Plan => ({
    format: "rear-plan/1", layoutSha256: "", mapping: {}, wipe, steps: [], layout: [], unhandled: [], uuidChanges: [], luksKeys: [], mounts: [], targetRoot: "/mnt/local", doneDir: "/d",
  });
  test("every problem is listed before anything runs; a resumed plan's own mounts are fine", () => {
    const t = probe([{ device: "/dev/sda", label: "REAR-000" }, { device: "/dev/sdb", mount: "/srv" }, { device: "/dev/sdc", mount: "/mnt/local/boot" }]);
    const errs = checkPlanSafety(plan(["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdz"]), t, protectedDisks(t, rules), { targetRoot: "/mnt/local", resuming: false });
    expect(errs).toEqual([
      "/dev/sda must not be overwritten: /dev/sda1 has the label REAR-000 (rescue medium or backup)",
      "/dev/sdb1 on /dev/sdb is mounted at /srv: unmount it first ('umount /srv')",
      "/dev/sdc1 on /dev/sdc is mounted at /mnt/local/boot: unmount it first ('umount /mnt/local/boot')",
      "/dev/sdz is not there (the plan would write to it)",
    ]);
    const again = checkPlanSafety(plan(["/dev/sdc"]), t, protectedDisks(t, rules), { targetRoot: "/mnt/local", resuming: true });
    expect(again).toEqual([]);
  });
});

describe("diskrestore.sh", () => {
  test("shell quoting", () => {
    expect(shellQuote("/dev/sda1")).toBe("/dev/sda1");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("")).toBe("''");
  });
  const layout = readDisklayout(
    "disk /dev/sda 2147483648 gpt\npart /dev/sda 1073741824 1048576 root none /dev/sda1\npart /dev/sda 1071644672 1074790400 crypt none /dev/sda2\ncrypt /dev/mapper/secret /dev/sda2 type=luks2 cipher=aes-xts-plain64 key_size=512 hash=sha256 uuid=u-1\nfs /dev/sda1 / ext4 uuid=u-2 label=root options=rw\nfs /dev/mapper/secret /secret xfs uuid=u-3 label=s options=rw\n",
  ).doc;
  const t = probe([{ device: "/dev/sda" }]);
  const plan = buildPlan({
    doc: layout, facts: {}, targets: t, mapping: { "/dev/sda": "/dev/sda" }, wipe: ["/dev/sda"], xfsInfo: {}, lvmCfg: {}, allowVgcfgrestore: false, uuids: seededUuids("x"),
    cryptsetupOptions: [], xfsOptions: () => undefined, targetRoot: "/mnt/local", workDir: "/var/lib/rear/layout/recreate", layoutSha256: "f".repeat(64),
  });
  const script = renderDiskrestore(plan, { hostname: "h", layoutFile: "/l", version: "t" });
  test("a LUKS passphrase is asked in the script's shell (not in a pipe's subshell) and never written into it", () => {
    expect(script).toContain("luks_passphrase secret /dev/sda2 && luks_print secret | cryptsetup luksFormat");
    expect(script).toMatch(/test -b \/dev\/mapper\/secret >\/dev\/null 2>&1; \} \|\| \{ luks_passphrase secret \/dev\/sda2 && luks_print secret \| cryptsetup open/);
  });
  test("a step whose effect is there only gets its marker; the sfdisk script is a quoted here-document", () => {
    // only when resuming (some marker existed when the script started): on a first run nothing on the disks is ours
    expect(script).toContain('RESUMING=; [ -n "$(ls -A "$DONE_DIR")" ] && RESUMING=1');
    expect(script).toContain('{ [ -n "$RESUMING" ] && mountpoint -q /mnt/local >/dev/null 2>&1; } || mount -t ext4 -o rw /dev/sda1 /mnt/local || failed');
    expect(script).toMatch(/sfdisk --wipe always --wipe-partitions always \/dev\/sda <<'EOF' \|\| failed [0-9]+-partition-sda\nlabel: gpt\n/);
  });
  test("the plan has the wipe, the partitions, LUKS, both filesystems and mounts in dependency order", () => {
    const actions = plan.steps.map((s) => s.action);
    expect(actions.indexOf("wipe")).toBeLessThan(actions.indexOf("partition"));
    expect(actions.indexOf("luks-format")).toBeLessThan(actions.indexOf("luks-open"));
    const mountAt = plan.steps.filter((s) => s.action === "mount").map((s) => s.argv.at(-1));
    expect(mountAt).toEqual(["/mnt/local", "/mnt/local/secret"]);
    expect(plan.mounts).toEqual(["/", "/secret"]);
  });
});
