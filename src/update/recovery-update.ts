// RECOVERY_UPDATE_URL: before recover does anything else, fetch this machine's archive (configuration,
// layout, recovery data, perhaps a newer rear), check it whole, write it, and have the configuration read
// again. ReaR's init/default/030_update_recovery_system.sh does the fetch and an unchecked `tar -xf` at /
// after the configuration was read, so an updated local.conf never applies (seed 2164). This module is the
// edge: it reads the machine's identity, downloads, verifies and writes; the decisions are in archive.ts,
// download.ts, placeholders.ts and signature.ts.

import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { maskPasswords } from "../config/secret-values.ts";
import { UserError, ExitCode } from "../engine/errors.ts";
import { applyWrites, BINARY_PATH, currentOnDisk, destinations, planWrites, readUpdateArchive, staleMachineFiles, UpdateArchiveError, updatePaths, withoutBinary, type PlannedWrite } from "./archive.ts";
import { downloadFirst, type DownloadOptions } from "./download.ts";
import { expandUrl, type MachineFacts } from "./placeholders.ts";
import { pinProblem, verifySignature } from "./signature.ts";

export interface UpdateSettings {
  url: string;
  /** where the URL came from, for messages */
  source: string;
  ca: string;
  sha256: readonly string[];
  signers: string;
  paths: readonly string[];
  waitSeconds: number;
}

export interface UpdateTargets {
  root: string;
  configDir: string;
  varDir: string;
  /** the running binary (replaced by a signed or pinned archive's usr/sbin/rear) */
  binary: string;
}

export interface UpdateOutcome {
  url: string;
  writes: PlannedWrite[];
  /** the rear binary was replaced: run it again */
  binaryReplaced: boolean;
  /** who signed it, when signed */
  signer?: string;
}

const read = (p: string) => {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return "";
  }
};

/** The machine's identity for the placeholders, from /sys (network cards with a device, then SMBIOS). */
export function machineFacts(hostname: string, sys = "/sys"): MachineFacts {
  const macs: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(`${sys}/class/net`).sort();
  } catch {}
  for (const n of names) {
    if (n === "lo" || !existsSync(`${sys}/class/net/${n}/device`)) continue;
    const mac = read(`${sys}/class/net/${n}/address`).toLowerCase();
    if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== "00:00:00:00:00:00") macs.push(mac);
  }
  const facts: MachineFacts = { hostname, macs };
  const uuid = read(`${sys}/class/dmi/id/product_uuid`);
  const serial = read(`${sys}/class/dmi/id/product_serial`);
  if (uuid) facts.uuid = uuid.toLowerCase();
  if (serial) facts.serial = serial;
  return facts;
}

/** Files and links below a directory, relative to it (none when it does not exist). */
function filesBelow(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return names.filter((n) => !lstatSync(`${dir}/${n}`).isDirectory());
}

/** The kernel option of the rescue system (recovery_update_url=…), or "". */
export function kernelOption(cmdline: string): string {
  for (const w of cmdline.trim().split(/\s+/)) if (w.startsWith("recovery_update_url=")) return w.slice("recovery_update_url=".length);
  return "";
}

const fail = (msg: string, hint?: string) => new UserError(msg, hint, ExitCode.FAILED);

