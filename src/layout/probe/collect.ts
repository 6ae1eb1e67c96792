// The impure edge of layout capture: runs the tools that describe the machine's storage and keeps their
// raw output, keyed by a file-like name (`lsblk.json`, `parted/vda.txt`, `lvm/lvs.json`, …). Extraction
// (../extract/) turns that into the layout; the same data saved to a directory is a test fixture
// (`rear capturelayout DIR`). A missing tool or subsystem is a log line and a missing key, never a crash.
//
// Independent commands run in parallel: this is most of why checklayout is fast (ReaR runs ~100
// commands one after another, and many of them once per device).

import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { exec, which } from "../../sys/exec.ts";
import { findmntList } from "../parse/findmnt.ts";
import { DISK_NAME, devKey as safe } from "../probe-keys.ts";
import { parseBlkidExport } from "../parse/blkid.ts";
import { type SysBlockDevice, snapshotSysBlock } from "./sysfs.ts";

export type ProbeData = Record<string, string>;

export interface ProbeOptions {
  /** log line for what could not be probed */
  note(msg: string): void;
  /** PATH for finding the tools */
  path?: string;
  /** "/" normally; a different root for /etc files (tests) */
  etcRoot?: string;
}

/** The ReaR 2.7 header listing (layout/save/GNU/Linux/100_create_layout_file.sh); MOUNTPOINT, not MOUNTPOINTS. */
export const LSBLK_HEADER_COLUMNS = "NAME,KNAME,PKNAME,TRAN,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT,UUID,WWN";


