// rescue: the rescue tree's contents before libraries and modules — the features the layout needs
// (checked first: every missing required program is reported at once, before anything is copied), the
// skeleton, the programs, the files, COPY_AS_IS, the configuration, our own binary and the files the
// boot scripts read. ReaR's rescue/default/010_merge_skeletons … 900_clone_users_and_groups and
// build/GNU/Linux/100_copy_as_is, 390_copy_binaries_libraries (the program half).

import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { addAnyStorage, chooseFeatures, FEATURE_FILES_EXCLUDE, type FeatureChoice } from "../../rescue/features.ts";
import { localMedium, needsFromLayout } from "../../rescue/needs.ts";
import { linesWithSecrets, RESCUE_STRIPPED_SECRETS, stripSecretAssignments } from "../../rescue/secrets.ts";
import { networkFilesForRescue, type NetworkFiles } from "../../rescue/network/index.ts";
import { unpackSkel } from "../../rescue/skel.ts";
import { makeExcluder, RescueTree } from "../../rescue/tree.ts";
import { exec, which } from "../../sys/exec.ts";
import { PRODUCT, VERSION } from "../../version.ts";
import { coveRescueContent } from "../backup/cove.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import type { SavedLayout } from "../layout/save-layout.ts";
import { rescueState } from "./preflight.ts";

export interface RescueContent {
  choice: FeatureChoice;
  network: NetworkFiles;
  /** program name → host path */
  programs: Map<string, string>;
  tree: RescueTree;
}

export function rescueContent(ctx: Context): RescueContent {
  const s = ctx.state.rescueContent as RescueContent | undefined;
  if (!s) throw new Error("the rescue build has no content: rescue/005 did not run");
  return s;
}

/** Where the rescue system's rear (/usr/sbin/rear, /etc/rear) keeps its state. */
const RESCUE_VAR_DIR = "/var/lib/rear";

/** LVM's commands are links to the one lvm binary (ReaR's 005_create_symlinks.sh). */
const LVM_COMMANDS = ["pvcreate", "pvremove", "pvs", "pvscan", "pvdisplay", "vgcreate", "vgchange", "vgremove", "vgs", "vgscan", "vgdisplay", "vgcfgrestore", "vgcfgbackup", "vgextend", "vgmknodes", "lvcreate", "lvchange", "lvremove", "lvs", "lvscan", "lvdisplay", "lvextend", "lvresize", "lvconvert"];

export function sshWanted(ctx: Context): boolean {
  const c = ctx.config;
  if (c.isFalse("SSH_FILES") || c.str("SSH_FILES") === "no") return false;
  if (!which("sshd", rescueState(ctx).searchPath)) return false;
  return c.str("SSH_ROOT_PASSWORD") !== "" || existsSync("/root/.ssh/authorized_keys");
}

/** The file system types of the local backup/output medium (usb://, file://): the rescue kernel must mount it. */
async function mediumFsTypes(ctx: Context): Promise<Set<string>> {
  const out = new Set<string>();
  for (const url of [ctx.config.str("BACKUP_URL"), ctx.config.str("OUTPUT_URL")]) {
    const m = localMedium(url);
    if (!m) continue;
    if ("device" in m) {
      const r = await exec(["blkid", "-o", "value", "-s", "TYPE", m.device]);
      const t = r.code === 0 ? r.stdout.trim() : "";
      out.add(t || "unknown");
      ctx.log.log(`The backup medium ${m.device} has ${t || "no file system known now (ext4 and FAT are included)"}`);
    } else {
      let p = m.path;
      while (p !== "/" && !existsSync(p)) p = p.replace(/\/[^/]*\/?$/, "") || "/";
      const r = await exec(["findmnt", "-n", "-o", "FSTYPE", "-T", p]);
      const t = r.stdout.trim().split("\n")[0] ?? "";
      if (r.code === 0 && t && !/^(nfs4?|cifs|fuse\..*|tmpfs|overlay)$/.test(t)) out.add(t);
    }
  }
  return out;
}

