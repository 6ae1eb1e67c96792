// The guest image: a Debian 12 root file system built with debootstrap from the configured apt mirror,
// with everything the scenarios need (kernel, grub for BIOS and EFI, LVM, MD, LUKS, btrfs, xfs, rear 2.7,
// …) and the harness's own job runner. Cached outside the repository, keyed by a hash of its recipe and
// of the guest files, so a change to either rebuilds it. The result is three files:
//   root.img (ext4, made with `mkfs.ext4 -d`, no loop device needed), vmlinuz, initrd.img.

import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "./sh.ts";

export const VM_DIR = join(import.meta.dir, "..");
/** Our binary as the guests get it: dist/rear, or REAR_VM_BIN (a frozen copy, so that a queue of runs tests one
 * build while dist/rear is rebuilt meanwhile). */
export const OURS_BIN = process.env.REAR_VM_BIN || join(VM_DIR, "../../dist/rear");
export const CACHE = process.env.REAR_VM_CACHE ?? "/var/cache/rear-vm";

export interface Recipe {
  suite: string;
  mirror: string;
  variant: string;
  packages: string[];
  rootSizeMiB: number;
}

export interface GuestImage {
  key: string;
  dir: string;
  rootImg: string;
  kernel: string;
  initrd: string;
}

const GUEST_FILES = ["guest/harness-run", "guest/harness-init", "guest/harness.service"];

export function recipe(): Recipe {
  return JSON.parse(readFileSync(join(VM_DIR, "image-recipe.json"), "utf8")) as Recipe;
}

export function imageKey(): string {
  const h = createHash("sha256");
  h.update(readFileSync(join(VM_DIR, "image-recipe.json")));
  h.update(readFileSync(join(VM_DIR, "lib/image.ts")));
  for (const f of GUEST_FILES) h.update(readFileSync(join(VM_DIR, f)));
  return h.digest("hex").slice(0, 16);
}

function imagePaths(key: string): GuestImage {
  const dir = join(CACHE, `image-${key}`);
  return { key, dir, rootImg: join(dir, "root.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") };
}

/** The cached image, or undefined. */
export function cachedImage(): GuestImage | undefined {
  const img = imagePaths(imageKey());
  return existsSync(join(img.dir, "done")) ? img : undefined;
}

async function umountAll(root: string, log: string): Promise<void> {
  for (const m of ["dev/pts", "dev", "sys", "proc"]) await sh(["umount", "-l", join(root, m)], { log, allowFail: true });
}

export async function buildImage(say: (m: string) => void = console.log): Promise<GuestImage> {
  const r = recipe();
  const img = imagePaths(imageKey());
  if (existsSync(join(img.dir, "done"))) return img;
  const tmp = `${img.dir}.tmp`;
  const root = join(tmp, "rootfs");
  const log = join(CACHE, `image-${img.key}.log`);
  mkdirSync(CACHE, { recursive: true });
  await umountAll(root, log);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(log, "");
  const t0 = Date.now();
  say(`image ${img.key}: debootstrap ${r.suite} (${r.variant}) from ${r.mirror} (log: ${log})`);
  await sh(["debootstrap", `--variant=${r.variant}`, r.suite, root, r.mirror], { log });
  try {
    await sh(["mount", "-t", "proc", "proc", join(root, "proc")], { log });
    await sh(["mount", "-t", "sysfs", "sysfs", join(root, "sys")], { log });
    await sh(["mount", "--bind", "/dev", join(root, "dev")], { log });
    await sh(["mount", "--bind", "/dev/pts", join(root, "dev/pts")], { log });
    // no daemons may start inside the chroot
    writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    writeFileSync(join(root, "etc/apt/sources.list"), `deb ${r.mirror} ${r.suite} main\ndeb ${r.mirror} ${r.suite}-updates main\n`);
    const env = { DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
    say(`image ${img.key}: installing ${r.packages.length} packages`);
    await sh(["chroot", root, "apt-get", "update", "-qq"], { log, env });
    await sh(["chroot", root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...r.packages], { log, env });
    await sh(["chroot", root, "apt-get", "clean"], { log, env });
    rmSync(join(root, "usr/sbin/policy-rc.d"));
  } finally {
    await umountAll(root, log);
  }
  // Guest configuration: serial console everywhere, the harness job runner, no root password.
  const gd = join(VM_DIR, "guest");
  copyFileSync(join(gd, "harness-run"), join(root, "usr/local/sbin/harness-run"));
  copyFileSync(join(gd, "harness-init"), join(root, "usr/local/sbin/harness-init"));
  chmodSync(join(root, "usr/local/sbin/harness-run"), 0o755);
  chmodSync(join(root, "usr/local/sbin/harness-init"), 0o755);
  copyFileSync(join(gd, "harness.service"), join(root, "etc/systemd/system/harness.service"));
  mkdirSync(join(root, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
  await sh(["ln", "-sf", "/etc/systemd/system/harness.service", join(root, "etc/systemd/system/multi-user.target.wants/harness.service")], { log });
  writeFileSync(join(root, "etc/hostname"), "source\n");
  writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 source\n");
  writeFileSync(join(root, "etc/fstab"), "# written by the source machine build\n");
  writeFileSync(
    join(root, "etc/default/grub"),
    'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR="Debian"\nGRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="console=ttyS0,115200n8"\nGRUB_TERMINAL="serial console"\nGRUB_SERIAL_COMMAND="serial --speed=115200"\n',
  );
  await sh(["chroot", root, "passwd", "-d", "root"], { log });
  // kernel and initrd for kernel+initrd boots
  const boot = join(root, "boot");
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith("vmlinuz-"));
  const initrd = readdirSync(boot).find((f) => f.startsWith("initrd.img-"));
  if (!vmlinuz || !initrd) throw new Error(`no kernel or initrd in ${boot}`);
  copyFileSync(join(boot, vmlinuz), join(tmp, "vmlinuz"));
  copyFileSync(join(boot, initrd), join(tmp, "initrd.img"));
  say(`image ${img.key}: making root.img (${r.rootSizeMiB} MiB, ext4 from the tree)`);
  await sh(["mkfs.ext4", "-q", "-F", "-L", "harness-root", "-d", root, join(tmp, "root.img"), `${r.rootSizeMiB}M`], { log });
  rmSync(root, { recursive: true, force: true });
  writeFileSync(join(tmp, "recipe.json"), JSON.stringify({ ...r, kernel: vmlinuz, builtSeconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
  writeFileSync(join(tmp, "done"), new Date().toISOString());
  rmSync(img.dir, { recursive: true, force: true });
  await sh(["mv", tmp, img.dir], { log });
  say(`image ${img.key}: built in ${Math.round((Date.now() - t0) / 1000)} s`);
  return img;
}
