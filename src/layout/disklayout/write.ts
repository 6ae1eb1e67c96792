// Writes a LayoutDoc as ReaR's disklayout.conf: single-space separated tokens, `#` before a disabled
// (excluded) component, comments verbatim. A document read from a file is written back byte for byte
// (the reader keeps irregular blanks); entries made by our probes are written with single spaces.
//
// Pure: no I/O.

import type { DocLine, Entry, LayoutDoc } from "../model.ts";

const pairs = (o: Record<string, string>, sep: "=" | ":"): string[] => Object.entries(o).map(([k, v]) => `${k}${sep}${v}`);

/** The tokens of an entry line, keyword first. */
export function entryTokens(e: Entry): string[] {
  switch (e.kw) {
    case "disk":
      return ["disk", e.device, String(e.sizeBytes), ...(e.label !== "" || e.rest.length ? [e.label] : []), ...e.rest];
    case "part":
      return ["part", e.disk, String(e.sizeBytes), String(e.startBytes), e.name, e.flags.length ? e.flags.join(",") : "none", e.device, ...(e.partuuid !== undefined ? [e.partuuid] : [])];
    case "raidarray":
      return ["raidarray", e.device, ...pairs(e.opts, "=")];
    case "raiddisk":
      return ["raiddisk", ...e.fields];
    case "lvmdev":
      return ["lvmdev", e.vg, e.device, e.uuid, String(e.size)];
    case "lvmgrp":
      return ["lvmgrp", e.vg, String(e.extentSize), String(e.extents), String(e.size)];
    case "lvmvol":
      return ["lvmvol", e.vg, e.lv, `${e.sizeBytes}b`, e.layout, ...pairs(e.opts, ":")];
    case "crypt":
      return ["crypt", e.device, e.source, ...pairs(e.opts, "=")];
    case "fs":
      return ["fs", e.device, e.mountpoint, e.fstype, ...pairs(e.opts, "=")];
    case "btrfsdefaultsubvol":
    case "btrfsnormalsubvol":
    case "btrfssnapshotsubvol":
      return [e.kw, e.device, e.mountpoint, e.subvolId, e.path];
    case "btrfsmountedsubvol":
      return ["btrfsmountedsubvol", e.device, e.mountpoint, e.options, e.path];
    case "btrfsnocopyonwrite":
      return ["btrfsnocopyonwrite", e.path];
    case "swap":
      return ["swap", e.device, ...pairs(e.opts, "=")];
    case "multipath":
      return ["multipath", e.device, String(e.sizeBytes), e.label, ...(e.slaves.length ? [e.slaves.join(",")] : [])];
    case "other":
      return [e.keyword, ...e.fields];
  }
}

/** One entry as a line (without the newline). */
export function entryLine(e: Entry, disabled = false, ws?: string[]): string {
  const tok = entryTokens(e);
  const text = ws && ws.length === tok.length ? tok.map((t, i) => t + ws[i]).join("") : tok.join(" ");
  return (disabled ? "#" : "") + text;
}

export function docLineText(l: DocLine): string {
  if (l.t === "blank") return "";
  if (l.t === "comment") return l.text;
  return entryLine(l.entry, l.disabled, l.ws);
}

export function writeDisklayout(doc: LayoutDoc): string {
  return doc.lines.map((l) => `${docLineText(l)}\n`).join("");
}