export const chooseRescueFeatures: Module = {
  stage: "rescue",
  order: 5,
  name: "choose_features",
  what: "prep/GNU/Linux/2xx_include_* and 950_check_missing_programs, decided by the layout",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name),
  async run(ctx) {
    const st = rescueState(ctx);
    const layout = ctx.state.layout as SavedLayout | undefined;
    if (!layout) throw new Error("rescue/005 needs the layout of layout/save");
    // the network of this machine, replayed at rescue boot (ReaR's 310_network_devices, 350_routing, 210_include_dhclient)
    const network = await networkFilesForRescue(ctx.config, ctx.paths.configDir, { note: (m) => ctx.log.log(m) });
    for (const w of network.warnings) ctx.log.warn(w);
    for (const n of network.notes) ctx.log.log(`rescue network: ${n}`);
    const needs = needsFromLayout(layout.doc, layout.json.host, ctx.config, { ssh: sshWanted(ctx), mediumFsTypes: await mediumFsTypes(ctx) });
    const choice = chooseFeatures(needs);
    const forOthers = rescueForOtherMachines(ctx.config);
    if (forOthers) addAnyStorage(choice, needs, forOthers);
    choice.features.push({ name: "network", why: "the network of this machine at rescue boot (ip, DHCP client)" });
    for (const p of network.programs) if (!choice.required.has(p)) choice.required.set(p, ["network"]);
    for (const p of network.optionalPrograms) if (!choice.required.has(p)) choice.optional.set(p, ["network"]);
    for (const m of network.modules) choice.modules.set(m, [...(choice.modules.get(m) ?? []), "network"]);
    if (ctx.config.str("RECOVERY_UPDATE_SIGNERS")) {
      choice.features.push({ name: "recovery-update", why: "RECOVERY_UPDATE_SIGNERS: ssh-keygen checks the signature of the update" });
      if (!choice.required.has("ssh-keygen")) choice.required.set("ssh-keygen", ["recovery-update"]);
    }
    for (const f of choice.features) ctx.log.log(`Rescue feature ${f.name}: ${f.why}`);
    const programs = new Map<string, string>();
    const missing: string[] = [];
    for (const [p, feats] of choice.required) {
      const found = which(p, st.searchPath);
      if (found) programs.set(p, found);
      else missing.push(`${p} (${feats.join(", ")}: ${choice.features.find((f) => f.name === feats[0])?.why ?? ""})`);
    }
    if (missing.length) {
      throw new WorkflowError(`Cannot make the rescue system: required programs are missing: ${missing.join("; ")}`, "install them (each is needed for the reason given), or remove them from REQUIRED_PROGS/PROGS where the configuration names them");
    }
    for (const p of choice.optional.keys()) {
      const found = which(p, st.searchPath);
      if (found) programs.set(p, found);
    }
    if (needs.lvm || (forOthers && programs.has("lvm"))) for (const p of LVM_COMMANDS) programs.set(p, "lvm");
    const tree = new RescueTree(ctx.workArea!.rootfsDir, "/", (s) => ctx.log.print(`Copying into the rescue system: ${s.files} files, ${Math.round(s.bytes / 1048576)} MiB`));
    ctx.state.rescueContent = { choice, network, programs, tree } satisfies RescueContent;
  },
};

/** Why this rescue image will recover other machines than this one (their layout downloaded at recover), or undefined. */
export function rescueForOtherMachines(c: { str(name: string): string }): string | undefined {
  if (c.str("RECOVERY_UPDATE_URL")) return "RECOVERY_UPDATE_URL is set: the image may recover other machines";
  if (/(^|\s)recovery_update_url=/.test(c.str("KERNEL_CMDLINE"))) return "recovery_update_url= is on KERNEL_CMDLINE: the image may recover other machines";
  return undefined;
}

function write(tree: RescueTree, path: string, text: string, mode = 0o644): void {
  const p = tree.at(path);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text, { mode });
}

