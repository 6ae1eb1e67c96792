// Reads ReaR's disklayout.conf (reference §5.2) into a LayoutDoc, line by line, so that writing it back
// gives the same text. Users bring files written by ReaR 2.7 and later, and edit them by hand: a line
// we cannot read is reported as FILE:LINE with what is wrong; a keyword we do not know is kept as it is
// (a newer ReaR may write it) and reported as a warning.
//
// Sample (ReaR 2.7, BIOS + LVM):
//   # Disk /dev/vda
//   # Format: disk <devname> <size(bytes)> <partition label type>
//   disk /dev/vda 6442450944 msdos
//   part /dev/vda 536870912 1048576 primary boot /dev/vda1
//   lvmdev /dev/vg0 /dev/vda2 3WXBl2-… 11532288
//   lvmvol /dev/vg0 root 3221225472b linear
//   fs /dev/mapper/vg0-root / ext4 uuid=… label=root blocksize=4096 reserved_blocks=5% … options=rw,relatime
//   #disk /dev/vdb 4294967296 loop      ← a component excluded from recreation
//
// Pure: no I/O.

import { type DocLine, type Entry, KNOWN_OTHER_KEYWORDS, type LayoutDoc, MODELED_KEYWORDS } from "../model.ts";
import { hideTextSecrets } from "../secrets.ts";

export class LayoutSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    readonly text: string,
  ) {
    // the line is quoted with a LUKS password= hidden: errors go to the terminal and the log
    const shown = hideTextSecrets(text);
    super(`${file}:${line}: ${problem}: '${shown.length > 120 ? `${shown.slice(0, 117)}...` : shown}'`);
    this.name = "LayoutSyntaxError";
  }
}

export interface ReadResult {
  doc: LayoutDoc;
  /** lines kept but not understood (unknown keywords), as FILE:LINE: text */
  warnings: string[];
}

const KEYWORDS = new Set<string>([...MODELED_KEYWORDS, ...KNOWN_OTHER_KEYWORDS]);

class FieldError extends Error {}

