// Sanity of a layout before it is saved (ReaR layout/save/default/950_verify_disklayout_file.sh):
// what recover could not recreate is found now, not on the day of the disaster.
// Pure.

import { activeEntries, type LayoutDoc } from "./model.ts";

export function validateLayout(doc: LayoutDoc): string[] {
  const es = activeEntries(doc);
  const problems: string[] = [];
  for (const d of es) {
    if (d.kw === "disk" && !(d.sizeBytes > 0)) problems.push(`${d.device} size ${d.sizeBytes} is not a positive integer`);
    if (d.kw === "part" && !(d.sizeBytes > 0)) problems.push(`${d.device} size ${d.sizeBytes} is not a positive integer`);
  }
  const vgs = new Set(es.filter((e) => e.kw === "lvmgrp").map((e) => (e.kw === "lvmgrp" ? e.vg : "")));
  const pvVgs = new Set(es.filter((e) => e.kw === "lvmdev").map((e) => (e.kw === "lvmdev" ? e.vg : "")));
  const lvVgs = new Set(es.filter((e) => e.kw === "lvmvol").map((e) => (e.kw === "lvmvol" ? e.vg : "")));
  for (const vg of lvVgs) {
    if (!vgs.has(vg)) problems.push(`LVM no 'lvmgrp ${vg}' for 'lvmvol ${vg}'`);
    if (!pvVgs.has(vg)) problems.push(`LVM no 'lvmdev ${vg}' for 'lvmvol ${vg}'`);
  }
  for (const vg of pvVgs) if (!vgs.has(vg)) problems.push(`LVM no 'lvmgrp ${vg}' for 'lvmdev ${vg}'`);
  return problems;
}