/** A line of a bash file that sets NAME to a value, single-quoted. */
export function shellAssign(name: string, value: string): string {
  return `${name}='${value.replace(/'/g, `'\\''`)}'`;
}

/** A password for /etc/shadow: taken as it is when it already is a crypt hash, else hashed with SHA-512 (openssl passwd -6, the password on stdin). */
export async function shadowHash(pw: string): Promise<string> {
  if (/^\$(1|5|6|y|2[aby])\$/.test(pw)) return pw;
  const r = await exec(["openssl", "passwd", "-6", "-stdin"], { stdin: `${pw}\n`, quiet: true, what: "hashing the rescue system's root password" });
  if (r.code !== 0) throw new WorkflowError("Cannot hash the root password of the rescue system (openssl passwd -6 failed)", "install openssl, or give SSH_ROOT_PASSWORD / TTY_ROOT_PASSWORD as a SHA-512 crypt hash ($6$…)");
  return r.stdout.trim();
}

export const populateRescueTree: Module = {
  stage: "rescue",
  order: 100,
  name: "populate_rootfs",
  what: "rescue/default/010_merge_skeletons, 100_hostname, 200_etc_issue, 500_ssh, 900_clone_users_and_groups; build/GNU/Linux/100_copy_as_is, 390 (programs)",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name),
  async run(ctx) {
    const c = ctx.config;
    const rc = rescueContent(ctx);
    const tree = rc.tree;
    const t0 = performance.now();
    unpackSkel(tree.root);
    // programs, at their host paths (the skeleton makes /usr/bin, /usr/sbin, /sbin one /bin)
    for (const [name, path] of rc.programs) {
      if (path === "lvm") {
        const link = tree.at(`/bin/${name}`);
        if (!existsSync(link)) symlinkSync("lvm", link);
        continue;
      }
      tree.add(path);
    }
    const featureExclude = makeExcluder(FEATURE_FILES_EXCLUDE);
    for (const f of rc.choice.files.keys()) tree.add(f, { recursive: true, exclude: featureExclude });
    // COPY_AS_IS minus COPY_AS_IS_EXCLUDE (tar -X semantics: a pattern matches the path or any tail of it)
    // (and never the lock of this very run)
    const varDir = ctx.paths.varDir.replace(/\/+$/, "");
    const excludeAsIs = makeExcluder(c.arr("COPY_AS_IS_EXCLUDE"));
    const exclude = (p: string) => p === `${varDir}/rear.lock` || excludeAsIs(p);
    for (const p of c.arr("COPY_AS_IS").filter(Boolean)) {
      const paths = /[*?[]/.test(p) ? [...new Bun.Glob(p.replace(/^\//, "")).scanSync({ cwd: "/", onlyFiles: false, followSymlinks: false })].map((x) => `/${x}`) : [p];
      for (const q of paths) {
        // a bundled rear (VAR_DIR /opt/MXB/rear/var/lib/rear): the rescue system's rear is /usr/sbin/rear with
        // its state in /var/lib/rear, where recover looks for the layout
        if (varDir !== RESCUE_VAR_DIR && (q === varDir || q.startsWith(`${varDir}/`)) && existsSync(q)) {
          const dest = `${RESCUE_VAR_DIR}${q.slice(varDir.length)}`;
          if (lstatSync(q).isDirectory()) tree.addDirAs(q, dest, exclude);
          else if (!exclude(q)) tree.addAs(q, dest, lstatSync(q).mode & 0o7777);
          continue;
        }
        tree.add(q, { recursive: true, exclude });
      }
    }
    // the files a recovery update is verified with, at the paths the configuration names
    for (const v of ["RECOVERY_UPDATE_CA", "RECOVERY_UPDATE_SIGNERS"]) {
      const f = c.str(v);
      if (!f) continue;
      if (!existsSync(f)) throw new WorkflowError(`${v}=${f}: no such file`, "the rescue system needs it to verify the update: give an existing file, or unset it");
      tree.add(f);
    }
    // BACKUP=COVE: the installer's CA, the Backup Manager itself with COVE_INCLUDE_AGENT (rescue/COVE/default/600_store_cove_vars)
    const coveConf = coveRescueContent(ctx, (p, o) => tree.add(p, o));
    // the configuration becomes the rescue system's /etc/rear, wherever it came from (-c); our binary
    // becomes /usr/sbin/rear (copied whole: never stripped)
    tree.addDirAs(ctx.paths.configDir, "/etc/rear", makeExcluder(["*.iso", "*~"]));
    removeSecrets(ctx, tree.at("/etc/rear"));
    const self = process.execPath;
    if (/\/bun(-[a-z0-9-]+)?$/.test(self)) throw new WorkflowError(`mkrescue must run from the compiled rear binary, not from ${self}`, "build it with `bun run build` and run dist/rear");
    tree.addAs(self, "/usr/sbin/rear", 0o755);
    // identity and marker files
    const host = c.str("HOSTNAME") || hostname();
    write(tree, "/etc/hostname", `${host}\n`);
    write(tree, "/etc/HOSTNAME", `${host}\n`);
    // ReaR's marker of the rescue system (init/default/002_check_rear_recover_mode.sh)
    write(tree, "/etc/rear-release", `${PRODUCT} release ${VERSION}\n`);
    const issue = existsSync(tree.at("/etc/issue")) ? readFileSync(tree.at("/etc/issue"), "utf8") : "";
    write(tree, "/etc/issue", `${PRODUCT} ${VERSION} rescue system for ${host}, built ${new Date().toISOString().slice(0, 16).replace("T", " ")}\n${issue}`);
    write(tree, "/etc/modules", c.arr("MODULES_LOAD").filter(Boolean).map((m) => `${m}\n`).join(""));
    // users: the host's passwd and group (udev rules name their groups), a shadow with only root's password
    const pw = c.str("TTY_ROOT_PASSWORD") || c.str("SSH_ROOT_PASSWORD");
    const rootHash = pw ? await shadowHash(pw) : "";
    const users = existsSync(tree.at("/etc/passwd")) ? readFileSync(tree.at("/etc/passwd"), "utf8").split("\n").filter(Boolean).map((l) => l.split(":")[0]!) : ["root"];
    write(tree, "/etc/shadow", users.map((u) => `${u}:${u === "root" ? rootHash || "*" : "*"}:19000:0:99999:7:::\n`).join(""), 0o600);
    const setup = [
      "# written by rear mkrescue: values the boot scripts of the rescue system use",
      shellAssign("HOSTNAME", host),
      shellAssign("USER_INPUT_INTERRUPT_TIMEOUT", c.str("USER_INPUT_INTERRUPT_TIMEOUT") || "30"),
      ...(c.str("TTY_ROOT_PASSWORD") ? ["TTY_ROOT_PASSWORD_SET=1"] : []),
      ...rc.network.setupConf,
    ];
    for (const [path, f] of Object.entries(rc.network.files)) write(tree, path, f.text, f.mode);
    await saveKeyboard(ctx, tree, setup);
    write(tree, "/etc/scripts/setup.conf", `${setup.join("\n")}\n`);
    // what mkrescue learned that recover needs (ReaR's rescue.conf; 320_include_uefi_env writes USING_UEFI_BOOTLOADER)
    const uefi = rc.choice.features.some((f) => f.name === "grub-efi");
    const rescueConf = [`# written by rear mkrescue ${new Date().toISOString()}`, ...(uefi ? ["USING_UEFI_BOOTLOADER=1"] : []), ...coveConf];
    write(tree, "/etc/rear/rescue.conf", `${rescueConf.join("\n")}\n`);
    if (rc.choice.features.some((f) => f.name === "sshd")) configureSshd(ctx, tree);
    ctx.log.log(`Copied ${tree.stats.files} files (${Math.round(tree.stats.bytes / 1048576)} MiB) and ${tree.stats.links} links into the rescue system in ${Math.round(performance.now() - t0)} ms`);
    for (const f of tree.failed) ctx.log.warn(`Could not copy ${f.path}: ${f.reason}`);
  },
};

