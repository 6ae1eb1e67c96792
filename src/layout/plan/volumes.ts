// Steps for the volume layers: MD RAID, LUKS, LVM (ReaR's 120_include_raid_code.sh,
// 160_include_luks_code.sh, 110_include_lvm_code.sh). Pure.

import { type CryptEntry, type LvmDevEntry, type LvmGrpEntry, type LvmVolEntry, lvMapperName, type RaidArrayEntry } from "../model.ts";
import type { PlanContext } from "./context.ts";

const csv = (v: string | undefined) => (v ? v.split(",").filter(Boolean) : []);

/** mdadm --create with the saved UUID, name, level, metadata, chunk and layout. */
export function planRaid(c: PlanContext, e: RaidArrayEntry): void {
  const o = e.opts;
  const devices = csv(o.devices);
  const spares = csv(o["spare-devices"]);
  const argv = ["mdadm", "--create", e.device, "--run", "--force"];
  if (o.metadata) argv.push(`--metadata=${o.metadata}`);
  if (o.level) argv.push(`--level=${o.level}`);
  argv.push(`--raid-devices=${o["raid-devices"] ?? String(devices.length)}`);
  if (o.uuid) argv.push(`--uuid=${o.uuid}`);
  if (o.name) argv.push(`--name=${o.name}`);
  if (o.chunk) argv.push(`--chunk=${o.chunk.replace(/K$/i, "")}`);
  if (o.layout && !/^-/.test(o.layout)) argv.push(`--layout=${o.layout}`);
  if (spares.length) argv.push(`--spare-devices=${spares.length}`);
  // more member slots than devices saved: the array was degraded; mdadm takes "missing"
  const want = Number(o["raid-devices"] ?? devices.length);
  const members = [...devices, ...Array.from({ length: Math.max(0, want - devices.length) }, () => "missing")];
  argv.push(...members, ...spares);
  c.add(e.device, "raid", `Create RAID ${o.level ?? ""} ${e.device} from ${devices.join(", ")}`, argv, { waitFor: [e.device], skipIf: ["mdadm", "--detail", e.device] });
}

