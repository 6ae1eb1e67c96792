import { expect, test } from "bun:test";
import { mkbackupFigures, restoreFigures } from "../../vm/lib/figures.ts";

test("image build and backup times from a ReaR log", () => {
  const log = [
    "2026-11-22 17:52:32.959588820 Relax-and-Recover 2.7 / Git",
    "2026-11-22 18:00:34.872505310 Created initrd.cgz with gzip default compression (151526339 bytes) in 68 seconds",
    "  continuation line",
    "2026-11-22 18:00:51.125485720 Making backup (using backup method NETFS)",
    "2026-11-22 18:03:02.529652660 Exiting rear mkbackup (PID 863) and its descendant processes ...",
  ].join("\n");
  expect(mkbackupFigures(log)).toEqual({ imageBuildMs: 498166, backupMs: 131404 });
  expect(mkbackupFigures("no timestamps here")).toEqual({});
});

import { defaultEntry } from "../../vm/lib/rescue-boot.ts";
test("the default isolinux entry (kernel+initrd rescue boot)", () => {
  const cfg = "label rear\nkernel kernel\nappend initrd=initrd.cgz root=/dev/ram0\nlabel rear-automatic\n  kernel kernel\n  append initrd=initrd.cgz root=/dev/ram0 auto_recover unattended\ndefault rear-automatic\n";
  expect(defaultEntry(cfg)).toEqual({ kernel: "kernel", append: "initrd=initrd.cgz root=/dev/ram0 auto_recover unattended" });
  expect(defaultEntry("label x\nkernel k\n")).toBeUndefined();
});

test("with menu.c32 the entry marked MENU DEFAULT is the default (ReaR 2.7's isolinux.cfg)", () => {
  const cfg = [
    "serial 0 115200", "timeout 300", "label rear", "MENU label ^Recover source", "TEXT HELP", "Rescue image kernel 6.1", "ENDTEXT",
    "kernel kernel", "append initrd=initrd.cgz root=/dev/ram0 vga=normal rw  selinux=0  console=ttyS0,115200 ",
    "label rear-automatic", "MENU label ^Automatic Recover source", "kernel kernel",
    "append initrd=initrd.cgz root=/dev/ram0 vga=normal rw  selinux=0  console=ttyS0,115200  auto_recover unattended",
    "default rear-automatic", "MENU default", "label boothd0", "MENU label Boot First ^Local disk (hd0)", "kernel chain.c32", "append hd0",
    "default menu.c32",
  ].join("\n");
  expect(defaultEntry(cfg)?.append).toContain("auto_recover unattended");
});

test("our log: the backup starts with the backup stage's first module", () => {
  const log = [
    "2026-12-06 10:08:52.861889370 Running rear mkbackup (PID 1027 date 2026-12-06 10:08:52)",
    "2026-12-06 10:09:26.617747230 Including backup/500_make_backup",
    "2026-12-06 10:09:26.786376980 Creating tar archive '/var/tmp/x/backup.tar.gz'",
    "2026-12-06 10:13:14.953204080 Exiting rear mkbackup (PID 1027) with exit code 0",
  ].join("\n");
  expect(mkbackupFigures(log)).toEqual({ imageBuildMs: 33756, backupMs: 228336 });
});

test("the restore's size and time, ours and ReaR's wording; the last one counts", () => {
  expect(restoreFigures("Restored 19 of 445 MiB (4%)\nRestored 445 MiB in 66.5 s [avg 6855 KiB/sec]; tar's log")).toEqual({ restoredMiB: 445, restoreMs: 66500 });
  expect(restoreFigures("Restored 410 MiB in 22 seconds")).toEqual({ restoredMiB: 410, restoreMs: 22000 });
  expect(restoreFigures("Restored 1 MiB in 1 s\nRestored 2 MiB in 2.5 s")).toEqual({ restoredMiB: 2, restoreMs: 2500 });
  expect(restoreFigures("nothing")).toEqual({});
});