/**
 * The console keyboard (ReaR's rescue/GNU/Linux/500_clone_keyboard_mappings.sh): KEYMAP names a keymap
 * loadkeys finds (its files are copied), else this machine's current mapping is saved with dumpkeys.
 * Without a console to ask (a job with no terminal), the rescue system keeps the kernel's US keyboard.
 */
async function saveKeyboard(ctx: Context, tree: RescueTree, setup: string[]): Promise<void> {
  const keymap = ctx.config.str("KEYMAP");
  if (keymap) {
    for (const d of ["/usr/share/keymaps", "/usr/share/kbd/keymaps", "/lib/kbd/keymaps"]) tree.add(d, { recursive: true });
    setup.push(shellAssign("KEYMAP", keymap));
    return;
  }
  const dumpkeys = which("dumpkeys", rescueState(ctx).searchPath);
  if (!dumpkeys) return;
  const r = await exec([dumpkeys, "-f"], { quiet: true });
  if (r.code === 0 && r.stdout.includes("keycode")) write(tree, "/etc/dumpkeys.out", r.stdout);
  else ctx.log.log(`dumpkeys could not read this machine's keyboard (exit ${r.code}): the rescue system's console keeps the kernel's US keyboard (set KEYMAP to choose one)`);
}

/** The assignments of the secrets the rescue system does without, out of its /etc/rear (src/rescue/secrets.ts); a value left in it stops mkrescue. */
export function removeSecrets(ctx: Context, dir: string): void {
  const c = ctx.config;
  const names = RESCUE_STRIPPED_SECRETS;
  const values = names.map((n) => c.str(n)).filter(Boolean);
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, rel);
    const st = lstatSync(p);
    if (!st.isFile() || st.size > 1 << 20) continue;
    const raw = readFileSync(p);
    if (raw.includes(0)) continue; // not text: not a configuration file
    const { text, removed } = stripSecretAssignments(raw.toString("utf8"), names);
    if (removed.length) {
      writeFileSync(p, text);
      ctx.log.log(`Removed ${[...new Set(removed)].join(", ")} from the rescue system's /etc/rear/${rel}`);
    }
    const left = linesWithSecrets(text, values);
    if (left.length) {
      throw new WorkflowError(
        `The value of a secret variable (${names.join(", ")}) is in ${join(ctx.paths.configDir, rel)} line ${left.join(", ")} outside an assignment rear can remove`,
        "assign secrets on one line of their own, e.g. { BACKUP_PROG_CRYPT_KEY='…' ; } 2>>/dev/$SECRET_OUTPUT_DEV, or export them in the environment",
      );
    }
  }
}

