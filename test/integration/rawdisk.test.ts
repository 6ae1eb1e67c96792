// OUTPUT=RAWDISK on this machine with the compiled binary (a placeholder kernel: nothing boots here; the
// VM tier boots the image): a gzip'd GPT disk image, 0600, one FAT partition that is the ESP and BIOS
// bootable, with the kernel, the initramfs, syslinux installed (ldlinux.sys), the GPT MBR, and GRUB's
// EFI program with a menu whose default recovers unattended. Read with mtools: no mount needed.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let mk: { code: number | null; stdout: string; stderr: string };

function conf(extra: string[]): void {
  writeFileSync(join(base, "etc/local.conf"), [
    "OUTPUT=RAWDISK", "BACKUP=REQUESTRESTORE", `KERNEL_FILE=${join(base, "vmlinuz")}`, "MODULES=( no_modules )", "BOOTLOADER=GRUB2",
    "ISO_DEFAULT=automatic", "ISO_RECOVER_MODE=unattended", 'KERNEL_CMDLINE="console=ttyS0,115200"', ...extra, "",
  ].join("\n"));
}
const rear = (args: string[]) => run([DIST, "-c", join(base, "etc"), ...args], { env: { REAR_VAR: join(base, "var") } });
const out = () => join(base, "var/lib/rear/output");

