// `rear udev` as udev runs it (the variables udev sets: ACTION, DEVNAME, ID_FS_LABEL), with the compiled
// binary: it returns at once and the workflow runs detached; a burst of plug events runs it once; the rule
// file; an empty or wrong UDEV_WORKFLOW. The workflow is mkbackuponly with BACKUP=EXTERNAL (a command that
// records each run): what a REAR-000 disk starts, without backing up this machine.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
const udevEnv = { ACTION: "add", DEVNAME: "/dev/sdz1", ID_FS_LABEL: "REAR-000", DEVPATH: "/devices/none/block/sdz/sdz1" };

function conf(lines: string[]): void {
  writeFileSync(join(base, "etc/local.conf"), `${lines.join("\n")}\n`);
}
const rear = (args: string[], env: Record<string, string> = {}) => run([DIST, "-c", join(base, "etc"), ...args], { env: { REAR_VAR: join(base, "var"), ...env } });
const runs = () => (existsSync(join(base, "runs")) ? readFileSync(join(base, "runs"), "utf8").split("\n").filter(Boolean) : []);

beforeAll(() => {
  base = mkdtempSync("/tmp/rear-test-udev.");
  mkdirSync(join(base, "etc"));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("rear udev", () => {
  test("--install-rule: ReaR's rule for this binary and USB_DEVICE_FILESYSTEM_LABEL", () => {
    conf(["USB_DEVICE_FILESYSTEM_LABEL=MYBACKUP"]);
    const r = rear(["udev", "--install-rule", "--rules-dir", join(base, "rules")]);
    expect(r.code).toBe(0);
    const rule = readFileSync(join(base, "rules/62-rear-usb.rules"), "utf8");
    expect(rule).toContain(`ACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}=="MYBACKUP", RUN+="${realpathSync(DIST)} udev"`);
  });

  // Debian's rear package installs ReaR's rule as /lib/udev/rules.d/60-rear.rules: left alone, every plug
  // would start ReaR 2.7's udev workflow beside ours (the VM udev scenario saw both run).
  test("--install-rule masks a package's rule that runs another rear for the label and names one beside it", () => {
    conf(["USB_DEVICE_FILESYSTEM_LABEL=REAR-000"]);
    const dir = join(base, "rules2");
    mkdirSync(dir);
    writeFileSync(join(dir, "70-old-rear.rules"), 'ACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}=="REAR-000", RUN+="/usr/local/bin/rear udev"\n');
    // the rule as the ReaR talk shows it: udev skips it (= is no comparison)
    writeFileSync(join(dir, "99-talk.rules"), 'ACTION="add", SUBSYSTEM="block", ENV{ID_FS_LABEL}="REAR-000", RUN+="/usr/sbin/rear udev"\n');
    const r = rear(["udev", "--install-rule", "--rules-dir", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`WARNING: ${dir}/70-old-rear.rules also runs a rear for a disk labelled REAR-000`);
    expect(r.stderr).toContain(`WARNING: ${dir}/99-talk.rules:1: udev skips this line: ACTION= assigns, ACTION== compares`);
    const debian = "/lib/udev/rules.d/60-rear.rules";
    if (existsSync(debian) && readFileSync(debian, "utf8").includes("REAR-000")) {
      expect(readlinkSync(join(dir, "60-rear.rules"))).toBe("/dev/null");
      expect(r.stdout).toContain(`Masked ${realpathSync(debian)} with ${dir}/60-rear.rules -> /dev/null`);
      // a second install finds it masked and says nothing more
      const again = rear(["udev", "--install-rule", "--rules-dir", dir]);
      expect(again.stdout).not.toContain("Masked");
    } else console.log(`no ${debian} with REAR-000 here (Debian's rear package): the masking is not exercised`);
  });

  test("an empty UDEV_WORKFLOW starts nothing; one a disk may not start is an error", () => {
    conf(["UDEV_WORKFLOW="]);
    expect(rear(["udev"], udevEnv).code).toBe(0);
    conf(["UDEV_WORKFLOW=recover"]);
    const r = rear(["udev"], udevEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("UDEV_WORKFLOW='recover' is not a workflow a plugged-in disk may start");
  });

  test("it returns at once, the workflow runs detached and sees the disk; a burst of events runs it once", async () => {
    conf(["BACKUP=EXTERNAL", `EXTERNAL_BACKUP="echo \\"$DEVNAME $ID_FS_LABEL\\" >> ${base}/runs; sleep 3"`, "UDEV_WORKFLOW=mkbackuponly"]);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect(rear(["udev"], udevEnv).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000); // the handler did not wait for the 3-second workflow
    for (let i = 0; i < 100 && !(existsSync(join(base, "var/lib/rear/udev.lock")) === false && runs().length > 0); i++) await Bun.sleep(100);
    await Bun.sleep(4000);
    expect(runs()).toEqual(["/dev/sdz1 REAR-000"]);
    const logs = run(["sh", "-c", `cat ${base}/var/log/rear/*`]).stdout;
    expect(logs).toContain("rear mkbackuponly exited 0");
    expect(logs).toMatch(/is still going: this event starts nothing/);
  }, 30_000);
});
