// OUTPUT=PXE's texts and link names (src/output/pxe-config.ts).

import { describe, expect, test } from "bun:test";
import { ipLinkNames, ipxeScript, macLinkName, pxeGrubConfig, pxeKernelLine, pxelinuxConfig } from "../../../src/output/pxe-config.ts";

const m = { host: "web1", version: "3.0", kernel: "web1/web1.kernel", initrd: "web1/web1.initrd.zst", cmdline: "console=ttyS0,115200", recoverMode: "", tftpIp: "" };

describe("OUTPUT=PXE", () => {
  test("ReaR's kernel line: root=/dev/ram0 vga=normal rw, KERNEL_CMDLINE, PXE_RECOVER_MODE", () => {
    expect(pxeKernelLine(m)).toBe("root=/dev/ram0 vga=normal rw console=ttyS0,115200");
    expect(pxeKernelLine({ ...m, recoverMode: "unattended" })).toBe("root=/dev/ram0 vga=normal rw console=ttyS0,115200 unattended");
  });
  test("pxelinux: asks (prompt, 30 s) without a recover mode, starts at once with one", () => {
    expect(pxelinuxConfig(m)).toContain("default rear\nprompt 1\ntimeout 300\n");
    const u = pxelinuxConfig({ ...m, recoverMode: "unattended" });
    expect(u).toContain("default rear\nprompt 0\ntimeout 50\n");
    expect(u).toContain("label rear\n  kernel web1/web1.kernel\n  append initrd=web1/web1.initrd.zst root=/dev/ram0 vga=normal rw console=ttyS0,115200 unattended\n");
  });
  test("GRUB style: from PXE_TFTP_IP, or from where GRUB came", () => {
    expect(pxeGrubConfig({ ...m, tftpIp: "10.0.0.1" })).toContain("  set net_default_server=10.0.0.1\n  echo \"Loading the Relax-and-Recover rescue system ...\"\n  linux (tftp,10.0.0.1)/web1/web1.kernel root=/dev/ram0 vga=normal rw console=ttyS0,115200\n  initrd (tftp,10.0.0.1)/web1/web1.initrd.zst\n");
    expect(pxeGrubConfig(m)).toContain("  linux ($root)/web1/web1.kernel ");
  });
  test("iPXE: over HTTP when PXE_HTTP_URL is set, else TFTP", () => {
    expect(ipxeScript(m, "http://srv/rear/")).toContain("kernel http://srv/rear/web1/web1.kernel initrd=web1.initrd.zst root=/dev/ram0");
    expect(ipxeScript({ ...m, tftpIp: "10.0.0.1" }, "")).toContain("initrd tftp://10.0.0.1/web1/web1.initrd.zst\nboot\n");
  });
  test("link names: 01-<mac>, the IP in hex and its first 6 digits", () => {
    expect(macLinkName("52:54:00:12:34:AB")).toBe("01-52-54-00-12-34-ab");
    expect(macLinkName("00:00:00:00:00:00")).toBeUndefined();
    expect(macLinkName("nonsense")).toBeUndefined();
    expect(ipLinkNames("192.168.1.5")).toEqual(["C0A80105", "C0A801"]);
    expect(ipLinkNames("300.1.1.1")).toEqual([]);
  });
});
