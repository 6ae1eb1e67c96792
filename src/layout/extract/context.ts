// What every extractor gets: the raw probe data, parsed once, and a place for what went wrong.
// Pure.

import type { ProbeData } from "../probe/collect.ts";
import type { SysBlockDevice } from "../probe/sysfs.ts";
import { parseBlkidExport, type BlkidRecord } from "../parse/blkid.ts";
import { findmntList, type FindmntRow } from "../parse/findmnt.ts";
import type { DocLine } from "../model.ts";

export interface ExtractOptions {
  /** also treat loop devices as disks (tests on loop devices; ReaR never does) */
  includeLoop?: boolean;
}

export interface Problem {
  level: "error" | "warning";
  message: string;
}

export class ExtractContext {
  readonly sys: SysBlockDevice[];
  readonly blkid: BlkidRecord[];
  readonly mounts: FindmntRow[];
  readonly problems: Problem[] = [];
  constructor(
    readonly data: ProbeData,
    readonly opts: ExtractOptions = {},
  ) {
    this.sys = parseJson<SysBlockDevice[]>(data["sysfs.json"], "sysfs.json", this) ?? [];
    this.blkid = parseBlkidExport(data["blkid.txt"] ?? "");
    this.mounts = findmntList(data["findmnt.json"]);
  }
  warn(message: string): void {
    this.problems.push({ level: "warning", message });
  }
  error(message: string): void {
    this.problems.push({ level: "error", message });
  }
  blkidOf(dev: string): BlkidRecord | undefined {
    return this.blkid.find((b) => b.DEVNAME === dev);
  }
  sysByName(name: string): SysBlockDevice | undefined {
    return this.sys.find((d) => d.name === name);
  }
  /** the kernel name (dm-3, sda1) of /dev/… or /dev/mapper/… */
  kname(dev: string): string | undefined {
    if (dev.startsWith("/dev/mapper/")) {
      const n = dev.slice(12);
      return this.sys.find((d) => d.dm?.name === n)?.name;
    }
    const n = dev.replace(/^\/dev\//, "");
    if (this.sysByName(n)) return n;
    for (const d of this.sys) if (d.partitions.some((p) => p.name === n)) return n;
    return undefined;
  }
  /** /dev/mapper/<name> for dm devices, /dev/<kname> otherwise (ReaR's get_device_name) */
  deviceName(kname: string): string {
    const d = this.sysByName(kname);
    if (d?.dm) return `/dev/mapper/${d.dm.name}`;
    return `/dev/${kname}`;
  }
}

export function parseJson<T>(text: string | undefined, name: string, ctx?: { warn(m: string): void }): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    ctx?.warn(`${name}: not JSON (${(e as Error).message}); ignored`);
    return undefined;
  }
}

export const comment = (text: string): DocLine => ({ t: "comment", text });
