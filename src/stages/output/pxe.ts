// output (OUTPUT=PXE): the rescue system for a network boot (ReaR's output/PXE/default/800_copy_to_tftp,
// 810_create_pxelinux_cfg): kernel, initramfs and message into PXE_TFTP_PATH or a mounted PXE_TFTP_URL
// (PXE_TFTP_UPLOAD_URL) under OUTPUT_PREFIX_PXE, the pxelinux config (or GRUB's, PXE_CONFIG_GRUB_STYLE) into
// PXE_CONFIG_PATH or a mounted PXE_CONFIG_URL with per-MAC or per-IP links (PXE_CREATE_LINKS), and an iPXE
// script beside the kernel (new). The texts are src/output/pxe-config.ts.

import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { ipLinkNames, ipxeScript, macLinkName, pxeGrubConfig, pxelinuxConfig, type PxeMenuInput } from "../../output/pxe-config.ts";
import { mountUrl, parseUrl, sftpAsSshfs, UrlError } from "../../output/url.ts";
import { VERSION } from "../../version.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import { rescueState } from "../rescue/preflight.ts";
import { rescueKernelLine, versionText } from "./write-output.ts";

/** A directory to write to: a local path, or a URL mounted for the run (unmounted by the returned function). */
async function target(ctx: Context, url: string, setting: string, path: string, name: string): Promise<{ dir: string; done: () => Promise<void>; local: boolean }> {
  if (!url) {
    mkdirSync(path, { recursive: true, mode: 0o755 });
    return { dir: path, done: async () => {}, local: true };
  }
  let u;
  try {
    u = parseUrl(url, setting);
  } catch (e) {
    if (e instanceof UrlError) throw new WorkflowError(e.message);
    throw e;
  }
  if (u.scheme === "iso" || u.scheme === "rsync") throw new WorkflowError(`${setting}=${url}: a ${u.scheme}:// URL cannot hold PXE files`, `use file://, nfs://, cifs://, sshfs:// or sftp:// (a directory the TFTP server serves)`);
  u = sftpAsSshfs(u);
  const m = await mountUrl(u, join(ctx.workArea!.buildDir, name), ctx.config.str("OUTPUT_OPTIONS"));
  const undo = ctx.exitTasks.add(`unmount ${url}`, () => m.unmount());
  return { dir: m.dir, local: false, done: async () => { ctx.exitTasks.remove(undo); await m.unmount(); } };
}

/** The MAC addresses of this machine's network cards (not lo, not all-zero). */
function macs(): string[] {
  const out: string[] = [];
  try {
    for (const n of readdirSync("/sys/class/net")) {
      if (n === "lo") continue;
      try {
        const a = readFileSync(`/sys/class/net/${n}/address`, "utf8").trim();
        if (macLinkName(a)) out.push(a);
      } catch {}
    }
  } catch {}
  return [...new Set(out)];
}

function ipv4s(): string[] {
  return Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address);
}

