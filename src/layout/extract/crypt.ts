// crypt lines (ReaR 260_crypt_layout.sh): every open dm-crypt mapping of a LUKS1/2 device, with the
// values `cryptsetup luksDump` shows and the keyfile from /etc/crypttab. Deliberately better than 2.7:
// with several pbkdf2 keyslots 2.7 writes every "Hash" line into one broken entry; we write the first.
// Samples (luksDump, LUKS2): "UUID:          8f3c…", "	cipher: aes-xts-plain64", "	Key:        512 bits",
// "	Hash:       sha256"; (LUKS1): "Cipher name:   aes", "Cipher mode:   xts-plain64", "Hash spec:     sha256",
// "MK bits:       512".
// Pure.

import type { DocLine, Entry } from "../model.ts";
import { devKey as safe } from "../probe-keys.ts";
import type { ExtractContext } from "./context.ts";

const after = (line: string | undefined) => (line === undefined ? "" : line.slice(line.lastIndexOf(":") + 1).trim());

/** /etc/crypttab: name → keyfile (column 3 unless none, - or empty). */
export function crypttabKeyfiles(text: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of (text ?? "").split("\n")) {
    const w = line.trim().split(/\s+/);
    if (!w[0] || w[0].startsWith("#")) continue;
    if (w[2] && w[2] !== "none" && w[2] !== "-") m.set(w[0], w[2]);
  }
  return m;
}

export function extractCrypt(ctx: ExtractContext, facts: Record<string, Record<string, unknown>> = {}): DocLine[] {
  const out: DocLine[] = [];
  const keyfiles = crypttabKeyfiles(ctx.data["crypttab.txt"]);
  const crypts = ctx.sys.filter((d) => d.dm?.uuid.startsWith("CRYPT-")).sort((a, b) => (a.dm!.name < b.dm!.name ? -1 : a.dm!.name > b.dm!.name ? 1 : 0));
  for (const d of crypts) {
    const name = d.dm!.name;
    if (d.slaves.length === 0) continue;
    if (d.slaves.length > 1) {
      ctx.error(`Crypt ${name} has multiple device mapper slaves in /sys/block/${d.name}/slaves/`);
      continue;
    }
    const src = ctx.deviceName(d.slaves[0]!);
    const dump = ctx.data[`luksdump/${safe(src)}.txt`];
    const b = ctx.blkidOf(src);
    if (b && b.TYPE !== "crypto_LUKS") continue; // plain dm-crypt or another format: not recreated (as ReaR)
    if (dump === undefined) {
      ctx.warn(`no 'cryptsetup luksDump ${src}' output; LUKS volume ${name} not described`);
      continue;
    }
    const lines = dump.split("\n");
    const version = /^Version:\s*([0-9]+)/m.exec(dump)?.[1] ?? b?.VERSION ?? "";
    if (version !== "1" && version !== "2") {
      ctx.error(`Unsupported LUKS version for ${name} (luksDump of ${src} shows version '${version}')`);
      continue;
    }
    let cipher: string, keySize: string, hash: string;
    if (version === "1") {
      cipher = `${after(lines.find((l) => l.includes("Cipher name")))}-${after(lines.find((l) => l.includes("Cipher mode"))).split(/\s+/)[0] ?? ""}`;
      keySize = after(lines.find((l) => l.includes("MK bits")));
      hash = after(lines.find((l) => l.includes("Hash spec")));
    } else {
      cipher = after(lines.find((l) => /cipher:/.test(l)));
      keySize = after(lines.find((l) => /Key:|Cipher key:/.test(l))).replace(/ bits$/, "");
      hash = after(lines.find((l) => l.includes("Hash")));
    }
    const uuid = after(lines.find((l) => l.includes("UUID")));
    if (!uuid) ctx.warn(`No 'uuid' value for LUKS${version} volume ${name} in ${src} (mounting it or booting the recreated system may fail)`);
    const opts: Record<string, string> = { type: `luks${version}`, cipher, key_size: keySize, hash, uuid };
    const kf = keyfiles.get(name);
    if (kf) opts.keyfile = kf;
    const e: Entry = { kw: "crypt", device: `/dev/mapper/${name}`, source: src, opts };
    // not in 2.7's line, but recreate wants it: the key derivation of the first keyslot
    const pbkdf = after(lines.find((l) => /^\s*PBKDF:/.test(l)));
    if (pbkdf) facts[`/dev/mapper/${name}`] = { pbkdf };
    out.push({ t: "entry", disabled: false, entry: e });
  }
  return out;
}