export async function collectProbes(opts: ProbeOptions): Promise<ProbeData> {
  const data: ProbeData = {};
  const path = opts.path ?? process.env.PATH ?? "";
  const etc = opts.etcRoot ?? "/";
  const tool = (name: string) => {
    const p = which(name, path);
    if (!p) opts.note(`layout probe: '${name}' is not installed, skipping what it tells`);
    return p;
  };
  const have = new Map<string, string | undefined>();
  const t = (name: string) => {
    if (!have.has(name)) have.set(name, tool(name));
    return have.get(name);
  };
  /** runs argv[0] from PATH; stores stdout under key when it succeeds */
  const run = async (key: string, argv: string[], env?: Record<string, string>) => {
    const bin = t(argv[0]!);
    if (!bin) return;
    const r = await exec([bin, ...argv.slice(1)], { env: { ...process.env, LC_ALL: "C", ...env } });
    // parted exits 1 on a disk without a partition table but still prints it as "unknown" (or "loop")
    if (r.code === 0 || (r.stdout.trim() !== "" && (key.startsWith("mdadm") || key.startsWith("parted/")))) data[key] = r.stdout;
    else opts.note(`layout probe: '${argv.join(" ")}' exited ${r.code}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`);
  };
  const file = (key: string, p: string) => {
    try {
      data[key] = readFileSync(p, "utf8");
    } catch {}
  };

  // 1. what needs nothing else
  let sys: SysBlockDevice[] = [];
  try {
    sys = snapshotSysBlock();
    data["sysfs.json"] = `${JSON.stringify(sys, null, 1)}\n`;
  } catch (e) {
    opts.note(`layout probe: cannot read /sys/block: ${(e as Error).message}`);
  }
  file("swaps.txt", "/proc/swaps");
  file("mdstat.txt", "/proc/mdstat");
  file("crypttab.txt", join(etc, "etc/crypttab"));
  file("fstab.txt", join(etc, "etc/fstab"));
  data["efi.json"] = `${JSON.stringify({ efi: existsSync("/sys/firmware/efi"), efivars: existsSync("/sys/firmware/efi/efivars") && safeList("/sys/firmware/efi/efivars").length > 0 })}\n`;
  data["by-id.json"] = `${JSON.stringify(deviceLinks("/dev/disk/by-id"), null, 1)}\n`;
  // the EFI programs on the ESP tell GRUB from shim (Secure Boot) and systemd-boot
  if (existsSync("/sys/firmware/efi")) {
    const esp: string[] = [];
    for (const vendor of safeList("/boot/efi/EFI")) for (const f of safeList(`/boot/efi/EFI/${vendor}`)) if (/\.efi$/i.test(f)) esp.push(`EFI/${vendor}/${f}`);
    data["esp.json"] = `${JSON.stringify(esp.sort(), null, 1)}\n`;
  }
  if (existsSync("/dev/md")) data["md-links.json"] = `${JSON.stringify(deviceLinks("/dev/md"), null, 1)}\n`;
  const lvmEnv = { LVM_SUPPRESS_FD_WARNINGS: "1" };
  const lvmReport = ["--reportformat", "json", "--units", "b", "--nosuffix"];
  await Promise.all([
    run("lsblk.json", ["lsblk", "-J", "-b", "-O", "-p"]),
    run("lsblk-header.txt", ["lsblk", "-ipo", LSBLK_HEADER_COLUMNS]),
    run("blkid.txt", ["blkid", "-c", "/dev/null", "-o", "export"]),
    run("findmnt.json", ["findmnt", "-J", "-l", "-v", "-o", "SOURCE,TARGET,FSTYPE,OPTIONS,FSROOT,MAJ:MIN"]),
    run("df.txt", ["df", "-Pl", "-BM", "-x", "encfs", "-x", "tmpfs", "-x", "devtmpfs"]),
    ...(existsSync("/proc/mdstat") && /^md/m.test(data["mdstat.txt"] ?? "") ? [run("mdadm/scan.txt", ["mdadm", "--detail", "--scan", "--config=partitions"])] : []),
  ]);

  // 2. per device, from what step 1 found
  const jobs: Promise<void>[] = [];
  const blkid = parseBlkidExport(data["blkid.txt"] ?? "");
  // LVM only where there is some (each lvm command scans every device); dm names and uuids come from sysfs
  if (blkid.some((b) => b.TYPE === "LVM2_member") || sys.some((d) => d.dm?.uuid.startsWith("LVM-"))) {
    jobs.push(
      run("lvm/pvs.json", ["lvm", "pvs", ...lvmReport, "-o", "pv_name,vg_name,pv_size,dev_size,pv_uuid,pv_pe_count,pv_pe_alloc_count"], lvmEnv),
      run("lvm/vgs.json", ["lvm", "vgs", ...lvmReport, "-o", "vg_name,vg_uuid,vg_extent_size,vg_extent_count,vg_free_count,vg_size,pv_count,lv_count,vg_attr"], lvmEnv),
      run("lvm/lvs.json", ["lvm", "lvs", "-a", "--segments", ...lvmReport, "-o", "vg_name,lv_name,lv_uuid,lv_size,seg_size,seg_start,segtype,lv_layout,lv_role,lv_attr,pool_lv,data_lv,metadata_lv,lv_metadata_size,chunk_size,stripes,stripe_size,region_size,seg_pe_ranges,devices,origin,lv_active"], lvmEnv),
    );
  }
  for (const d of sys) {
    if (!DISK_NAME.test(d.name) && !d.name.startsWith("loop") && !d.name.startsWith("md")) continue;
    if (d.name.startsWith("loop") && d.size === 0) continue;
    if (d.size === 0) continue;
    jobs.push(run(`parted/${d.name}.txt`, ["parted", "-m", "-s", `/dev/${d.name}`, "unit", "B", "print"]));
    jobs.push(run(`sfdisk/${d.name}.json`, ["sfdisk", "-J", `/dev/${d.name}`]));
    if (!d.name.startsWith("md")) jobs.push(bootSector(data, `/dev/${d.name}`, 4 * (d.logicalBlockSize ?? 512), opts));
  }
  for (const d of sys) if (d.md) jobs.push(run(`mdadm/${d.name}.txt`, ["mdadm", "--misc", "--detail", `/dev/${d.name}`]));
  for (const b of blkid) {
    const dev = b.DEVNAME;
    if (!dev) continue;
    if (b.TYPE === "crypto_LUKS") jobs.push(run(`luksdump/${safe(dev)}.txt`, ["cryptsetup", "luksDump", dev]));
  }
  const mounts = findmntList(data["findmnt.json"]);
  const seen = new Set<string>();
  for (const m of mounts) {
    if (!m.source?.startsWith("/dev/") || seen.has(`${m.fstype}:${m.source}`)) continue;
    if (/^ext[234]$/.test(m.fstype ?? "")) jobs.push(run(`tune2fs/${safe(m.source)}.txt`, ["tune2fs", "-l", m.source]));
    else if (m.fstype === "xfs") jobs.push(run(`xfs_info/${safe(m.source)}.txt`, ["xfs_info", m.target!]));
    else if (m.fstype === "btrfs") {
      const k = `btrfs/${safe(m.source)}`;
      jobs.push(run(`${k}/show.txt`, ["btrfs", "filesystem", "show", m.target!]));
      // the same listings ReaR reads (230_filesystem_layout.sh), so their word positions match
      jobs.push(run(`${k}/list.txt`, ["btrfs", "subvolume", "list", "-a", m.target!]));
      jobs.push(run(`${k}/list-snapshots.txt`, ["btrfs", "subvolume", "list", "-as", m.target!]));
      jobs.push(run(`${k}/get-default.txt`, ["btrfs", "subvolume", "get-default", m.target!]));
      data[`${k}/mountpoint.txt`] = `${m.target}\n`;
    } else continue;
    seen.add(`${m.fstype}:${m.source}`);
  }
  // btrfs no-copy-on-write is a file attribute of each mounted subvolume's directory
  const btrfsMounts = mounts.filter((m) => m.fstype === "btrfs" && m.target);
  if (btrfsMounts.length) jobs.push(run("btrfs/lsattr.txt", ["lsattr", "-d", ...btrfsMounts.map((m) => m.target!)]));
  await Promise.all(jobs);
  return data;
}

async function bootSector(data: ProbeData, dev: string, bytes: number, opts: ProbeOptions): Promise<void> {
  // The boot loader guess reads the first 4 sectors of each disk (ReaR 445_guess_bootloader.sh: dd + strings).
  try {
    const f = Bun.file(dev);
    const buf = new Uint8Array(await f.slice(0, bytes).arrayBuffer());
    data[`bootsector/${dev.slice(5)}.b64`] = `${Buffer.from(buf).toString("base64")}\n`;
  } catch (e) {
    opts.note(`layout probe: cannot read the first bytes of ${dev}: ${(e as Error).message}`);
  }
}

function safeList(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** The symlinks in a /dev/disk/by-* directory: link name → the device it points at. */
export function deviceLinks(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of safeList(dir).sort()) {
    try {
      out[n] = join(dir, readlinkSync(join(dir, n)));
    } catch {}
  }
  return out;
}

/** Saves probe data as files below dir (a fixture). */
export function writeProbeDir(dir: string, data: ProbeData): void {
  for (const [k, v] of Object.entries(data)) {
    const p = join(dir, k);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, v);
  }
}

/** Reads probe data saved by writeProbeDir. */
export function readProbeDir(dir: string): ProbeData {
  const data: ProbeData = {};
  const walk = (d: string) => {
    for (const n of safeList(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else data[relative(dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return data;
}
