// The storage drivers of a disk, read from a sysfs tree laid out as the kernel does (links included).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { diskDriverModules, newStorageDrivers, storageDrivers } from "../../../src/sys/storage-drivers.ts";

const sys = mkdtempSync("/tmp/rear-unit-sysfs.");
afterAll(() => rmSync(sys, { recursive: true, force: true }));
const link = (at: string, to: string) => {
  mkdirSync(dirname(join(sys, at)), { recursive: true });
  mkdirSync(join(sys, to), { recursive: true });
  symlinkSync(relative(dirname(join(sys, at)), join(sys, to)), join(sys, at));
};
const driver = (dev: string, bus: string, name: string, module?: string) => {
  link(`${dev}/driver`, `bus/${bus}/drivers/${name}`);
  if (module) link(`bus/${bus}/drivers/${name}/module`, `module/${module}`);
};
// vda: virtio_blk on virtio-pci
const virtio = "devices/pci0000:00/0000:00:04.0";
mkdirSync(join(sys, `${virtio}/virtio2/block/vda`), { recursive: true });
link("block/vda", `${virtio}/virtio2/block/vda`);
link(`${virtio}/virtio2/block/vda/device`, `${virtio}/virtio2`);
driver(`${virtio}/virtio2`, "virtio", "virtio_blk", "virtio_blk");
driver(virtio, "pci", "virtio-pci", "virtio_pci");
// nvme0n1: the controller's driver is on the PCI device; the namespace's "device" is the class device nvme0
const nv = "devices/pci0000:00/0000:00:05.0";
mkdirSync(join(sys, `${nv}/nvme/nvme0/nvme0n1`), { recursive: true });
link("block/nvme0n1", `${nv}/nvme/nvme0/nvme0n1`);
link(`${nv}/nvme/nvme0/nvme0n1/device`, `${nv}/nvme/nvme0`);
driver(nv, "pci", "nvme", "nvme");
// sdz: a built-in sd driver (no module link) on ahci
const ata = "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0";
mkdirSync(join(sys, `${ata}/block/sdz`), { recursive: true });
link("block/sdz", `${ata}/block/sdz`);
link(`${ata}/block/sdz/device`, ata);
driver(ata, "scsi", "sd");
driver("devices/pci0000:00/0000:00:1f.2", "pci", "ahci", "ahci");

describe("storage drivers", () => {
  test("each driver from the disk up to the bus, as module names", () => {
    expect(diskDriverModules("vda", sys)).toEqual(["virtio_blk", "virtio_pci"]);
    expect(diskDriverModules("nvme0n1", sys)).toEqual(["nvme"]);
    expect(diskDriverModules("sdz", sys)).toEqual(["sd", "ahci"]);
    expect(diskDriverModules("nope", sys)).toEqual([]);
    expect(storageDrivers(["vda", "vda", "nvme0n1"], sys)).toEqual(["nvme", "virtio_blk", "virtio_pci"]);
  });
  test("what the disks of now need that the source's did not (- and _ alike)", () => {
    expect(newStorageDrivers(["virtio_blk", "virtio_pci"], ["virtio_blk", "virtio-pci"])).toEqual([]);
    expect(newStorageDrivers(["virtio_blk", "virtio_pci"], ["nvme"])).toEqual(["nvme"]);
    expect(newStorageDrivers([], [])).toEqual([]);
  });
});
