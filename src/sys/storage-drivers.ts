// The kernel modules a disk needs (ReaR's recovery/storage_drivers, 260_recovery_storage_drivers.sh):
// each driver on the way from the disk's device up to the bus in sysfs — virtio_blk and virtio_pci for
// vda, nvme for nvme0n1, sd_mod and ahci (or virtio_scsi) for sda. savelayout writes them for the
// source's disks; recover compares the target's: a driver the source did not have means the restored
// initramfs may not find the root disk, so it is rebuilt (finalize/plan.ts initramfsDecision).

import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** The modules (or built-in drivers) of one disk, nearest first; [] when sysfs does not know it. */
export function diskDriverModules(disk: string, sys = "/sys"): string[] {
  let dir: string;
  try {
    dir = realpathSync(join(sys, "block", basename(realpathSync(disk.startsWith("/") ? disk : `/dev/${disk}`)), "device"));
  } catch {
    try {
      dir = realpathSync(join(sys, "block", basename(disk), "device"));
    } catch {
      return [];
    }
  }
  const top = realpathSync(join(sys, "devices"));
  const out: string[] = [];
  while (dir.startsWith(`${top}/`)) {
    const drv = join(dir, "driver");
    if (existsSync(drv)) {
      const mod = join(drv, "module");
      const name = basename(realpathSync(existsSync(mod) ? mod : drv));
      if (!out.includes(name)) out.push(name);
    }
    dir = dirname(dir);
  }
  return out;
}

/** The modules of several disks, sorted, each once. */
export function storageDrivers(disks: readonly string[], sys = "/sys"): string[] {
  return [...new Set(disks.flatMap((d) => diskDriverModules(d, sys)))].sort();
}

/** recovery/storage_drivers as savelayout wrote it (one module per line), or undefined when there is none. */
export function readStorageDrivers(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  return readFileSync(file, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

/** Drivers the disks of now need that the source's did not (module names compare with - and _ alike). */
export function newStorageDrivers(saved: readonly string[], now: readonly string[]): string[] {
  const norm = (m: string) => m.replace(/-/g, "_");
  const had = new Set(saved.map(norm));
  return now.filter((m) => !had.has(norm(m)));
}
