// `rear udev`: run by udev when a disk labelled REAR-000 appears (etc/udev/rules.d/62-rear-usb.rules, as
// ReaR's), it starts UDEV_WORKFLOW (mkrescue by default; the talk's laptop: mkbackup) for that disk. Better
// than ReaR, whose handler runs the whole workflow inside udev's RUN (udevd kills RUN programs after 180 s
// and, under systemd, everything they started): the handler only starts a detached run and returns —
// `systemd-run --no-block` where systemd runs the machine (a fixed unit name: a second plug event while it
// runs starts nothing), else `setsid -f` — and that run takes rear's lock (concurrent events run it once).
// When the workflow is done: UDEV_UID_LED (hpasmcli), UDEV_SUSPEND, UDEV_EJECT, UDEV_BEEP, as ReaR does
// (UDEV_EJECT is new: the disk is powered off, ready to unplug).
// `rear udev --install-rule [--rules-dir DIR]` writes the rule for USB_DEVICE_FILESYSTEM_LABEL, masks another
// rear's rule for that label (Debian's 60-rear.rules: two backups per plug) and names rules udev skips.

import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { UserError } from "../../engine/errors.ts";
import { acquireLock } from "../../engine/lock.ts";
import { findWorkflow } from "../../engine/workflows.ts";
import { exec, which } from "../../sys/exec.ts";
import type { WorkflowCommand } from "./command.ts";

/** The workflows a plugged-in REAR-000 disk may start. */
export const UDEV_WORKFLOWS = ["mkrescue", "mkbackup", "mkbackuponly"];

export const RULE_FILE = "62-rear-usb.rules";

/** ReaR's rule, for this rear and this label. */
export function udevRule(rear: string, label: string): string {
  return `# written by rear udev --install-rule: a disk labelled ${label} runs UDEV_WORKFLOW (see /etc/rear/local.conf)\nACTION=="add", SUBSYSTEM=="block", ENV{ID_FS_LABEL}=="${label}", RUN+="${rear} udev"\n`;
}

/** Where packages put udev rules; a file of the same name in /etc/udev/rules.d masks one there. */
export const PACKAGE_RULES_DIRS = ["/lib/udev/rules.d", "/usr/lib/udev/rules.d"];

/** Whether a rules file runs some rear's udev workflow for this label (ReaR's own rule: Debian's package
 *  installs it as /lib/udev/rules.d/60-rear.rules, upstream as 62-rear-usb.rules). */
export function runsRearUdev(text: string, label: string): boolean {
  return text.split("\n").some((l) => !l.trim().startsWith("#") && l.includes(`ENV{ID_FS_LABEL}=="${label}"`) && /RUN\+?="[^"]*\brear\S* udev"/.test(l));
}

/** Lines that run a rear udev but compare with `=`, which udev reads as an assignment to a match-only key
 *  and skips the whole line ("Invalid operator for ACTION"): the rule of the ReaR talk is written so
 *  (ACTION="add", SUBSYSTEM="block", ENV{ID_FS_LABEL}="REAR-000"). Returns the line numbers and the key. */
export function brokenRearRules(text: string): { line: number; key: string }[] {
  const out: { line: number; key: string }[] = [];
  text.split("\n").forEach((l, i) => {
    if (l.trim().startsWith("#") || !/RUN\+?="[^"]*\brear\S* udev"/.test(l)) return;
    const m = /(?:^|[\s,])(ACTION|SUBSYSTEMS?|KERNEL|ENV\{[^}]+\})="/.exec(l);
    if (m) out.push({ line: i + 1, key: m[1]! });
  });
  return out;
}

/** Other rules that start a rear for the same disk: each plug event would start two backups. A package's
 *  rule is masked (udev: a same-named file in /etc that links to /dev/null); one beside ours is named. */
function competingRules(dir: string, label: string, ownFile: string): { mask: string[]; beside: string[]; broken: { file: string; line: number; key: string }[] } {
  const found = (d: string) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith(".rules")).map((f) => join(d, f));
    } catch {
      return [];
    }
  };
  const reads = (f: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch {
      return ""; // a masked rule (-> /dev/null) reads empty
    }
  };
  const real = (d: string) => {
    try {
      return realpathSync(d);
    } catch {
      return d;
    }
  };
  // /lib is /usr/lib on a merged-/usr system: each directory once, by its real path
  const pkgDirs = [...new Set(PACKAGE_RULES_DIRS.map(real))].filter((d) => d !== real(dir));
  const mask = pkgDirs.flatMap(found).filter((f) => !existsSync(join(dir, basename(f))) && runsRearUdev(reads(f), label));
  const beside = found(dir).filter((f) => f !== ownFile && runsRearUdev(reads(f), label));
  const broken = [...pkgDirs.flatMap(found), ...found(dir)].flatMap((f) => brokenRearRules(reads(f)).map((b) => ({ file: f, ...b })));
  return { mask, beside, broken };
}

