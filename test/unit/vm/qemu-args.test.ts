import { describe, expect, test } from "bun:test";
import { qemuArgs } from "../../vm/lib/qemu.ts";

describe("QEMU command line", () => {
  const base = { name: "t", serialLog: "/tmp/s.log", timeoutSec: 1, accel: "tcg" as const };
  test("no network, serial to a file, no reboot; disks on each bus", () => {
    const a = qemuArgs({ ...base, firmware: "bios", disks: [{ file: "a.img" }, { file: "b.img", bus: "scsi", serial: "s1" }, { file: "c.img", bus: "nvme" }], cdrom: "r.iso", boot: "d" });
    const s = a.join(" ");
    expect(s).toContain("-nic none");
    expect(s).toContain("-accel tcg,thread=multi");
    expect(s).toContain("-cpu max");
    expect(s).toContain("-serial file:/tmp/s.log");
    expect(s).toContain("-no-reboot");
    expect(s).toContain("-device virtio-blk-pci,drive=d0");
    expect(s).toContain("-device virtio-scsi-pci,id=scsi0 -device scsi-hd");
    expect(s).toContain("-device scsi-hd,drive=d1,bus=scsi0.0,serial=s1");
    expect(s).toContain("-device nvme,drive=d2,serial=nvme2");
    expect(s).toContain("media=cdrom");
    expect(s).toContain("-boot d");
    expect(s).not.toContain("pflash");
  });
  test("the harness NIC: restrict=on, the fixed MAC, guestfwd to the host's loopback only; the SMBIOS UUID", () => {
    const s = qemuArgs({ ...base, firmware: "bios", disks: [], nic: true, guestfwd: [{ ip: "10.0.2.100", port: 443, hostPort: 40123 }], uuid: "11111111-2222-3333-4444-555555555555" }).join(" ");
    expect(s).toContain("-nic user,restrict=on,model=virtio-net-pci,mac=52:54:00:12:34:56,guestfwd=tcp:10.0.2.100:443-cmd:bash -c 'exec 3<>/dev/tcp/127.0.0.1/40123; cat <&3 & exec cat >&3'");
    expect(s).toContain("-uuid 11111111-2222-3333-4444-555555555555");
    expect(qemuArgs({ ...base, firmware: "bios", disks: [], nic: true }).join(" ")).not.toContain("guestfwd");
  });
  test("PXE: QEMU's TFTP server and the boot file on the harness NIC, boot from the network", () => {
    const s = qemuArgs({ ...base, firmware: "bios", disks: [], nic: true, tftp: { dir: "/w/tftp", bootfile: "pxelinux.0" }, boot: "n" }).join(" ");
    expect(s).toContain("-nic user,restrict=on,model=virtio-net-pci,mac=52:54:00:12:34:56,tftp=/w/tftp,bootfile=pxelinux.0");
    expect(s).toContain("-boot n");
  });
  test("a hot-plugged stick: the monitor on a socket beside the serial log, an xHCI controller, the drive without a device", () => {
    const a = qemuArgs({ ...base, firmware: "bios", disks: [{ file: "a.img" }], hotplug: { disk: { file: "/w/backup.img" }, steps: [{ waitFor: "plug", command: "device_add usb-storage,drive=hot0" }] } });
    const s = a.join(" ");
    expect(s).toContain("-monitor unix:/tmp/s.log.mon,server=on,wait=off");
    expect(s).toContain("-device qemu-xhci,id=xhci0");
    expect(s).toContain("-drive file=/w/backup.img,format=raw,if=none,id=hot0");
    expect(s).not.toContain("drive=hot0");
    expect(qemuArgs({ ...base, firmware: "bios", disks: [] }).join(" ")).toContain("-monitor none");
  });
  test("UEFI uses OVMF with the machine's own VARS file", () => {
    const s = qemuArgs({ ...base, firmware: "uefi", ovmfVars: "/w/vars.fd", disks: [] }).join(" ");
    expect(s).toContain("if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
    expect(s).toContain("if=pflash,format=raw,unit=1,file=/w/vars.fd");
    expect(() => qemuArgs({ ...base, firmware: "uefi", disks: [] })).toThrow(/VARS/);
  });
});
