// OUTPUT=PXE on this machine with the compiled binary (a placeholder kernel; the VM tier network-boots):
// kernel, initramfs, message and an iPXE script under the TFTP directory, the pxelinux config (or GRUB's)
// with a link per MAC or per IP address, pxelinux itself for an unattended recovery, a file:// URL.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
const tftp = () => join(base, "tftp");

function conf(extra: string[]): void {
  writeFileSync(join(base, "etc/local.conf"), [
    "OUTPUT=PXE", "BACKUP=REQUESTRESTORE", `KERNEL_FILE=${join(base, "vmlinuz")}`, "MODULES=( no_modules )", "BOOTLOADER=GRUB2",
    'KERNEL_CMDLINE="console=ttyS0,115200"', `PXE_TFTP_PATH=${tftp()}`, `PXE_CONFIG_PATH=${join(tftp(), "pxelinux.cfg")}`, ...extra, "",
  ].join("\n"));
}
const rear = (args: string[]) => run([DIST, "-c", join(base, "etc"), ...args], { env: { REAR_VAR: join(base, "var") } });
const hostOf = () => readdirSync(tftp()).find((f) => f !== "pxelinux.cfg" && !f.includes("."))!;
const macs = () => readdirSync("/sys/class/net").filter((n) => n !== "lo").map((n) => readFileSync(`/sys/class/net/${n}/address`, "utf8").trim()).filter((m) => m !== "00:00:00:00:00:00");

beforeAll(() => {
  base = mkdtempSync("/tmp/rear-test-pxe.");
  mkdirSync(join(base, "etc"));
  writeFileSync(join(base, "vmlinuz"), "not a kernel: the integration tier does not boot\n");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("OUTPUT=PXE", () => {
  test("pxelinux: the files under <host>/, the config rear-<host>, a link per MAC, pxelinux.0 for the unattended mode", () => {
    conf(["PXE_RECOVER_MODE=unattended", "PXE_CREATE_LINKS=MAC"]);
    const r = rear(["-v", "mkrescue"]);
    if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    const host = hostOf();
    const files = readdirSync(join(tftp(), host)).sort();
    expect(files).toContain(`${host}.kernel`);
    expect(files).toContain(`${host}.message`);
    expect(files).toContain(`${host}.ipxe`);
    expect(files.some((f) => /^.*\.initrd\.(zst|cgz)$/.test(f))).toBe(true);
    expect(existsSync(join(tftp(), "pxelinux.0"))).toBe(true);
    expect(existsSync(join(tftp(), "ldlinux.c32"))).toBe(true);
    const cfg = readFileSync(join(tftp(), "pxelinux.cfg", `rear-${host}`), "utf8");
    expect(cfg).toContain("default rear\nprompt 0\n");
    expect(cfg).toContain(`  kernel ${host}/${host}.kernel\n`);
    expect(cfg).toMatch(new RegExp(`  append initrd=${host}/${host}\\.initrd\\.(zst|cgz) root=/dev/ram0 vga=normal rw console=ttyS0,115200 unattended\\n`));
    for (const m of macs()) {
      const link = join(tftp(), "pxelinux.cfg", `01-${m.replace(/:/g, "-")}`);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe(`rear-${host}`);
    }
    expect(readFileSync(join(tftp(), host, `${host}.ipxe`), "utf8")).toMatch(/^#!ipxe\n[\s\S]*\nkernel tftp:\/\/\$\{next-server\}\//);
  });

  test("GRUB style with IP links; PXE_REMOVE_OLD_LINKS removes the MAC links of before; PXE_HTTP_URL in the iPXE script", () => {
    conf(["PXE_CONFIG_GRUB_STYLE=yes", "PXE_CREATE_LINKS=IP", "PXE_REMOVE_OLD_LINKS=yes", "PXE_TFTP_IP=192.168.1.5", "PXE_HTTP_URL=http://192.168.1.5/rear"]);
    const r = rear(["mkrescue"]);
    if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    const host = hostOf();
    const cfgDir = join(tftp(), "pxelinux.cfg");
    const g = readFileSync(join(cfgDir, `rear-${host}`), "utf8");
    expect(g).toContain("  set net_default_server=192.168.1.5\n");
    expect(g).toContain(`  linux (tftp,192.168.1.5)/${host}/${host}.kernel root=/dev/ram0 vga=normal rw console=ttyS0,115200\n`);
    const ips = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address);
    for (const ip of ips) {
      const hex = ip.split(".").map((p) => Number(p).toString(16).toUpperCase().padStart(2, "0")).join("");
      expect(readlinkSync(join(cfgDir, `grub.cfg-${hex}`))).toBe(`rear-${host}`);
      expect(readlinkSync(join(cfgDir, `grub.cfg-${hex.slice(0, 6)}`))).toBe(`rear-${host}`);
    }
    for (const m of macs()) expect(existsSync(join(cfgDir, `01-${m.replace(/:/g, "-")}`))).toBe(false);
    expect(readFileSync(join(tftp(), host, `${host}.ipxe`), "utf8")).toContain(`kernel http://192.168.1.5/rear/${host}/${host}.kernel `);
  });

  test("PXE_TFTP_URL and PXE_CONFIG_URL as file:// URLs (mounted for the run)", () => {
    const srv = join(base, "srv");
    mkdirSync(join(srv, "tftpboot", "pxelinux.cfg"), { recursive: true });
    conf([`PXE_TFTP_URL=file://${srv}/tftpboot`, `PXE_CONFIG_URL=file://${srv}/tftpboot/pxelinux.cfg`, "PXE_CREATE_LINKS="]);
    const r = rear(["-v", "mkrescue"]);
    if (r.code !== 0) throw new Error(`mkrescue exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    const host = readdirSync(join(srv, "tftpboot")).find((f) => f !== "pxelinux.cfg")!;
    expect(existsSync(join(srv, "tftpboot", host, `${host}.kernel`))).toBe(true);
    expect(existsSync(join(srv, "tftpboot", "pxelinux.cfg", `rear-${host}`))).toBe(true);
    expect(readdirSync(join(srv, "tftpboot", "pxelinux.cfg"))).toEqual([`rear-${host}`]);
  });

  test("a PXE_CREATE_LINKS that is neither MAC nor IP", () => {
    conf(["PXE_CREATE_LINKS=mac"]);
    const r = rear(["mkrescue"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("local.conf:");
    expect(r.stderr).toContain("PXE_CREATE_LINKS='mac' is not known; use one of MAC IP (did you mean MAC?)");
  });

  test("rear -s mkrescue lists the PXE output module, not the ISO's", () => {
    conf([]);
    const r = rear(["-s", "mkrescue"]);
    expect(r.stdout).toContain("Source output/800_copy_to_tftp_and_create_pxelinux_cfg");
    expect(r.stdout).not.toContain("output/800_write_rescue_medium");
  });
});