/** How the detached run is started: by systemd (a unit that exists once) or by setsid. */
export function detachArgv(o: { systemd: boolean; rear: string; options: string[]; label: string; env: Record<string, string> }): string[] {
  const unit = `rear-udev-${o.label.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  const env = Object.entries(o.env);
  if (o.systemd) return ["systemd-run", "--no-block", "--collect", `--unit=${unit}`, "--description=rear udev: a REAR disk was plugged in", ...env.map(([k, v]) => `--setenv=${k}=${v}`), o.rear, ...o.options, "udev"];
  return ["setsid", "-f", "env", ...env.map(([k, v]) => `${k}=${v}`), o.rear, ...o.options, "udev"];
}

const yes = (v: string) => /^[yY1]/.test(v);
const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

async function afterRun(ctx: Context, ok: boolean): Promise<void> {
  const c = ctx.config;
  const devpath = ctx.env.DEVPATH ?? "";
  const devname = ctx.env.DEVNAME ?? "";
  if (yes(c.str("UDEV_UID_LED")) && which("hpasmcli")) {
    for (const s of ["off", "on", "off", "on", "off"]) {
      await exec(["hpasmcli", "-s", `set uid ${s}`], { quiet: true });
      await sleep(0.5);
    }
  }
  if (ok && yes(c.str("UDEV_EJECT")) && devname) {
    // the disk (not only the partition) powered off: it can be unplugged
    const disk = (await exec(["lsblk", "-n", "-d", "-o", "PKNAME", "-p", devname], { quiet: true })).stdout.trim() || devname;
    await exec(["sync"], { quiet: true });
    const r = which("udisksctl") ? await exec(["udisksctl", "power-off", "-b", disk], { quiet: true }) : await exec(["eject", disk], { quiet: true });
    ctx.log.log(r.code === 0 ? `Ejected ${disk}` : `Could not eject ${disk} (exit ${r.code}): ${r.stderr.trim()}`);
  }
  if (yes(c.str("UDEV_SUSPEND")) && devpath) {
    // ReaR: the nearest power/level up the device's sysfs path
    for (let p = join("/sys", devpath); p !== "/sys" && p !== "/"; p = dirname(p)) {
      if (existsSync(join(p, "power/level"))) {
        try {
          writeFileSync(join(p, "power/level"), "suspend");
          ctx.log.log(`Suspended the disk at ${p}`);
        } catch (e) {
          ctx.log.log(`Could not suspend the disk at ${p}: ${(e as Error).message}`);
        }
        break;
      }
    }
  }
  if (yes(c.str("UDEV_BEEP"))) {
    // three long beeps when it worked, ten short ones when it did not
    if (which("beep")) await exec(ok ? ["beep", "-f", "2000", "-l", "1000", "-d", "500", "-r", "3"] : ["beep", "-f", "800", "-l", "150", "-d", "100", "-r", "10"], { quiet: true });
    else {
      await exec(["modprobe", "pcspkr"], { quiet: true });
      try {
        for (let i = 0; i < (ok ? 3 : 10); i++) {
          writeFileSync("/dev/tty0", "\u0007");
          await sleep(ok ? 0.5 : 0.1);
        }
      } catch (e) {
        ctx.log.log(`No beep: ${(e as Error).message}`);
      }
    }
  }
}

export const udevCommand: WorkflowCommand = {
  name: "udev",
  args: {
    "install-rule": { type: "boolean", description: `write ${RULE_FILE} so that plugging in the disk runs rear udev` },
    "rules-dir": { type: "string", description: "where the rule goes (default /etc/udev/rules.d)" },
  },
  async run(ctx, args) {
    const c = ctx.config;
    const label = c.str("USB_DEVICE_FILESYSTEM_LABEL") || "REAR-000";
    const self = realpathSync(process.execPath);
    if (args["install-rule"]) {
      const dir = (args["rules-dir"] as string | undefined) || "/etc/udev/rules.d";
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const file = join(dir, RULE_FILE);
      writeFileSync(`${file}.tmp`, udevRule(self, label), { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
      ctx.log.logPrint(`Wrote ${file}: plugging in a disk labelled ${label} runs '${self} udev' (UDEV_WORKFLOW=${c.str("UDEV_WORKFLOW") || "(empty: nothing)"})`);
      const other = competingRules(dir, label, file);
      for (const f of other.mask) {
        const m = join(dir, basename(f));
        symlinkSync("/dev/null", m);
        ctx.log.logUserOutput(`Masked ${f} with ${m} -> /dev/null: it runs another rear for a disk labelled ${label} (a second backup at every plug); remove ${m} to undo`);
      }
      for (const b of other.broken) ctx.log.warn(`${b.file}:${b.line}: udev skips this line: ${b.key}= assigns, ${b.key}== compares (the rule in the ReaR talk has this typo); ${file} is the working rule`);
      for (const f of other.beside) ctx.log.warn(`${f} also runs a rear for a disk labelled ${label}: every plug would start two runs; remove it`);
      if (which("udevadm") && existsSync("/run/udev/control")) await exec(["udevadm", "control", "--reload"], { quiet: true });
      return 0;
    }
    if (args["rules-dir"]) throw new UserError("--rules-dir goes with --install-rule", "rear udev --install-rule --rules-dir DIR");
    const wf = c.str("UDEV_WORKFLOW");
    if (!wf) {
      ctx.log.log("UDEV_WORKFLOW is empty: a plugged-in disk starts nothing");
      return 0;
    }
    if (!UDEV_WORKFLOWS.includes(wf) || !findWorkflow(wf)) throw new UserError(`UDEV_WORKFLOW='${wf}' is not a workflow a plugged-in disk may start`, `set UDEV_WORKFLOW to one of ${UDEV_WORKFLOWS.join(", ")} in ${ctx.paths.configDir}/local.conf`);
    const env = Object.fromEntries(["DEVNAME", "DEVPATH", "ID_FS_LABEL", "ACTION"].filter((k) => ctx.env[k]).map((k) => [k, ctx.env[k]!]));
    if (ctx.env.REAR_UDEV_DETACHED !== "1") {
      // inside udev: start the run detached and return at once
      const systemd = existsSync("/run/systemd/system") && which("systemd-run") !== undefined;
      const options = ctx.cli.configDir ? ["-c", ctx.cli.configDir] : [];
      const argv = detachArgv({ systemd, rear: self, options, label, env: { ...env, REAR_UDEV_DETACHED: "1", PATH: ctx.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
      // no pipe of ours goes to the detached run (udev waits for the handler's output to end)
      ctx.log.log(`Running: ${argv.join(" ")}`);
      const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: ctx.env as Record<string, string> });
      const code = await p.exited;
      if (code !== 0) {
        // systemd-run: the unit of an earlier plug event still runs
        ctx.log.log(`Not started (${argv[0]} exited ${code}): a run for an earlier plug event may still be going`);
        return 0;
      }
      ctx.log.log(`A disk labelled ${env.ID_FS_LABEL ?? label} (${env.DEVNAME ?? "?"}) was plugged in: started 'rear ${wf}' detached (${systemd ? "systemd-run" : "setsid"})`);
      return 0;
    }
    // the detached run: one at a time (a disk's add events come in bursts; mkbackuponly has no lock of its own)
    const lock = await acquireLock(join(ctx.paths.varDir, "udev.lock"));
    if (!lock.ok) {
      ctx.log.log(`rear udev: a run for an earlier plug event (PID ${lock.heldBy}) is still going: this event starts nothing`);
      return 0;
    }
    try {
      ctx.log.log(`rear udev: running 'rear -v ${wf}' for ${env.DEVNAME ?? "the disk"} (${env.ID_FS_LABEL ?? label})`);
      const r = await exec([self, "-v", ...(ctx.cli.configDir ? ["-c", ctx.cli.configDir] : []), wf], { env: { ...ctx.env, REAR_UDEV_DETACHED: "" }, quiet: true });
      const busy = /already running/.test(r.stderr);
      ctx.log.log(busy ? `rear ${wf} did not run: another rear is running` : `rear ${wf} exited ${r.code}`);
      await afterRun(ctx, r.code === 0);
      return r.code;
    } finally {
      lock.release();
    }
  },
};
