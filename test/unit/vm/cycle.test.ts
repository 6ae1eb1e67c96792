// Pieces of the scenario cycle: the UEFI boot entry that started a machine, where the power is cut.
import { describe, expect, test } from "bun:test";
import { bootCurrentEntry, liveRecoverJob, powerCutAt, sourceKey, unlock } from "../../vm/lib/cycle.ts";
import { fleetIsoJob, fleetLocalConf } from "../../vm/lib/fleet.ts";

describe("bootCurrentEntry", () => {
  const out = `BootCurrent: 0004
Timeout: 0 seconds
BootOrder: 0004,0001,0000
Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)
Boot0001* UEFI Misc Device\tPciRoot(0x0)/Pci(0x3,0x0){auto_created_boot_option}
Boot0004* Debian 12\tHD(1,GPT,0b3c1d2e-aaaa-bbbb-cccc-000000000001,0x800,0x100000)/File(\\EFI\\debian\\shimx64.efi)
`;
  test("names the entry BootCurrent points at", () => {
    expect(bootCurrentEntry(out)).toContain("File(\\EFI\\debian\\shimx64.efi)");
    expect(bootCurrentEntry(out.replace("BootCurrent: 0004", "BootCurrent: 0001"))).toStartWith("Boot0001* UEFI Misc Device");
  });
  test("nothing when BootCurrent is missing or names no entry", () => {
    expect(bootCurrentEntry("")).toBeUndefined();
    expect(bootCurrentEntry(out.replace("BootCurrent: 0004", "BootCurrent: 0009"))).toBeUndefined();
  });
});

describe("powerCutAt", () => {
  test("during the restore, and during finalize per firmware", () => {
    expect(powerCutAt("layout", "bios").text).toBe("Create LUKS volume");
    expect(powerCutAt("restore", "bios").text).toBe("Restoring from");
    expect(powerCutAt("finalize", "bios").text).toBe("Installing GRUB on");
    expect(powerCutAt("finalize", "uefi").text).toBe("Finalizing the recovered system");
  });
});

describe("liveRecoverJob", () => {
  test("no rear on the live system, the programs taken away, the archive from the backup disk, rear -p -n recover", () => {
    const j = liveRecoverJob({ live: { remove: ["mkfs.xfs"] } }).script;
    expect(j).toContain("rm -rf /usr/sbin/rear /etc/rear /usr/share/rear /var/lib/rear");
    expect(j).toContain('rm -f "$d/mkfs.xfs"');
    expect(j).toContain("find /mnt/backupdisk -name '*-portable.tar.gz'");
    expect(j).toContain("./usr/sbin/rear -p -n -v recover > $HARNESS_OUT/recover.out 2>&1");
    expect(j.indexOf("umount /mnt/backupdisk")).toBeLessThan(j.indexOf("rear -p -n -v recover"));
    expect(liveRecoverJob({}).script).not.toContain('rm -f "$d/');
  });
});

describe("sourceKey: a built source machine is reused only when nothing that makes it changed", () => {
  test("same recipe, disks and image: same key; any of them changed: another", () => {
    const m = { firmware: "bios" as const, sourceDisks: [{ sizeMiB: 6144, bus: "virtio" as const }], layout: "mkfs.ext4 $DISK1" };
    const k = sourceKey(m, "img1");
    expect(sourceKey({ ...m }, "img1")).toBe(k);
    expect(sourceKey(m, "img2")).not.toBe(k);
    expect(sourceKey({ ...m, layout: "mkfs.xfs $DISK1" }, "img1")).not.toBe(k);
    expect(sourceKey({ ...m, sourceDisks: [{ sizeMiB: 8192, bus: "virtio" }] }, "img1")).not.toBe(k);
    expect(sourceKey({ ...m, postInstall: "echo x" }, "img1")).not.toBe(k);
    expect(sourceKey({ ...m, firmware: "uefi" }, "img1")).not.toBe(k);
  });
});

