// `sfdisk -J DEV`. Sample:
//   {"partitiontable": {"label": "dos", "id": "0x1b5e6a1c", "device": "/dev/vda", "unit": "sectors",
//     "sectorsize": 512, "partitions": [{"node": "/dev/vda1", "start": 2048, "size": 1048576, "type": "83", "bootable": true}]}}
// GPT partitions carry "type" as a GUID, "uuid" (the PARTUUID) and "name".
// Pure.

export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  bootable?: boolean;
  attrs?: string;
}

export interface SfdiskTable {
  label: string;
  id?: string;
  device: string;
  unit?: string;
  sectorsize?: number;
  partitions: SfdiskPartition[];
}

export function parseSfdiskJson(text: string | undefined): SfdiskTable | undefined {
  if (!text) return undefined;
  try {
    const j = JSON.parse(text) as { partitiontable?: SfdiskTable };
    const t = j.partitiontable;
    if (!t || typeof t.device !== "string") return undefined;
    return { ...t, partitions: Array.isArray(t.partitions) ? t.partitions : [] };
  } catch {
    return undefined;
  }
}
