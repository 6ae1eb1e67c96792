// What the rescue system must be able to do, read off the saved layout and the configuration: the
// input of chooseFeatures(). Pure.

import { activeEntries, type LayoutDoc } from "../layout/model.ts";
import type { RescueNeeds } from "./features.ts";
import { parseRsyncUrl } from "../backup/rsync-plan.ts";

export interface NeedsConfig {
  str(name: string): string;
  arr(name: string): readonly string[];
}

/** The scheme of a URL as ReaR's url_scheme: the text before "://"; `host:/path` is rsync. */
export function urlScheme(url: string): string {
  const i = url.indexOf("://");
  if (i < 0) return url.includes(":") ? "rsync" : "";
  const s = url.slice(0, i);
  return s.includes(":") ? "rsync" : s;
}

/** Whether an rsync BACKUP_URL is rsync over ssh (every form but the daemon's "::"). */
export function rsyncOverSsh(url: string): boolean {
  try {
    return parseRsyncUrl(url).proto === "ssh";
  } catch {
    return false;
  }
}

/** The local medium a BACKUP_URL/OUTPUT_URL names: a device (usb://DEVICE) or a directory (file://PATH). */
export function localMedium(url: string): { device: string } | { path: string } | undefined {
  const s = urlScheme(url);
  const rest = url.slice(url.indexOf("://") + 3);
  if (s === "usb" && rest.startsWith("/")) return { device: rest.replace(/\/+$/, "") };
  if (s === "file" && rest.startsWith("/")) return { path: rest };
  return undefined;
}

export function needsFromLayout(
  doc: LayoutDoc,
  host: { firmware?: string; bootloader?: string },
  c: NeedsConfig,
  o: { ssh: boolean; mediumFsTypes?: ReadonlySet<string> },
): RescueNeeds {
  const e = activeEntries(doc);
  const fsTypes = new Set(e.flatMap((x) => (x.kw === "fs" ? [x.fstype] : [])));
  const lvs = e.flatMap((x) => (x.kw === "lvmvol" ? [x.layout] : []));
  const mdLevels = new Set(e.flatMap((x) => (x.kw === "raidarray" && x.opts.level ? [x.opts.level] : [])));
  const bl = host.bootloader ?? "";
  return {
    fsTypes,
    lvm: e.some((x) => x.kw === "lvmgrp" || x.kw === "lvmdev"),
    lvmThin: lvs.some((l) => /thin/.test(l)),
    lvmRaid: lvs.some((l) => /^raid|mirror/.test(l)),
    md: e.some((x) => x.kw === "raidarray"),
    mdLevels,
    luks: e.some((x) => x.kw === "crypt"),
    multipath: e.some((x) => x.kw === "multipath"),
    swap: e.some((x) => x.kw === "swap"),
    ...(bl ? { bootloader: bl } : {}),
    uefi: host.firmware === "uefi" || /EFI/.test(bl),
    backup: c.str("BACKUP"),
    backupScheme: urlScheme(c.str("BACKUP_URL")),
    outputScheme: urlScheme(c.str("OUTPUT_URL")),
    backupOverSsh: c.str("BACKUP") === "RSYNC" && rsyncOverSsh(c.str("BACKUP_URL")),
    ...(o.mediumFsTypes?.size ? { mediumFsTypes: o.mediumFsTypes } : {}),
    ssh: o.ssh,
    progs: c.arr("PROGS").filter(Boolean),
    requiredProgs: c.arr("REQUIRED_PROGS").filter(Boolean),
    ...(c.str("BACKUP") === "COVE" ? { coveProgs: c.arr("REQUIRED_PROGS_COVE").filter(Boolean) } : {}),
  };
}
