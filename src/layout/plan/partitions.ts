// Partition tables as an sfdisk script (ReaR 2.7 calls parted once per partition; one sfdisk script
// per disk is exact to the sector, sets GPT names, type GUIDs and PARTUUIDs in the same write, and is
// a single step to resume). Sample of what it writes:
//   label: gpt
//   label-id: 6F1D…
//   unit: sectors
//   /dev/vda1 : start=2048, size=524288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=…, name="ESP"
// Pure.

import type { DiskEntry, PartEntry } from "../model.ts";

/** GPT partition type GUIDs by parted flag, for layouts without the saved type (ReaR 2.7 files). */
const GPT_TYPE_BY_FLAG: [string, string][] = [
  ["esp", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"],
  ["bios_grub", "21686148-6449-6E6F-744E-656564454649"],
  ["lvm", "E6D6D379-F507-44C2-A23C-238F2A3DF928"],
  ["raid", "A19D880F-05FC-4D3B-A006-743F0F84911E"],
  ["swap", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"],
  ["prep", "9E1A2D38-C612-4316-AA26-8B49521E5A8B"],
  ["msftdata", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"],
  ["msftres", "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"],
];
const GPT_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
const MBR_TYPE_BY_FLAG: [string, string][] = [["lvm", "8e"], ["raid", "fd"], ["swap", "82"], ["esp", "ef"], ["prep", "41"]];

export interface PartitionFacts {
  partuuid?: string;
  typeId?: string;
}

/** ReaR writes GPT names percent-encoded (`my%20root`) and an empty one as `rear-noname`. */
export function decodePartName(name: string): string {
  if (name === "rear-noname") return "";
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function typeOf(p: PartEntry, gpt: boolean, f: PartitionFacts | undefined): string {
  if (p.name === "extended" && !gpt) return f?.typeId && /^(5|f|85|0x(5|f|85))$/i.test(f.typeId) ? f.typeId.replace(/^0x/i, "") : "5";
  if (f?.typeId) return f.typeId.replace(/^0x/i, "");
  // on GPT, parted shows the ESP as "boot, esp"; "boot" alone means the same there
  for (const [flag, t] of gpt ? GPT_TYPE_BY_FLAG : MBR_TYPE_BY_FLAG) if (p.flags.includes(flag)) return t;
  if (gpt && p.flags.includes("boot")) return GPT_TYPE_BY_FLAG[0]![1];
  return gpt ? GPT_LINUX : "83";
}

const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/**
 * The sfdisk script for one disk. Bytes become sectors of the target's logical sector size (a start
 * rounds up, a size down, so nothing overlaps when a 512-byte layout lands on a 4K disk).
 */
export function sfdiskScript(disk: DiskEntry, parts: readonly PartEntry[], sectorSize: number, facts: (id: string) => PartitionFacts | undefined, ptuuid?: string): string {
  const gpt = /^gpt/.test(disk.label);
  const lines = [`label: ${gpt ? "gpt" : "dos"}`];
  if (ptuuid) lines.push(`label-id: ${gpt ? ptuuid.toUpperCase() : ptuuid.startsWith("0x") ? ptuuid : `0x${ptuuid}`}`);
  lines.push("unit: sectors");
  const sorted = [...parts].sort((a, b) => partNumber(a.device) - partNumber(b.device));
  // a loop, not Math.min(...list): a spread of 100 000 arguments overflows the stack
  let first = Infinity;
  for (const p of sorted) first = Math.min(first, Math.ceil(p.startBytes / sectorSize));
  if (gpt && first < 2048) lines.push(`first-lba: ${first}`);
  for (const p of sorted) {
    const start = Math.ceil(p.startBytes / sectorSize);
    const size = Math.floor(p.sizeBytes / sectorSize);
    const f = facts(p.device);
    const fields = [`start=${start}`, `size=${size}`, `type=${typeOf(p, gpt, f)}`];
    if (gpt) {
      const uuid = p.partuuid && p.partuuid !== "no-partuuid" ? p.partuuid : f?.partuuid;
      if (uuid) fields.push(`uuid=${uuid.toUpperCase()}`);
      const name = decodePartName(p.name);
      if (name) fields.push(`name=${quote(name)}`);
      if (p.flags.includes("legacy_boot")) fields.push(`attrs="LegacyBIOSBootable"`);
    } else if (p.flags.includes("boot")) fields.push("bootable");
    lines.push(`${p.device} : ${fields.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The partition number of a partition device: /dev/sda12 → 12, /dev/nvme0n1p3 → 3. */
export function partNumber(dev: string): number {
  const m = /([0-9]+)$/.exec(dev);
  return m ? Number(m[1]) : 0;
}
