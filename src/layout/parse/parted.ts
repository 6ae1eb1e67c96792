// `parted -m -s DEV unit B print` (machine-readable). Sample:
//   BYT;
//   /dev/vda:6442450944B:virtblk:512:512:gpt:Virtio Block Device:;
//   1:1048576B:269484031B:268435456B:fat32:ESP:boot, esp;
//   2:269484032B:5637144575B:5367660544B:ext4:root:;
// The disk line's 6th field is the label (msdos, gpt, loop, unknown, …); a partition's 6th field is its
// GPT name (empty on msdos) and the 7th its flags. parted exits 1 on a disk without a label but still
// prints the disk line with `unknown`.
// Pure.

export interface PartedPartition {
  number: number;
  startBytes?: number;
  endBytes?: number;
  sizeBytes?: number;
  fs: string;
  name: string;
  flags: string[];
}

export interface PartedDisk {
  device: string;
  sizeBytes?: number;
  transport: string;
  logicalSectorSize?: number;
  physicalSectorSize?: number;
  label: string;
  model: string;
  partitions: PartedPartition[];
}

const bytes = (s: string | undefined): number | undefined => {
  const m = /^([0-9]+)B$/.exec(s ?? "");
  return m ? Number(m[1]) : undefined;
};

export function parsePartedMachine(text: string): PartedDisk | undefined {
  let disk: PartedDisk | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(/;$/, "");
    if (line === "" || line === "BYT" || line === "CHS" || line === "CYL") continue;
    const f = line.split(":");
    if (f[0]!.startsWith("/")) {
      disk = {
        device: f[0]!, transport: f[2] ?? "", label: f[5] ?? "", model: f[6] ?? "", partitions: [],
      };
      const size = bytes(f[1]);
      if (size !== undefined) disk.sizeBytes = size;
      if (f[3] && /^[0-9]+$/.test(f[3])) disk.logicalSectorSize = Number(f[3]);
      if (f[4] && /^[0-9]+$/.test(f[4])) disk.physicalSectorSize = Number(f[4]);
      continue;
    }
    if (!disk || !/^[0-9]+$/.test(f[0]!)) continue;
    // a GPT name may itself hold ':' — the flags are always the last field
    const flags = f.length >= 7 ? f[f.length - 1]! : "";
    const name = f.length >= 7 ? f.slice(5, f.length - 1).join(":") : (f[5] ?? "");
    const p: PartedPartition = {
      number: Number(f[0]), fs: f[4] ?? "", name,
      flags: flags.split(",").map((x) => x.trim()).filter(Boolean),
    };
    const s = bytes(f[1]);
    const e = bytes(f[2]);
    const z = bytes(f[3]);
    if (s !== undefined) p.startBytes = s;
    if (e !== undefined) p.endBytes = e;
    if (z !== undefined) p.sizeBytes = z;
    disk.partitions.push(p);
  }
  return disk;
}
