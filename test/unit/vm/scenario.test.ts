import { describe, expect, test } from "bun:test";
import { listScenarios, loadScenario, machineFirmware, parseScenario } from "../../vm/lib/scenario.ts";

describe("VM scenarios are data files that validate against the schema", () => {
  test("every file in test/vm/scenarios", () => {
    const names = listScenarios();
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const n of names) expect(loadScenario(n).name).toBe(n);
  });
  test("the ReaR 2.7 baseline covers BIOS+ext4+swap, BIOS+LVM, UEFI+ext4", () => {
    const s = listScenarios().map(loadScenario);
    expect(s.some((x) => x.firmware === "bios" && /mkswap/.test(x.layout) && !/lvcreate/.test(x.layout))).toBe(true);
    expect(s.some((x) => x.firmware === "bios" && /lvcreate/.test(x.layout))).toBe(true);
    expect(s.some((x) => x.firmware === "uefi")).toBe(true);
  });
  const good = {
    name: "x", description: "d", firmware: "bios", sourceDisks: [{ sizeMiB: 1024 }], layout: "true",
    tool: { localConf: "", backupCommand: "rear mkbackup" }, backupDisk: { sizeMiB: 1024, prepare: "ext4" },
    targetDisks: [{ sizeMiB: 1024, bus: "nvme" }], rescueBoot: "iso",
  };
  test("Secure Boot: only with UEFI, and then for every boot of the machine", () => {
    expect(() => parseScenario(JSON.stringify({ ...good, secureBoot: true }))).toThrow(/secureBoot needs firmware "uefi"/);
    const s = parseScenario(JSON.stringify({ ...good, firmware: "uefi", secureBoot: true }));
    expect(machineFirmware(s)).toEqual({ firmware: "uefi", secureBoot: true });
    expect(machineFirmware(parseScenario(JSON.stringify(good)))).toEqual({ firmware: "bios" });
  });
  test("defaults are filled in", () => {
    const s = parseScenario(JSON.stringify(good));
    expect(s.sourceDisks[0]!.bus).toBe("virtio");
    expect(s.allowedDifferences).toEqual([]);
    expect(s.extraBoots).toEqual([]);
  });
  test("allowed differences and extra boots say why; extra boots name disks from 1", () => {
    expect(() => parseScenario(JSON.stringify({ ...good, allowedDifferences: ["/etc/x"] }))).toThrow(/allowedDifferences\.0/);
    expect(() => parseScenario(JSON.stringify({ ...good, allowedDifferences: [{ path: "/etc/x" }] }))).toThrow(/allowedDifferences\.0\.why/);
    expect(() => parseScenario(JSON.stringify({ ...good, extraBoots: [{ disks: [0], why: "x" }] }))).toThrow(/extraBoots\.0\.disks\.0/);
    expect(() => parseScenario(JSON.stringify({ ...good, extraBoots: [{ disks: [], why: "x" }] }))).toThrow(/extraBoots\.0\.disks/);
    expect(parseScenario(JSON.stringify({ ...good, extraBoots: [{ disks: [2], why: "the second half alone" }] })).extraBoots[0]!.disks).toEqual([2]);
    const raid = loadScenario("bios-raid1");
    expect(raid.extraBoots.map((b) => b.disks)).toEqual([[1], [2]]);
    expect(raid.postInstall).toContain("grub-install");
  });
  test("a live system (rescueBoot live): programs to take away, a refusal to expect; only with rescueBoot live", () => {
    const portable = { ...good, tool: { ...good.tool, localConf: "OUTPUT=PORTABLE\n" } };
    const s = parseScenario(JSON.stringify({ ...portable, rescueBoot: "live", live: { remove: ["mkfs.xfs"], expectRefusal: "mkfs.xfs" } }));
    expect(s.live).toEqual({ remove: ["mkfs.xfs"], expectRefusal: "mkfs.xfs" });
    expect(() => parseScenario(JSON.stringify({ ...good, live: { remove: [] } }))).toThrow(/"live" settings need rescueBoot "live"/);
    expect(() => parseScenario(JSON.stringify({ ...portable, rescueBoot: "live", live: { remove: ["rm -rf /"] } }))).toThrow(/live\.remove\.0/);
    expect(() => parseScenario(JSON.stringify({ ...good, rescueBoot: "live" }))).toThrow(/need OUTPUT=PORTABLE/);
    expect(loadScenario("bios-ext4-swap-portable").tool.localConf).toContain("OUTPUT=PORTABLE");
  });
  test("cove, rawdisk, pxe, udevPlug: each with what it needs", () => {
    const kernel = { ...good, rescueBoot: "kernel-initrd" };
    expect(parseScenario(JSON.stringify({ ...kernel, cove: { token: "cove-token-123" } })).cove).toEqual({ token: "cove-token-123", includeAgent: false });
    expect(() => parseScenario(JSON.stringify({ ...good, cove: { token: "cove-token-123" } }))).toThrow(/rescueBoot "kernel-initrd"/);
    expect(() => parseScenario(JSON.stringify({ ...kernel, cove: { token: "short" } }))).toThrow(/cove\.token/);
    expect(() => parseScenario(JSON.stringify({ ...good, rescueBoot: "rawdisk" }))).toThrow(/needs OUTPUT=RAWDISK/);
    expect(() => parseScenario(JSON.stringify({ ...good, rescueBoot: "pxe" }))).toThrow(/needs OUTPUT=PXE/);
    expect(parseScenario(JSON.stringify({ ...good, rescueBoot: "pxe", tool: { ...good.tool, localConf: "OUTPUT=PXE\n" } })).rescueBoot).toBe("pxe");
    expect(() => parseScenario(JSON.stringify({ ...good, udevPlug: true }))).toThrow(/udevPlug makes the stick with rear format/);
    const talk = loadScenario("bios-ext4-usb-udev");
    expect(talk.udevPlug).toBe(true);
    // the talk's configuration as written (shared/seeds/rear-talk-stackconf-2024.txt)
    for (const l of ["BACKUP=NETFS", "BACKUP_URL=usb:///dev/disk/by-label/REAR-000", "USB_DEVICE_FILESYSTEM_LABEL=REAR-000", "OUTPUT=USB", "UDEV_WORKFLOW=mkbackup", "SECURE_BOOT_BOOTLOADER=(/boot/efi/EFI/*/shimx64.efi)"]) {
      expect(talk.tool.localConf.split("\n")).toContain(l);
    }
  });
  test("fleetUpdate: another machine's ISO, this machine's PORTABLE archive by UUID", () => {
    const portable = { ...good, tool: { ...good.tool, localConf: "OUTPUT=PORTABLE\nBACKUP=NETFS\n" } };
    const s = parseScenario(JSON.stringify({ ...portable, fleetUpdate: { uuid: "5e1f0c2a-7b3d-4e8f-9a61-2c4d6e8f0a1b" } }));
    expect(s.fleetUpdate?.uuid).toBe("5e1f0c2a-7b3d-4e8f-9a61-2c4d6e8f0a1b");
    expect(() => parseScenario(JSON.stringify({ ...good, fleetUpdate: { uuid: "5e1f0c2a-7b3d-4e8f-9a61-2c4d6e8f0a1b" } }))).toThrow(/need OUTPUT=PORTABLE/);
    expect(() => parseScenario(JSON.stringify({ ...portable, fleetUpdate: { uuid: "not-a-uuid" } }))).toThrow(/fleetUpdate\.uuid/);
    expect(() => parseScenario(JSON.stringify({ ...portable, rescueBoot: "usb", fleetUpdate: { uuid: "5e1f0c2a-7b3d-4e8f-9a61-2c4d6e8f0a1b" } }))).toThrow(/rescueBoot "iso"/);
    expect(loadScenario("bios-lvm-fleet-update").postInstall).toContain("fleet-web7");
  });
  test("mistakes are reported with their path", () => {
    expect(() => parseScenario(JSON.stringify({ ...good, firmware: "coreboot" }))).toThrow(/firmware/);
    expect(() => parseScenario(JSON.stringify({ ...good, targetDisks: [{ sizeMiB: 1024, bus: "ide" }] }))).toThrow(/targetDisks\.0\.bus/);
    expect(() => parseScenario(JSON.stringify({ ...good, extra: 1 }))).toThrow(/extra|Unrecognized/);
    expect(() => parseScenario("{ not json")).toThrow(/not JSON/);
    expect(() => parseScenario(JSON.stringify(good), "/x/other-name.json")).toThrow(/must match the file name/);
  });
});