function int(v: string | undefined, what: string): number {
  if (v === undefined || !/^[0-9]+$/.test(v)) throw new FieldError(`${what} must be a whole number, got '${v ?? ""}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new FieldError(`${what} is too large: '${v}'`);
  return n;
}

function need(fields: string[], n: number, format: string): void {
  if (fields.length < n) throw new FieldError(`expected ${format}`);
}

/** `key=value` tokens (split at the first `=`; the value may be empty or hold more `=`). */
function kv(tokens: string[], sep: "=" | ":", what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tokens) {
    const i = t.indexOf(sep);
    if (i <= 0) throw new FieldError(`${what}: '${t}' is not key${sep}value`);
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

/**
 * ReaR before 2.1 (RHEL 6, SLES 12 era) wrote `lvmvol <vg> <lv> <extents> [<sectors>]` from `lvdisplay -c`
 * (fields 8 and 7) and recreated the volume with `lvcreate -l <extents>` (110_include_lvm_code.sh before
 * rear#1380); 2.1 changed it to `<bytes>b <layout>`. Numbers where the layout would be mark the old form.
 */
export function legacyLvmvol(f: readonly string[]): { extents: number; sectors?: number } | undefined {
  if (f.length < 3 || f.length > 4 || !/^[0-9]+$/.test(f[2]!) || (f[3] !== undefined && !/^[0-9]+$/.test(f[3]))) return undefined;
  return { extents: int(f[2], "logical volume extents"), ...(f[3] !== undefined ? { sectors: int(f[3], "logical volume size in sectors") } : {}) };
}

/** Parses the fields after the keyword. Throws FieldError with what is wrong. */
export function parseEntry(keyword: string, f: string[]): Entry {
  switch (keyword) {
    case "disk":
      need(f, 2, "disk <devname> <size(bytes)> <partition label type>");
      return { kw: "disk", device: f[0]!, sizeBytes: int(f[1], "disk size"), label: f[2] ?? "", rest: f.slice(3) };
    case "part": {
      need(f, 6, "part <disk> <size(bytes)> <start(bytes)> <type|name> <flags|none> <partition device> [<partuuid>]");
      if (f.length > 7) throw new FieldError(`too many fields (${f.length}) for a part line`);
      return {
        kw: "part", disk: f[0]!, sizeBytes: int(f[1], "partition size"), startBytes: int(f[2], "partition start"),
        name: f[3]!, flags: f[4] === "none" ? [] : f[4]!.split(","), device: f[5]!, ...(f[6] !== undefined ? { partuuid: f[6] } : {}),
      };
    }
    case "raidarray":
      need(f, 1, "raidarray /dev/mdX level=… raid-devices=… devices=…");
      return { kw: "raidarray", device: f[0]!, opts: kv(f.slice(1), "=", "raidarray option") };
    case "raiddisk":
      return { kw: "raiddisk", fields: f };
    case "lvmdev":
      need(f, 4, "lvmdev /dev/<vg> <pv device> <pv uuid> <size>");
      if (f.length > 4) throw new FieldError(`too many fields (${f.length}) for an lvmdev line`);
      return { kw: "lvmdev", vg: f[0]!, device: f[1]!, uuid: f[2]!, size: int(f[3], "physical volume size") };
    case "lvmgrp":
      need(f, 4, "lvmgrp /dev/<vg> <extentsize> <extents> <size>");
      if (f.length > 4) throw new FieldError(`too many fields (${f.length}) for an lvmgrp line`);
      return { kw: "lvmgrp", vg: f[0]!, extentSize: int(f[1], "extent size"), extents: int(f[2], "extent count"), size: int(f[3], "volume group size") };
    case "lvmvol": {
      const legacy = legacyLvmvol(f);
      if (legacy) {
        // sized from the sectors for now; readDisklayout sizes it from the group's extents once all lines are read
        return { kw: "lvmvol", vg: f[0]!, lv: f[1]!, sizeBytes: (legacy.sectors ?? 0) * 512, layout: "linear", opts: {} };
      }
      need(f, 4, "lvmvol /dev/<vg> <lv> <size>b <layout> [key:value …]");
      const m = /^([0-9]+)b$/.exec(f[2]!);
      if (!m) throw new FieldError(`logical volume size must be bytes followed by 'b' (ReaR ≥ 2.1 format), got '${f[2]}'`);
      return { kw: "lvmvol", vg: f[0]!, lv: f[1]!, sizeBytes: int(m[1], "logical volume size"), layout: f[3]!, opts: kv(f.slice(4), ":", "lvmvol option") };
    }
    case "crypt":
      need(f, 2, "crypt /dev/mapper/<name> <source device> [key=value …]");
      return { kw: "crypt", device: f[0]!, source: f[1]!, opts: kv(f.slice(2), "=", "crypt option") };
    case "fs":
      need(f, 3, "fs <device> <mountpoint> <fstype> [key=value …]");
      return { kw: "fs", device: f[0]!, mountpoint: f[1]!, fstype: f[2]!, opts: kv(f.slice(3), "=", "fs option") };
    case "btrfsdefaultsubvol":
    case "btrfsnormalsubvol":
    case "btrfssnapshotsubvol":
      need(f, 4, `${keyword} <device> <mountpoint> <subvolume id> <subvolume path>`);
      if (f.length > 4) throw new FieldError(`too many fields (${f.length}) for a ${keyword} line`);
      return { kw: keyword, device: f[0]!, mountpoint: f[1]!, subvolId: f[2]!, path: f[3]! };
    case "btrfsmountedsubvol":
      need(f, 4, "btrfsmountedsubvol <device> <mountpoint> <mount options> <subvolume path>");
      if (f.length > 4) throw new FieldError(`too many fields (${f.length}) for a btrfsmountedsubvol line`);
      return { kw: "btrfsmountedsubvol", device: f[0]!, mountpoint: f[1]!, options: f[2]!, path: f[3]! };
    case "btrfsnocopyonwrite":
      need(f, 1, "btrfsnocopyonwrite <subvolume path>");
      if (f.length > 1) throw new FieldError(`too many fields (${f.length}) for a btrfsnocopyonwrite line`);
      return { kw: "btrfsnocopyonwrite", path: f[0]! };
    case "swap":
      need(f, 1, "swap <device|file> uuid=… label=…");
      return { kw: "swap", device: f[0]!, opts: kv(f.slice(1), "=", "swap option") };
    case "multipath":
      need(f, 3, "multipath /dev/mapper/<name> <size(bytes)> <label> <slave,…>");
      return { kw: "multipath", device: f[0]!, sizeBytes: int(f[1], "multipath size"), label: f[2]!, slaves: f[3] ? f[3].split(",") : [] };
    default:
      return { kw: "other", keyword, fields: f };
  }
}

/** Splits an entry line into tokens, and the blanks after each one when they are not single spaces. */
function tokens(text: string): { tok: string[]; ws?: string[] } {
  // the common case, single blanks only: a plain split (the regex below is the slowest part of a big file)
  if (!text.includes("  ") && !text.includes("\t") && !text.endsWith(" ") && !text.startsWith(" ")) return { tok: text.split(" ") };
  const parts = text.split(/([ \t]+)/);
  const tok: string[] = [];
  const ws: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    if (parts[i] === "") continue;
    tok.push(parts[i]!);
    ws.push(parts[i + 1] ?? "");
  }
  const canonical = ws.every((w, i) => w === (i === ws.length - 1 ? "" : " "));
  return canonical ? { tok } : { tok, ws };
}

/**
 * Parses disklayout.conf text. `file` names it in errors. Throws LayoutSyntaxError on the first bad line.
 * One pass over the lines, each parsed on its own (linear in the file's size).
 */
export function readDisklayout(text: string, file = "disklayout.conf"): ReadResult {
  const lines: DocLine[] = [];
  const warnings: string[] = [];
  const raw = text.split("\n");
  // a final newline ends the last line; it does not start another one
  if (raw.length > 0 && raw[raw.length - 1] === "") raw.pop();
  /** pre-2.1 lvmvol lines: sized once every lvmgrp line is known (it may come after them) */
  const legacy: { index: number; no: number; extents: number; sectors?: number; text: string }[] = [];
  const entry = (disabled: boolean, tok: string[], ws: string[] | undefined, no: number, lineText: string): DocLine => {
    const [kw, ...f] = tok;
    const e = parseEntry(kw!, f);
    const old = kw === "lvmvol" ? legacyLvmvol(f) : undefined;
    if (old) {
      legacy.push({ index: lines.length, no, ...old, text: lineText });
      return { t: "entry", disabled, entry: e };
    }
    return { t: "entry", disabled, entry: e, ...(ws ? { ws } : {}) };
  };
  for (let i = 0; i < raw.length; i++) {
    const lineText = raw[i]!;
    const no = i + 1;
    if (lineText.includes("\r")) throw new LayoutSyntaxError(file, no, "carriage return (a file saved with Windows line ends): convert it with 'sed -i s/\\r$// FILE'", lineText);
    if (lineText.trim() === "") {
      lines.push(lineText === "" ? { t: "blank" } : { t: "comment", text: lineText });
      continue;
    }
    if (lineText.startsWith("#")) {
      // `#keyword …` (no blank after #) is a component ReaR excluded; `# …` is a comment
      const m = /^#([a-z_]+) /.exec(lineText);
      if (m && KEYWORDS.has(m[1]!)) {
        try {
          const { tok, ws } = tokens(lineText.slice(1));
          lines.push(entry(true, tok, ws, no, lineText));
          continue;
        } catch (e) {
          if (!(e instanceof FieldError)) throw e;
          // a commented line that does not parse is just a comment
        }
      }
      lines.push({ t: "comment", text: lineText });
      continue;
    }
    if (/^[ \t]/.test(lineText)) throw new LayoutSyntaxError(file, no, "a line must start with a keyword (no leading blanks)", lineText);
    const { tok, ws } = tokens(lineText);
    const kw = tok[0]!;
    if (!/^[a-z_]+$/.test(kw)) throw new LayoutSyntaxError(file, no, `'${kw}' is not a keyword`, lineText);
    if (!KEYWORDS.has(kw)) warnings.push(`${file}:${no}: unknown keyword '${kw}' kept as it is`);
    try {
      lines.push(entry(false, tok, ws, no, lineText));
    } catch (e) {
      if (e instanceof FieldError) throw new LayoutSyntaxError(file, no, e.message, lineText);
      throw e;
    }
  }
  if (legacy.length) sizeLegacyLvmvols(lines, legacy, file, warnings);
  return { doc: { lines }, warnings };
}

