// swap lines (ReaR 240_swaps_layout.sh): the active swap partitions and volumes of /proc/swaps (swap
// files are left to the backup), a dm device named by its /dev/mapper link, with UUID and label.
// Sample /proc/swaps:
//   Filename        Type       Size     Used  Priority
//   /dev/vda3       partition  998396   0     -2
//   /dev/dm-1       partition  1048572  0     -3
// Pure.

import type { DocLine } from "../model.ts";
import { comment, type ExtractContext } from "./context.ts";

/** /proc/swaps escapes blanks in names as \040 (octal). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function extractSwap(ctx: ExtractContext): DocLine[] {
  const out: DocLine[] = [comment("# Swap partitions or swap files"), comment("# Format: swap <filename> uuid=<uuid> label=<label>")];
  const text = ctx.data["swaps.txt"];
  if (text === undefined) return out;
  for (const line of text.split("\n")) {
    const [name, type] = line.trim().split(/\s+/);
    if (!name || name === "Filename" || type === "file") continue;
    let dev = unescape(name);
    const kname = dev.replace(/^\/dev\//, "");
    if (/^dm-[0-9]+$/.test(kname)) dev = ctx.deviceName(kname);
    const b = ctx.blkidOf(dev) ?? ctx.blkidOf(unescape(name));
    out.push({ t: "entry", disabled: false, entry: { kw: "swap", device: dev, opts: { uuid: b?.UUID ?? "", label: b?.LABEL ?? "" } } });
  }
  return out;
}