beforeAll(() => {
  base = mkdtempSync("/tmp/rear-test-rawdisk.");
  mkdirSync(join(base, "etc"));
  writeFileSync(join(base, "vmlinuz"), "not a kernel: the integration tier does not boot\n");
  conf([]);
  mk = rear(["-v", "mkrescue"]);
}, 240_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("OUTPUT=RAWDISK", () => {
  test("it says what it wrote: a gzip'd image, 0600, booting by BIOS and UEFI; no temporary file left", () => {
    if (mk.code !== 0) throw new Error(`mkrescue exited ${mk.code}: ${mk.stdout}\n${mk.stderr}`);
    const host = readdirSync(out()).find((f) => f.endsWith(".raw.gz"))!;
    expect(mk.stdout).toContain(`Wrote the disk image ${join(out(), host)} (`);
    expect(mk.stdout).toContain("boots by BIOS and UEFI");
    expect(readdirSync(out())).toEqual([host]);
    expect(statSync(join(out(), host)).mode & 0o777).toBe(0o600);
    must(["gzip", "-t", join(out(), host)]);
  });

  test("GPT, one partition 'Rescue System': ESP and legacy BIOS bootable; gptmbr.bin; the rescue system inside", () => {
    const gz = readdirSync(out()).find((f) => f.endsWith(".raw.gz"))!;
    const img = join(base, "img.raw");
    must(["sh", "-c", `gzip -dc '${join(out(), gz)}' > '${img}'`]);
    const p = must(["parted", "-s", "-m", img, "print"]);
    expect(p).toMatch(/:gpt:/);
    expect(p).toMatch(/^1:.*:fat32:Rescue System:boot, legacy_boot, esp;$/m);
    const fd = openSync(img, "r");
    const mbr = Buffer.alloc(440);
    readSync(fd, mbr, 0, 440, 0);
    closeSync(fd);
    expect(mbr.equals(readFileSync("/usr/lib/syslinux/mbr/gptmbr.bin").subarray(0, 440))).toBe(true);
    const fat = `${img}@@1M`;
    const root = must(["mdir", "-b", "-i", fat, "::/"]);
    expect(root).toContain("::/kernel");
    expect(root).toMatch(/::\/initrd\.(zst|cgz)/);
    expect(must(["mdir", "-a", "-b", "-i", fat, "::/boot/syslinux"])).toContain("::/boot/syslinux/ldlinux.sys");
    expect(must(["mdir", "-b", "-i", fat, "::/EFI/BOOT"])).toContain("::/EFI/BOOT/BOOTX64.EFI");
    expect(must(["minfo", "-i", fat, "::"])).toContain('disk label="RESCUE SYS "');
    const sys = must(["mtype", "-i", fat, "::/boot/syslinux/syslinux.cfg"]);
    expect(sys).toContain("default rear-automatic");
    expect(sys).toMatch(/append initrd=\/initrd\.(zst|cgz) console=ttyS0,115200 auto_recover unattended/);
    const grub = must(["mtype", "-i", fat, "::/boot/grub/grub.cfg"]);
    expect(grub).toContain("set default=1");
    expect(grub).toContain("linux /kernel console=ttyS0,115200 auto_recover unattended");
  });

  test("no compression, another name, BIOS left out", () => {
    conf(['RAWDISK_IMAGE_COMPRESSION_COMMAND=""', 'RAWDISK_IMAGE_NAME="stick"', "RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY=yes"]);
    const r = rear(["-v", "mkrescue"]);
    if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain(`Wrote the disk image ${join(out(), "stick.raw")}`);
    expect(r.stdout).toContain("boots by UEFI)");
    expect(run(["mdir", "-a", "-b", "-i", `${join(out(), "stick.raw")}@@1M`, "::/boot/syslinux"]).code).not.toBe(0);
  }, 240_000);

  // ReaR's RAWDISK_INSTALL_GPT_PARTITION_NAME on a loop disk: four partitions of that name (empty, ext4, too
  // small, the right one beside another name); only the empty one large enough gets the EFI partition.
  test("RAWDISK_INSTALL_GPT_PARTITION_NAME: the EFI partition into the empty partition of that name; ext4, too small and other names untouched", () => {
    const file = join(base, "local-disk.img");
    must(["truncate", "-s", "400M", file]);
    const loop = must(["losetup", "-f", "--show", "-P", file]).trim();
    try {
      must(["sfdisk", "-q", loop], "label: gpt\nsize=150MiB, type=U, name=Rescue\nsize=60MiB, type=L, name=Rescue\nsize=8MiB, type=U, name=Rescue\nsize=150MiB, type=U, name=Other\n");
      run(["partx", "-a", loop]);
      must(["mkfs.ext4", "-q", "-F", `${loop}p2`]);
      conf(['RAWDISK_IMAGE_COMPRESSION_COMMAND=""', 'RAWDISK_INSTALL_GPT_PARTITION_NAME="Rescue"']);
      const r = rear(["-v", "mkrescue"]);
      if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr}`);
      expect(r.stdout).toContain(`Installed the EFI rescue system into ${loop}p1; a boot entry for it (rear makes none): efibootmgr --create --disk ${loop} --part 1 --label 'Rescue System'`);
      expect(r.stderr).toContain(`Cannot install the EFI rescue system into ${loop}p2: it holds a ext4 file system (must be vfat or empty)`);
      expect(r.stderr).toMatch(new RegExp(`Cannot install the EFI rescue system into ${loop}p3: it has 8 MiB, the rescue system needs \\d+ MiB`));
      // p1 holds the image's FAT partition: the same files, the same label
      expect(must(["mdir", "-b", "-i", `${loop}p1`, "::/EFI/BOOT"])).toContain("::/EFI/BOOT/BOOTX64.EFI");
      expect(must(["mtype", "-i", `${loop}p1`, "::/boot/grub/grub.cfg"])).toBe(must(["mtype", "-i", `${join(out(), readdirSync(out()).find((f) => f.endsWith(".raw"))!)}@@1M`, "::/boot/grub/grub.cfg"]));
      expect(must(["blkid", "-p", "-o", "value", "-s", "TYPE", `${loop}p2`]).trim()).toBe("ext4");
      for (const n of [3, 4]) expect(must(["sh", "-c", `head -c 1048576 ${loop}p${n} | tr -d '\\0' | wc -c`]).trim()).toBe("0");
    } finally {
      run(["losetup", "-d", loop]);
    }
  }, 240_000);

  test("both boot loaders left out: a configuration error before anything is built", () => {
    conf(["RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY=yes", "RAWDISK_BOOT_EXCLUDE_GRUB2_EFI=yes"]);
    const r = rear(["mkrescue"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the image would boot neither by BIOS nor by UEFI");
  });

  test("rear -s mkrescue lists the RAWDISK output module, not the ISO's", () => {
    conf([]);
    const r = rear(["-s", "mkrescue"]);
    expect(r.stdout).toContain("Source output/800_create_bootable_disk_image");
    expect(r.stdout).not.toContain("output/800_write_rescue_medium");
  });
});