/**
 * The size of a pre-2.1 lvmvol: its extents times the extent size of its `lvmgrp` line (what ReaR's
 * `lvcreate -l <extents>` made), else its sectors times 512. The line is written back in today's form.
 */
function sizeLegacyLvmvols(lines: DocLine[], legacy: { index: number; no: number; extents: number; sectors?: number; text: string }[], file: string, warnings: string[]): void {
  const extentKiB = new Map<string, number>();
  for (const l of lines) if (l.t === "entry" && l.entry.kw === "lvmgrp" && !extentKiB.has(l.entry.vg)) extentKiB.set(l.entry.vg, l.entry.extentSize);
  for (const x of legacy) {
    const l = lines[x.index]!;
    if (l.t !== "entry" || l.entry.kw !== "lvmvol") continue;
    const kib = extentKiB.get(l.entry.vg);
    if (kib !== undefined) l.entry.sizeBytes = x.extents * kib * 1024;
    else if (x.sectors !== undefined) l.entry.sizeBytes = x.sectors * 512;
    else if (!l.disabled) throw new LayoutSyntaxError(file, x.no, `an lvmvol line of ReaR before 2.1 gives ${x.extents} extents, but there is no 'lvmgrp ${l.entry.vg} <extent size> …' line to size them: add it, or write the size as <bytes>b <layout>`, x.text);
  }
  warnings.push(`${file}:${legacy[0]!.no}: ${legacy.length} lvmvol line${legacy.length === 1 ? "" : "s"} in the format of ReaR before 2.1 (extents and sectors) read as linear volumes of extents × the group's extent size`);
}
