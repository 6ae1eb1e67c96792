// `rear udev`'s rule and how it starts the detached run (src/cli/commands/udev.ts).

import { describe, expect, test } from "bun:test";
import { brokenRearRules, detachArgv, runsRearUdev, udevRule, UDEV_WORKFLOWS } from "../../../src/cli/commands/udev.ts";

describe("rear udev", () => {
  test("ReaR's rule, for this binary and label", () => {
    expect(udevRule("/opt/MXB/rear/usr/sbin/rear", "REAR-000")).toContain('ACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}=="REAR-000", RUN+="/opt/MXB/rear/usr/sbin/rear udev"\n');
  });
  test("systemd: a transient unit named for the label (a second event while it runs starts nothing); else setsid -f", () => {
    const env = { DEVNAME: "/dev/sdb1", REAR_UDEV_DETACHED: "1" };
    expect(detachArgv({ systemd: true, rear: "/usr/sbin/rear", options: [], label: "REAR-000", env })).toEqual([
      "systemd-run", "--no-block", "--collect", "--unit=rear-udev-REAR-000", "--description=rear udev: a REAR disk was plugged in",
      "--setenv=DEVNAME=/dev/sdb1", "--setenv=REAR_UDEV_DETACHED=1", "/usr/sbin/rear", "udev",
    ]);
    expect(detachArgv({ systemd: false, rear: "/usr/sbin/rear", options: ["-c", "/etc/rear-usb"], label: "MY DISK", env })).toEqual([
      "setsid", "-f", "env", "DEVNAME=/dev/sdb1", "REAR_UDEV_DETACHED=1", "/usr/sbin/rear", "-c", "/etc/rear-usb", "udev",
    ]);
    expect(detachArgv({ systemd: true, rear: "r", options: [], label: "MY DISK", env: {} })[3]).toBe("--unit=rear-udev-MY_DISK");
  });
  test("what a plugged-in disk may start", () => {
    expect(UDEV_WORKFLOWS).toEqual(["mkrescue", "mkbackup", "mkbackuponly"]);
  });
  test("another rear's rule for the same label is found (Debian's 60-rear.rules), others are not", () => {
    const debian = 'ACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}=="REAR-000", RUN+="/usr/sbin/rear udev"\n';
    expect(runsRearUdev(debian, "REAR-000")).toBe(true);
    expect(runsRearUdev(udevRule("/opt/MXB/rear", "REAR-000"), "REAR-000")).toBe(true);
    expect(runsRearUdev(debian, "MYBACKUP")).toBe(false);
    expect(runsRearUdev(`# ${debian}`, "REAR-000")).toBe(false);
    expect(runsRearUdev('ENV{ID_FS_LABEL}=="REAR-000", RUN+="/usr/bin/logger plugged"\n', "REAR-000")).toBe(false);
    expect(runsRearUdev("", "REAR-000")).toBe(false);
  });
  test("the talk's rule, written with = where udev needs ==, is found (udev skips the line)", () => {
    const talk = 'ACTION="add", SUBSYSTEM="block", ENV{ID_FS_LABEL}="REAR-000", RUN+="/usr/sbin/rear udev"';
    expect(brokenRearRules(`# a comment\n${talk}\n`)).toEqual([{ line: 2, key: "ACTION" }]);
    expect(brokenRearRules('ACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}="REAR-000", RUN+="/usr/sbin/rear udev"')).toEqual([{ line: 1, key: "ENV{ID_FS_LABEL}" }]);
    expect(brokenRearRules(udevRule("/usr/sbin/rear", "REAR-000"))).toEqual([]);
    expect(brokenRearRules('ACTION="add", RUN+="/usr/bin/logger"')).toEqual([]);
    expect(runsRearUdev(talk, "REAR-000")).toBe(false); // it runs nothing: not a rule that competes
  });
});
