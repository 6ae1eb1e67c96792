// One device probed by blkid itself (-p: the superblock and the partition table entry, not the cache or udev's
// database). lsblk takes names, labels and file systems from udev's database, which is empty where udev does
// not run (a container, a chroot): the outputs that look for a partition by its name ask this instead.

import { exec } from "../../sys/exec.ts";
import { parseBlkidExport, type BlkidRecord } from "../parse/blkid.ts";

/** TYPE, LABEL, PART_ENTRY_NAME, … of one device; empty when blkid finds nothing. */
export async function blkidProbe(device: string): Promise<BlkidRecord> {
  return parseBlkidExport((await exec(["blkid", "-p", "-o", "export", device], { quiet: true })).stdout)[0] ?? {};
}
