// Probe data → the layout: disklayout.conf's lines in ReaR's section order (header, disks and
// partitions, RAID, LVM, filesystems and btrfs, swap, LUKS), plus the facts only layout.json keeps.
// Pure: tested on captured probe output of real machines (test/fixtures/machines/).

import type { DocLine, LayoutDoc } from "../model.ts";
import type { ProbeData } from "../probe/collect.ts";
import { ExtractContext, type ExtractOptions, type Problem } from "./context.ts";
import { extractCrypt } from "./crypt.ts";
import { extractDisks } from "./disks.ts";
import { extractFilesystems } from "./fs.ts";
import { extractLvm } from "./lvm.ts";
import { extractRaid } from "./md.ts";
import { extractSwap } from "./swap.ts";

export interface Extracted {
  doc: LayoutDoc;
  facts: Record<string, Record<string, unknown>>;
  problems: Problem[];
  firmware: "bios" | "uefi";
}

/** ReaR's first lines: the date and the `lsblk` listing, all as comments. */
export function headerLines(dated: string, lsblk: string | undefined): DocLine[] {
  const lines = [`Disk layout dated ${dated} (YYYYmmddHHMMSS)`, ...(lsblk ?? "").replace(/\n$/, "").split("\n")];
  return lines.map((l) => ({ t: "comment", text: `# ${l}` }));
}

export function extractLayout(data: ProbeData, opts: ExtractOptions & { dated: string }): Extracted {
  const ctx = new ExtractContext(data, opts);
  const facts: Record<string, Record<string, unknown>> = {};
  const sections: [string, () => DocLine[]][] = [
    ["disks", () => extractDisks(ctx, facts)],
    ["RAID", () => extractRaid(ctx, facts)],
    ["LVM", () => extractLvm(ctx, facts)],
    ["filesystems", () => extractFilesystems(ctx, facts)],
    ["swap", () => extractSwap(ctx)],
    ["LUKS", () => extractCrypt(ctx, facts)],
  ];
  const lines: DocLine[] = headerLines(opts.dated, data["lsblk-header.txt"]);
  for (const [what, f] of sections) {
    // one broken probe output must not lose the rest of the layout
    try {
      lines.push(...f());
    } catch (e) {
      ctx.error(`cannot describe the ${what}: ${(e as Error).message}`);
    }
  }
  let firmware: "bios" | "uefi" = "bios";
  try {
    if ((JSON.parse(data["efi.json"] ?? "{}") as { efi?: boolean }).efi) firmware = "uefi";
  } catch {}
  return { doc: { lines }, facts, problems: ctx.problems, firmware };
}