/** The key a LUKS volume gets now: its saved key file only exists after the restore. */
export function planLuks(c: PlanContext, e: CryptEntry): void {
  const o = e.opts;
  const name = e.device.replace(/^\/dev\/mapper\//, "");
  const argv = ["cryptsetup", "luksFormat", "--batch-mode"];
  if (o.type) argv.push("--type", o.type);
  if (o.cipher) argv.push("--cipher", o.cipher);
  if (o.key_size) argv.push("--key-size", o.key_size);
  if (o.hash) argv.push("--hash", o.hash);
  if (o.uuid) argv.push("--uuid", o.uuid);
  const pbkdf = (c.facts(e.device)?.pbkdf as string | undefined) ?? o.pbkdf;
  if (pbkdf && o.type === "luks2") argv.push("--pbkdf", pbkdf);
  argv.push(...c.input.cryptsetupOptions);
  if (o.keyfile) {
    // 240_reassign_luks_keyfiles.sh: create with a random key, finalize adds the restored key file
    const key = `${c.input.workDir}/luks/${name}.key`;
    c.add(e.device, "luks-key", `Make a temporary random key for ${name} (the key file ${o.keyfile} is restored later)`, [
      "sh", "-c", 'umask 077 && mkdir -p "${1%/*}" && head -c 4096 /dev/urandom > "$1"', "sh", key,
    ]);
    c.add(e.device, "luks-format", `Create LUKS volume on ${e.source} (uuid ${o.uuid ?? "new"})`, [...argv, e.source, key]);
    c.add(e.device, "luks-open", `Open ${e.source} as ${name}`, ["cryptsetup", "open", "--key-file", key, e.source, name], { waitFor: [e.device], skipIf: ["test", "-b", e.device] });
    c.luksKeys.push({ name, device: e.source, keyfile: o.keyfile, temporaryKey: key });
    return;
  }
  const secret = { kind: "luks-passphrase" as const, name, device: e.source };
  // the passphrase is given (LUKS_PASSPHRASE_<name>, luks_passphrase_<name>= on the rescue kernel's
  // command line, a password= option) or asked when the step runs: the plan cannot know which
  const given = `LUKS_PASSPHRASE_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  c.add(e.device, "luks-format", `Create LUKS volume on ${e.source} (uuid ${o.uuid ?? "new"}; the passphrase from ${given} or asked)`, [...argv, "--key-file=-", e.source], { secret });
  c.add(e.device, "luks-open", `Open ${e.source} as ${name}`, ["cryptsetup", "open", "--key-file=-", e.source, name], { secret, waitFor: [e.device], skipIf: ["test", "-b", e.device] });
}

const vgName = (vg: string) => vg.replace(/^\/dev\//, "");

/** Whether vgcfgrestore can recreate the VG exactly (thin pools and RAID LVs need lvcreate, as in ReaR). */
export function canRestoreVg(c: PlanContext, vg: LvmGrpEntry, lvs: readonly LvmVolEntry[]): boolean {
  return c.input.allowVgcfgrestore && !!c.input.lvmCfg[vgName(vg.vg)] && lvs.every((l) => /^(linear|striped)$/.test(l.layout));
}

export function planPv(c: PlanContext, e: LvmDevEntry, restore: boolean): void {
  const cfg = c.input.lvmCfg[vgName(e.vg)];
  const argv = ["lvm", "pvcreate", "-ff", "--yes", "--uuid", e.uuid, ...(restore && cfg ? ["--restorefile", cfg] : ["--norestorefile"]), e.device];
  c.add(`pv:${e.device}`, "pv", `Make ${e.device} an LVM physical volume of ${vgName(e.vg)}`, argv);
}

export function planVg(c: PlanContext, e: LvmGrpEntry, pvs: readonly LvmDevEntry[], lvs: readonly LvmVolEntry[], restore: boolean): void {
  const name = vgName(e.vg);
  if (restore) {
    c.add(e.vg, "vgcfgrestore", `Restore volume group ${name} and its logical volumes from its metadata backup`, ["lvm", "vgcfgrestore", "-f", c.input.lvmCfg[name]!, name]);
    c.add(e.vg, "vgchange", `Activate volume group ${name}`, ["lvm", "vgchange", "-ay", name], { waitFor: lvs.map((l) => `/dev/${name}/${l.lv}`) });
    return;
  }
  c.add(e.vg, "vgcreate", `Create volume group ${name} (extents of ${e.extentSize} KiB)`, ["lvm", "vgcreate", "--physicalextentsize", `${e.extentSize}k`, name, ...pvs.map((p) => p.device)], {
    skipIf: ["lvm", "vgs", name],
  });
}

const kib = (v: string | undefined) => (v ? `${Math.round(Number(v.replace(/b$/i, "")) / 1024)}k` : undefined);

export function planLv(c: PlanContext, e: LvmVolEntry, lastInVg: boolean): void {
  const vg = vgName(e.vg);
  const o = e.opts;
  const kinds = e.layout.split(",");
  const pool = kinds.includes("thin") && kinds.includes("pool");
  // lvcreate refuses --wipesignatures for a thin pool ("Option --wipesignatures is unsupported with thin
  // pools", lvm2 tools/lvcreate.c): nothing reads signatures on a pool, and lvcreate zeroes its metadata
  // LV itself. Every other LV gets it, so an old filesystem signature at the same offset cannot resurface.
  const argv = ["lvm", "lvcreate", "--yes", ...(pool ? [] : ["--wipesignatures", "y"])];
  let fallback: string[] | undefined;
  let what = "";
  if (pool) {
    argv.push("--type", "thin-pool", "-L", `${e.sizeBytes}b`);
    const chunk = kib(o.chunksize);
    if (chunk) argv.push("--chunksize", chunk);
    if (o.poolmetadatasize) argv.push("--poolmetadatasize", `${o.poolmetadatasize.replace(/b$/i, "")}b`);
    what = "thin pool";
  } else if (kinds.includes("thin")) {
    argv.push("--type", "thin", "-V", `${e.sizeBytes}b`, "--thinpool", o.thinpool ?? "");
    what = `thin volume in ${o.thinpool}`;
  } else {
    argv.push("-L", `${e.sizeBytes}b`);
    if (o.stripes && Number(o.stripes) > 1) {
      argv.push("-i", o.stripes);
      const sz = kib(o.stripesize);
      if (sz) argv.push("-I", sz);
      what = `striped over ${o.stripes}`;
    } else if (/^(raid1|mirror)/.test(e.layout) || o.mirrors) {
      argv.push("--type", kinds.includes("mirror") ? "mirror" : "raid1", "-m", o.mirrors ?? "1");
      what = "mirrored";
    }
    // the last volume of a group on a smaller disk takes what is left (ReaR's -l 100%FREE retry)
    if (lastInVg) fallback = [...argv.filter((_, i) => !(argv[i - 1] === "-L" || argv[i] === "-L")), "-l", "100%FREE", "-n", e.lv, vg];
  }
  argv.push("-n", e.lv, vg);
  const size = `${(e.sizeBytes / 2 ** 20).toFixed(0)} MiB`;
  c.add(lvMapperName(vg, e.lv), "lv", `Create logical volume ${vg}/${e.lv} (${size}${what ? `, ${what}` : ""})`, argv, {
    waitFor: [`/dev/${vg}/${e.lv}`],
    skipIf: ["lvm", "lvs", `${vg}/${e.lv}`],
    ...(fallback ? { fallback } : {}),
  });
}
