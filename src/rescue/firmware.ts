// Which files of /lib/firmware the rescue system gets. Pure: the file list comes from probe-modules.ts,
// the names the modules declare from their .modinfo (firmware= entries, MODULE_FIRMWARE()).
//
// ReaR, build/GNU/Linux/420_copy_firmware_files.sh: FIRMWARE_FILES empty or 'yes' (is_true on the first
// element) copies all of /lib*/firmware, 'no' (is_false) none, anything else is a list of
// `find /lib*/firmware -ipath PATTERN` patterns. All of /lib/firmware is ~230 MiB on a Debian 12 with
// firmware-linux-nonfree and the common NIC, HBA and wifi firmware packages, more with a whole
// linux-firmware (rear#2869 budgets "~500M firmware"). A deliberate difference: our empty FIRMWARE_FILES
// takes only what the chosen modules declare; 'yes' still takes everything.

import { escapeRegExp, globRegExp } from "./glob-regexp.ts";

export type FirmwareMode = "all" | "none" | "patterns" | "declared";

export interface FirmwareSelection {
  mode: FirmwareMode;
  /** paths relative to /lib/firmware, sorted */
  files: string[];
  /** declared names no file matches (for the log: drivers declare every firmware they might load, most are not installed) */
  missing: string[];
}

export interface FirmwareOptions {
  /** the kernel version: the loader also looks in /lib/firmware/updates/<kv> and /lib/firmware/<kv> */
  kernelVersion?: string;
  /** symbolic links among the available files: path → the path it resolves to (relative to /lib/firmware) */
  links?: ReadonlyMap<string, string>;
}

/** ReaR's is_true / is_false (lib/global-functions.sh). */
const isTrue = (v: string) => /^([ty]|yes|true|1)$/i.test(v);
const isFalse = (v: string) => /^([fn]|no|false|0)$/i.test(v);

/** How FIRMWARE_FILES reads: ReaR tests only its first element for yes/no ("$FIRMWARE_FILES"). */
export function firmwareMode(setting: readonly string[]): FirmwareMode {
  if (setting.join("") === "") return "declared";
  const first = setting[0] ?? "";
  if (isFalse(first)) return "none";
  if (isTrue(first)) return "all";
  return "patterns";
}

/**
 * find(1)'s -ipath: fnmatch(3) of the whole path without FNM_PATHNAME (so '*' also matches '/') and
 * case-folded; '\' quotes the next character.
 */
export function ipathRegExp(pattern: string): RegExp {
  return globRegExp(pattern, { slashes: true, ignoreCase: true });
}

/**
 * A declared name as a pattern: '*' within one path component (brcmfmac declares
 * "brcm/brcmfmac43455-sdio.*.txt" for its per-board files), case-sensitive as the kernel opens it.
 */
function declaredGlob(name: string): string {
  return name
    .split("")
    .map((ch) => (ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : escapeRegExp(ch)))
    .join("");
}

/**
 * Where the kernel's firmware loader looks for a name, in its order (drivers/base/firmware_loader/main.c):
 * the plain file in fw_path[] (updates/<kv>, updates, <kv>, the top), then the same with ".zst", then
 * ".xz" (CONFIG_FW_LOADER_COMPRESS; Fedora and Arch ship firmware compressed).
 */
export function firmwareCandidates(name: string, kernelVersion?: string): string[] {
  const dirs = kernelVersion ? [`updates/${kernelVersion}/`, "updates/", `${kernelVersion}/`, ""] : ["updates/", ""];
  return ["", ".zst", ".xz"].flatMap((suffix) => dirs.map((d) => `${d}${name}${suffix}`));
}

/**
 * The firmware files of the rescue system.
 * - `setting`: FIRMWARE_FILES
 * - `declared`: firmware names the chosen modules declare (may hold '*' globs)
 * - `available`: the files (and links to files) under /lib/firmware, relative to it
 * A chosen symbolic link brings the file it points to, so the copy can keep it a link.
 */
export function selectFirmware(setting: readonly string[], declared: readonly string[], available: readonly string[], opts: FirmwareOptions = {}): FirmwareSelection {
  const mode = firmwareMode(setting);
  const chosen = new Set<string>();
  const missing: string[] = [];
  if (mode === "all") for (const f of available) chosen.add(f);
  else if (mode === "patterns") {
    // find prints /lib/firmware/<path>; a pattern matching only a directory copies nothing ("cp: omitting directory")
    const res = setting.filter((p) => p !== "").map(ipathRegExp);
    for (const f of available) if (res.some((re) => re.test(`/lib/firmware/${f}`))) chosen.add(f);
  } else if (mode === "declared") {
    const have = new Set(available);
    for (const name of new Set(declared.map((d) => d.replace(/^\/+/, "")).filter(Boolean))) {
      if (/[*?]/.test(name)) {
        const dirs = opts.kernelVersion ? `(updates/${escapeRegExp(opts.kernelVersion)}/|updates/|${escapeRegExp(opts.kernelVersion)}/)?` : "(updates/)?";
        const re = new RegExp(`^${dirs}${declaredGlob(name)}(\\.zst|\\.xz)?$`);
        const hits = available.filter((f) => re.test(f));
        for (const f of hits) chosen.add(f);
        if (hits.length === 0) missing.push(name);
        continue;
      }
      const hit = firmwareCandidates(name, opts.kernelVersion).find((c) => have.has(c));
      if (hit) chosen.add(hit);
      else missing.push(name);
    }
  }
  // the targets of chosen links, and theirs (a chain of links ends at a file or leaves /lib/firmware)
  for (const f of [...chosen]) {
    let t = opts.links?.get(f);
    for (let hops = 0; t && hops < 40 && !chosen.has(t); hops++) {
      chosen.add(t);
      t = opts.links?.get(t);
    }
  }
  return { mode, files: [...chosen].sort(), missing: missing.sort() };
}

/**
 * Firmware names declared by the given modules, each with the modules declaring it (for the log), from
 * a reader of one module's firmware= entries.
 */
export function firmwareDeclaredBy(modulePaths: readonly string[], firmwareOf: (modulePath: string) => readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of modulePaths) {
    for (const fw of firmwareOf(p)) {
      const list = out.get(fw) ?? [];
      list.push(p);
      out.set(fw, list);
    }
  }
  return out;
}