describe("the fleet's generic rescue ISO", () => {
  test("its kernel options name the update URL with {uuid}; the private CA; the harness address replayed", () => {
    const conf = fleetLocalConf();
    expect(conf).toContain('KERNEL_CMDLINE+=" console=ttyS0,115200 recovery_update_url=https://10.0.2.100/{uuid}.tar.gz"');
    expect(conf).toContain("RECOVERY_UPDATE_CA=/etc/rear/update-ca.pem");
    expect(conf).toContain("ISO_RECOVER_MODE=unattended");
    const j = fleetIsoJob("-----BEGIN CERTIFICATE-----\n");
    expect(j.files!["update-ca.pem"]).toContain("BEGIN CERTIFICATE");
    expect(j.script).toContain("ip addr add 10.0.2.15/24");
    expect(j.script).toContain("hostname fleet-iso");
    expect(j.script).toContain("rear -v mkrescue");
  });
});

describe("unlock", () => {
  test("types the boot passphrase when the initramfs asks for it; nothing without one", () => {
    expect(unlock({ bootPassphrase: "pw" })).toEqual({ interact: [{ waitFor: "Please unlock disk", send: "pw\n" }] });
    expect(unlock({})).toEqual({});
  });
});

describe("rejudge: the comparison again on a finished run's truths", () => {
  test("replaces the comparison's checks, keeps the others, says what changed; a run without truths is an error", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { rejudge } = await import("../../vm/lib/cycle.ts");
    const { parseScenario } = await import("../../vm/lib/scenario.ts");
    const dir = mkdtempSync(join(tmpdir(), "rejudge-"));
    try {
      const s = parseScenario(JSON.stringify({
        name: "x", description: "d", firmware: "bios", sourceDisks: [{ sizeMiB: 1024 }], layout: "true",
        tool: { localConf: "", backupCommand: "rear mkbackup" }, backupDisk: { sizeMiB: 1024, prepare: "ext4" }, targetDisks: [{ sizeMiB: 1024 }], rescueBoot: "iso",
      }));
      const result = { scenario: "x", tool: "ours", ok: false, phases: { verify: { ok: true, ms: 1 } }, figures: {}, workDir: dir,
        checks: [{ name: "layout", ok: false, details: ["old"] }, { name: "backup-disk-untouched", ok: true, details: [] }] };
      writeFileSync(join(dir, "result.json"), JSON.stringify(result));
      expect(() => rejudge(dir, s)).toThrow(/did not collect both truths/);
      const lsblk = (lvs: string[]) => JSON.stringify({ blockdevices: [{ name: "vda", type: "disk", size: 9, serial: "s", children: [{ name: "vda1", type: "part", size: 8, children: lvs.map((l) => ({ name: l, type: "lvm", size: 1, fstype: l })) }] }] });
      for (const [sub, lvs] of [["backup/out/truth-before", ["root", "swap"]], ["verify/out/truth-after", ["swap", "root"]]] as const) {
        const t = join(dir, sub);
        mkdirSync(t, { recursive: true });
        writeFileSync(join(t, "complete"), "done\n");
        writeFileSync(join(t, "lsblk.json"), lsblk([...lvs]));
        writeFileSync(join(t, "manifest.tsv"), "d\t0755\t0\t0\t4096\t2\t1:2\t1\t/\t\n");
      }
      const r = rejudge(dir, s) as unknown as typeof result & { rejudged: { changed: string[] } };
      expect(r.ok).toBe(true);
      expect(r.checks.find((c) => c.name === "layout")!.ok).toBe(true);
      expect(r.checks.some((c) => c.name === "backup-disk-untouched")).toBe(true);
      expect(r.rejudged.changed).toEqual(["layout: FAIL → ok"]);
      expect(readFileSync(join(dir, "result.json"), "utf8")).toContain('"old"'); // rejudge returns; the caller writes
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bootFirstDisks", () => {
  test("bootFirst wins; on BIOS the first target disk otherwise; UEFI keeps its NVRAM order", async () => {
    const { bootFirstDisks } = await import("../../vm/lib/cycle.ts");
    const disks = [{ n: 1 }, { n: 2 }] as { n: number; bootindex?: number }[];
    expect(bootFirstDisks(disks, (d) => d.n === 2, "bios")).toEqual([{ n: 1 }, { n: 2, bootindex: 0 }]);
    expect(bootFirstDisks(disks, () => false, "bios")).toEqual([{ n: 1, bootindex: 0 }, { n: 2 }]);
    expect(bootFirstDisks(disks, () => false, "uefi")).toEqual(disks);
  });
});