export async function runRecoveryUpdate(
  s: UpdateSettings,
  t: UpdateTargets,
  facts: MachineFacts,
  log: { print(line: string): void; log(line: string): void },
  dl: Partial<DownloadOptions> = {},
): Promise<UpdateOutcome> {
  const shown = maskPasswords(s.url);
  let urls: string[];
  try {
    urls = expandUrl(s.url, facts);
  } catch (e) {
    throw fail(`${(e as Error).message} (from ${s.source})`);
  }
  let ca: string | undefined;
  if (s.ca) {
    if (!existsSync(s.ca)) throw fail(`RECOVERY_UPDATE_CA=${s.ca}: no such file in this system`, "give the PEM file of the CA that signed the update server's certificate (it is copied into the rescue image by mkrescue)");
    ca = readFileSync(s.ca, "utf8");
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw fail(`RECOVERY_UPDATE_CA=${s.ca} holds no PEM certificate`);
  }
  if (s.signers && !existsSync(s.signers)) throw fail(`RECOVERY_UPDATE_SIGNERS=${s.signers}: no such file in this system`);
  const pinned = s.sha256.length > 0;
  const signed = s.signers !== "";
  log.print(`Updating the rescue system from ${shown} (${s.source}${urls.length > 1 ? `; ${urls.length} URLs to try` : ""})`);
  const got = await downloadFirst(urls, {
    plainHttpOk: pinned || signed,
    waitSeconds: s.waitSeconds,
    ...(ca ? { ca } : {}),
    log: (l) => log.log(maskPasswords(l)),
    ...dl,
  });
  if (!("bytes" in got)) {
    const list = got.attempts.map((a) => `${maskPasswords(a.url)}: ${a.outcome}`).join("; ");
    throw fail(`RECOVERY_UPDATE_URL: no update could be downloaded (${list})`, "check the URL, the network of the rescue system (ip a) and the web server; nothing was changed");
  }
  const url = maskPasswords(got.url);
  let signer: string | undefined;
  if (pinned) {
    const p = pinProblem(got.bytes, s.sha256);
    if (p) throw fail(`the update from ${url} was refused, nothing was written: ${p}`);
  }
  if (signed) {
    const sig = await downloadFirst([`${got.url}.sig`], { plainHttpOk: true, waitSeconds: s.waitSeconds, ...(ca ? { ca } : {}), ...dl });
    if (!("bytes" in sig)) throw fail(`the update from ${url} was refused, nothing was written: its signature ${url}.sig could not be downloaded (${sig.attempts[0]?.outcome})`, `sign it with: ssh-keygen -Y sign -f KEY -n rear-update ARCHIVE`);
    const v = verifySignature(got.bytes, sig.bytes, s.signers);
    if (!v.ok) throw fail(`the update from ${url} was refused, nothing was written: ${v.why}`);
    signer = v.principal;
    log.print(`The update is signed by ${signer} (${s.signers})`);
  }
  let writes: PlannedWrite[];
  try {
    let entries = readUpdateArchive(got.bytes, url, { allowed: updatePaths(s.paths), trusted: pinned || signed });
    if (!pinned && !signed) {
      const w = withoutBinary(entries);
      if (w.dropped) log.print(`The update carries a rear binary: not taken, the archive is neither signed (RECOVERY_UPDATE_SIGNERS) nor pinned (RECOVERY_UPDATE_SHA256)`);
      entries = w.entries;
    }
    writes = planWrites(entries, destinations(t), currentOnDisk, updatePaths(s.paths));
    // another machine's layout companions (disk mappings, LVM metadata, xfs geometry) must not mix with
    // this one's: what the archive does not have is moved aside, not deleted
    const destOf = destinations(t);
    const stale = staleMachineFiles(entries, (d) => filesBelow(destOf(d)));
    applyWrites(writes);
    if (stale.length) {
      const aside = `${t.varDir}/before-update/${new Date().toISOString().replace(/[:.]/g, "-")}`;
      for (const p of stale) {
        const to = `${aside}/${p}`;
        mkdirSync(dirname(to), { recursive: true });
        renameSync(destOf(p), to);
        log.log(`update: moved aside ${destOf(p)} → ${to} (not in the update, which brings its own layout)`);
      }
      log.print(`Moved ${stale.length} file(s) of the rescue image's own machine aside to ${aside} (the update brings this machine's layout)`);
    }
  } catch (e) {
    if (e instanceof UpdateArchiveError) {
      for (const p of e.problems) log.log(`refused: ${p}`);
      throw fail(e.message);
    }
    throw e;
  }
  const changed = writes.filter((w) => w.change !== "unchanged");
  for (const w of writes) log.log(`update: ${w.change === "unchanged" ? "unchanged" : w.change === "new" ? "new      " : "changed  "} ${w.dest}`);
  log.print(`Updated the rescue system from ${url}: ${changed.length} of ${writes.length} entries new or changed${changed.length ? ` (${changed.slice(0, 6).map((w) => w.dest).join(" ")}${changed.length > 6 ? " …" : ""})` : ""}`);
  const binaryReplaced = writes.some((w) => w.path === BINARY_PATH && w.change !== "unchanged");
  return { url, writes, binaryReplaced, ...(signer ? { signer } : {}) };
}