/** ReaR's build/default/500_ssh_setup.sh: root may log in (with the password when one was set, else by key), no PAM in the rescue system. */
function configureSshd(ctx: Context, tree: RescueTree): void {
  const cfg = tree.at("/etc/ssh/sshd_config");
  const old = existsSync(cfg) ? readFileSync(cfg, "utf8") : "";
  const pw = ctx.config.str("SSH_ROOT_PASSWORD") !== "";
  // sshd takes the first value of each keyword: ours go on top
  const ours = ["# Relax-and-Recover rescue system", "PermitRootLogin yes", `PasswordAuthentication ${pw ? "yes" : "no"}`, "UsePAM no", "PrintMotd no", ""].join("\n");
  writeFileSync(cfg, `${ours}\n${old}`, { mode: 0o644 });
  if (ctx.config.isTrue("SSH_UNPROTECTED_PRIVATE_KEYS")) for (const k of ["rsa", "ecdsa", "ed25519"]) tree.add(`/etc/ssh/ssh_host_${k}_key`), tree.add(`/etc/ssh/ssh_host_${k}_key.pub`);
  try {
    if (lstatSync("/root/.ssh").isDirectory()) mkdirSync(tree.at("/root/.ssh"), { recursive: true, mode: 0o700 });
  } catch {}
}