export const writePxeFiles: Module = {
  stage: "output",
  order: 800,
  name: "copy_to_tftp_and_create_pxelinux_cfg",
  what: "output/PXE/default/800_copy_to_tftp.sh, 810_create_pxelinux_cfg.sh (+ an iPXE script)",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && ctx.config.str("OUTPUT") === "PXE",
  async run(ctx) {
    const c = ctx.config;
    const st = rescueState(ctx);
    if (!st.initrd) throw new Error("output/800 (PXE) without an initramfs");
    const host = c.str("HOSTNAME") || hostname();
    const sub = c.str("OUTPUT_PREFIX_PXE") || host;
    const pfx = c.str("PXE_TFTP_PREFIX");
    const links = c.str("PXE_CREATE_LINKS");
    if (links && links !== "MAC" && links !== "IP") throw new WorkflowError(`PXE_CREATE_LINKS='${links}' is neither MAC nor IP nor empty`, `fix it in ${ctx.paths.configDir}/local.conf`);
    const tftp = await target(ctx, c.str("PXE_TFTP_UPLOAD_URL") || c.str("PXE_TFTP_URL"), c.str("PXE_TFTP_UPLOAD_URL") ? "PXE_TFTP_UPLOAD_URL" : "PXE_TFTP_URL", c.str("PXE_TFTP_PATH") || `${ctx.paths.varDir}/output`, "tftpbootfs");
    const written: string[] = [];
    try {
      const dir = join(tftp.dir, sub);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const kernel = `${pfx}kernel`;
      const initrd = `${pfx}${st.initrd.name}`;
      const put = (from: string, name: string) => {
        copyFileSync(from, join(dir, name));
        // the TFTP server runs as another user: these must be readable (they hold no secret the ISO would not)
        chmodSync(join(dir, name), 0o644);
        written.push(join(dir, name));
      };
      if (c.str("TTY_ROOT_PASSWORD") || c.str("SSH_ROOT_PASSWORD")) ctx.log.warn("OUTPUT=PXE: the rescue initramfs (with the root password's hash in its /etc/shadow) is served over TFTP to anyone on the network who asks for it");
      put(st.kernelFile, kernel);
      put(st.initrd.file, initrd);
      writeFileSync(join(dir, `${pfx}message`), versionText(host, c.str("BACKUP"), "PXE"), { mode: 0o644 });
      written.push(join(dir, `${pfx}message`));
      const menu: PxeMenuInput = { host, version: VERSION, kernel: `${sub}/${kernel}`, initrd: `${sub}/${initrd}`, cmdline: rescueKernelLine(c), recoverMode: c.str("PXE_RECOVER_MODE"), tftpIp: c.str("PXE_TFTP_IP") };
      writeFileSync(join(dir, `${pfx}ipxe`), ipxeScript(menu, c.str("PXE_HTTP_URL")), { mode: 0o644 });
      written.push(join(dir, `${pfx}ipxe`));
      // ReaR: an unattended PXE recovery also needs pxelinux itself at the TFTP root
      if (c.str("PXE_RECOVER_MODE")) {
        for (const [f, dirs] of [["pxelinux.0", ["/usr/lib/PXELINUX", "/usr/share/syslinux", "/usr/lib/syslinux"]], ["ldlinux.c32", ["/usr/lib/syslinux/modules/bios", "/usr/share/syslinux", "/usr/lib/syslinux"]]] as const) {
          const src = dirs.map((d) => join(d, f)).find((p) => existsSync(p));
          if (src && !existsSync(join(tftp.dir, f))) copyFileSync(src, join(tftp.dir, f));
          else if (!src) ctx.log.log(`${f} is not installed here: the TFTP server must provide it (install pxelinux and syslinux-common)`);
        }
      }
      ctx.log.logPrint(`Copied the rescue kernel and initramfs to ${c.str("PXE_TFTP_UPLOAD_URL") || c.str("PXE_TFTP_URL") || tftp.dir}/${sub} (${kernel}, ${initrd})`);
    } finally {
      await tftp.done();
    }
    const grubStyle = c.isTrue("PXE_CONFIG_GRUB_STYLE");
    const cfgUrl = c.str("PXE_CONFIG_URL");
    const cfg = await target(ctx, cfgUrl, "PXE_CONFIG_URL", c.str("PXE_CONFIG_PATH") || `${ctx.paths.varDir}/output`, "pxeconfigfs");
    try {
      const name = `${c.str("PXE_CONFIG_PREFIX")}${host}`;
      const file = join(cfg.dir, name);
      const menu: PxeMenuInput = { host, version: VERSION, kernel: `${sub}/${pfx}kernel`, initrd: `${sub}/${pfx}${st.initrd.name}`, cmdline: rescueKernelLine(c), recoverMode: c.str("PXE_RECOVER_MODE"), tftpIp: c.str("PXE_TFTP_IP") };
      rmSync(file, { force: true });
      writeFileSync(file, grubStyle ? pxeGrubConfig(menu) : pxelinuxConfig(menu), { mode: 0o644 });
      written.push(file);
      if (links && c.isTrue("PXE_REMOVE_OLD_LINKS")) {
        for (const f of readdirSync(cfg.dir)) {
          const p = join(cfg.dir, f);
          if (lstatSync(p).isSymbolicLink() && readlinkSync(p) === name) rmSync(p);
        }
      }
      const linkPrefix = grubStyle ? "grub.cfg-" : "";
      const names = links === "MAC" ? macs().map((m) => macLinkName(m)!) : links === "IP" ? ipv4s().flatMap(ipLinkNames) : [];
      for (const n of names) {
        const p = join(cfg.dir, `${linkPrefix}${n}`);
        rmSync(p, { force: true });
        symlinkSync(name, p);
      }
      ctx.log.logPrint(`Created the ${grubStyle ? "GRUB" : "PXELINUX"} config '${name}'${names.length ? ` and links ${names.map((n) => `${linkPrefix}${n}`).join(", ")}` : ""} in ${cfgUrl || cfg.dir}`);
    } finally {
      await cfg.done();
    }
    // local files are results too (ReaR's RESULT_FILES): OUTPUT_URL gets a copy
    st.resultFiles.push(...written.filter((f) => (f.startsWith(tftp.dir) && tftp.local) || (f.startsWith(cfg.dir) && cfg.local)));
  },
};
