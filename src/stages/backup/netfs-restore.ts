// verify and restore (BACKUP=NETFS): the archive at BACKUP_URL is checked against its SHA-256 before
// anything is written (a damaged archive is refused, not half restored), then extracted into
// TARGET_FS_ROOT with the same metadata options it was made with. ReaR: verify/NETFS/default/
// 050_check_NETFS_requirements, 060_mount_NETFS_path, 070_set_backup_archive; restore/NETFS/default/
// 400_restore_backup, with BACKUP_TYPE's chains, split volumes, encrypted archives and progress.

import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { encodeBytes } from "../../sys/bytes.ts";
import { hostname } from "node:os";
import { join } from "node:path";
import { archiveFiles, readFiles, readHeadOf } from "../../backup/archive-io.ts";
import { CryptError, Decryptor, decodeHeader, HEADER_BYTES, isOpensslSalted, isRearAead } from "../../backup/crypt.ts";
import { archiveName, backupType, restoreChain, volumeIsoLabel } from "../../backup/netfs-plan.ts";
import { decryptArgv, KEY_ENV, streamKind } from "../../backup/openssl-crypt.ts";
import { tarExtractArgv, tarFeatures, tarOutcome } from "../../backup/tar.ts";
import type { Context } from "../../engine/context.ts";
import type { ExitTask } from "../../engine/exit-tasks.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { mountUrl, parseUrl, UrlError, type MountedUrl } from "../../output/url.ts";
import { userInputFor } from "../../engine/ask.ts";
import { progressReporter } from "../../engine/progress.ts";
import { descendants, exec, execStream, spawnFilter, which } from "../../sys/exec.ts";
import { programSearchPath } from "../rescue/preflight.ts";


interface RestoreState {
  /** BACKUP_URL's mount and, for a backup over several ISOs, the further media's */
  mounted: { unmount(): Promise<void> };
  /** the exit task that unmounts BACKUP_URL when the run ends early */
  undo: ExitTask;
  /** in restore order: one archive, or a full backup and its incremental/differential ones; each one file or its volumes */
  archives: { name: string; paths: string[]; bytes: number; encrypted: boolean; openssl: boolean }[];
  /** the passphrase of encrypted archives (memory only: never written, never logged) */
  key?: string;
}

const restoring = (ctx: Context) => ctx.config.str("BACKUP") === "NETFS" && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly");

export const verifyNetfsBackup: Module = {
  stage: "verify",
  order: 500,
  name: "verify_backup",
  what: "verify/NETFS/default/060_mount_NETFS_path, 070_set_backup_archive, 550_check_backup_archive, 600_check_encryption_key (+ our SHA-256 check before any write)",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    let u;
    try {
      u = parseUrl(c.str("BACKUP_URL"), "BACKUP_URL");
    } catch (e) {
      if (e instanceof UrlError) throw new WorkflowError(e.message);
      throw e;
    }
    let type;
    try {
      type = backupType(c.str("BACKUP_TYPE"));
    } catch (e) {
      throw new WorkflowError((e as Error).message);
    }
    // read-only, as ReaR's 090_set_readonly_options: the restore must not change the backup
    const options = ["ro", ...c.str("BACKUP_OPTIONS").split(",").filter((o) => o && o !== "rw")].join(",");
    const mnt = join(ctx.workArea!.buildDir, "outputfs");
    const m = u.scheme === "iso" ? await mountIsoMedium(c.str("ISO_VOLID") || "REAR-ISO", mnt) : await mountUrl(u, mnt, u.scheme === "file" ? "" : options);
    const mounts: MountedUrl[] = [m];
    const mounted = { unmount: async () => void (await Promise.all(mounts.map((x) => x.unmount()))) };
    const undo = ctx.exitTasks.add(`unmount ${c.str("BACKUP_URL")}`, () => mounted.unmount());
    const dir = u.scheme === "iso" ? join(m.dir, u.path) : join(m.dir, c.str("NETFS_PREFIX") || c.str("HOSTNAME") || hostname());
    let names: string[];
    if (type) {
      // ReaR's chain: the latest full backup, then every incremental after it, or the latest differential
      names = restoreChain(existsSync(dir) ? readdirSync(dir) : [], type);
      if (!names.length) throw new WorkflowError(`There is no full backup (YYYY-MM-DD-HHMM-F…) in ${dir} to start the ${type} chain from`, "check BACKUP_URL and NETFS_PREFIX");
      ctx.log.logPrint(`Restoring the ${type} chain: ${names.join(", ")}`);
    } else {
      names = [archiveName(c.str("BACKUP_PROG_ARCHIVE"), c.str("BACKUP_PROG_SUFFIX") || ".tar", c.str("BACKUP_PROG_COMPRESS_SUFFIX"))];
    }
    // every archive is found and checked before the first one is restored: the key first (asked once
    // for a chain), then one pass over each that checks its SHA-256 and, when encrypted, authenticates
    // every chunk — a damaged or changed archive is refused before a disk is touched
    // ISO_MAX_SIZE: the volumes after the first are on media of their own, labelled <ISO_VOLID>_NN
    const volid = c.str("ISO_VOLID") || "REAR-ISO";
    const onOtherMedium = async (file: string): Promise<string> => {
      const suffix = file.split(".").pop()!;
      const mm = await attachedMedium(ctx, volumeIsoLabel(volid, suffix), `${mnt}_${suffix}`, file);
      mounts.push(mm);
      return join(mm.dir, u.path, file);
    };
    const archives: Archive[] = [];
    for (const name of names) archives.push(await locateArchive(dir, name, u.scheme === "iso" ? onOtherMedium : undefined));
    const st: RestoreState = { mounted, undo, archives };
    const first = archives.find((a) => a.encrypted || a.openssl);
    if (first) st.key = await cryptKey(ctx, first);
    else if (c.isTrue("BACKUP_PROG_CRYPT_ENABLED")) ctx.log.warn("BACKUP_PROG_CRYPT_ENABLED is set but the archive is not encrypted: restoring it as it is");
    for (const a of archives) await checkArchive(ctx, a, st.key);
    ctx.state.netfsRestore = st;
  },
};

/**
 * How far into the archive the restore is: the file position of whichever process reads it — tar itself,
 * or the gzip/zstd tar started for --gzip/--zstd (tar's own reads count the *uncompressed* bytes, which
 * ran past the archive's size: "Restored 1237 of 445 MiB"). 0 once it is gone.
 */
function bytesRead(pid: number, archive: string): number {
  for (const p of [pid, ...descendants(pid)]) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${p}/fd/${fd}`) !== archive) continue;
        return Number(/^pos:\s+(\d+)$/m.exec(readFileSync(`/proc/${p}/fdinfo/${fd}`, "utf8"))?.[1] ?? 0);
      } catch {}
    }
  }
  return 0;
}

/**
 * BACKUP_URL=iso://: the backup is on the rescue medium, found by its label (ISO_VOLID) and mounted
 * read-only (ReaR mounts it by label REAR-ISO at $BUILD_DIR/outputfs).
 */
async function mountIsoMedium(volid: string, dir: string): Promise<MountedUrl> {
  const byLabel = `/dev/disk/by-label/${volid}`;
  const dev = existsSync(byLabel) ? byLabel : (await exec(["blkid", "-L", volid], { quiet: true })).stdout.trim();
  if (!dev) {
    throw new WorkflowError(`Cannot find the medium labelled ${volid} (ISO_VOLID) that holds the backup of BACKUP_URL=iso://`, "insert or attach the rescue ISO (CD drive, virtual media, USB stick made from it)");
  }
  mkdirSync(dir, { recursive: true });
  const r = await exec(["mount", "-o", "ro", "-t", "iso9660", dev, dir], { what: `mounting the rescue medium ${dev}` });
  if (r.code !== 0) throw new WorkflowError(`Cannot mount the rescue medium ${dev} (labelled ${volid}): ${r.stderr.trim()}`, "check that it is the ISO rear mkbackup wrote");
  let done = false;
  return {
    url: { scheme: "iso", host: "", path: "/" },
    dir,
    async unmount() {
      if (done) return;
      done = true;
      const u = await exec(["umount", dir]);
      if (u.code !== 0) await exec(["umount", "-l", dir]);
    },
  };
}

type Archive = RestoreState["archives"][number] & { manifest?: string; sums: string[][] };

/**
 * A further medium of a backup over several ISOs, by its label: mounted when it is attached (virtual
 * media, a second drive); else the user is asked to attach it — every volume is checked before the
 * restore starts, so all of them must be reachable at once (one drive for all: copy the ISOs' backup
 * files into one directory and restore from there with BACKUP_URL=file://).
 */
async function attachedMedium(ctx: Context, label: string, dir: string, file: string): Promise<MountedUrl> {
  for (;;) {
    try {
      return await mountIsoMedium(label, dir);
    } catch (e) {
      if (!(e instanceof WorkflowError) || !/Cannot find the medium/.test(e.message)) throw e;
      const a = userInputFor(ctx).ask({
        id: "ISO_VOLUME_ATTACHED",
        prompt: `The backup volume ${file} is on the medium labelled ${label}, which is not attached. Attach it (beside the others: every volume is checked before the restore)`,
        choices: ["It is attached now: look again", "Abort"],
        default: 1,
      });
      if (a.choice !== 0) throw new WorkflowError(`The backup volume ${file} is on the medium labelled ${label}, which is not attached`, "attach every ISO of the backup at once (virtual media, several drives), or copy their backup files into one directory and set BACKUP_URL=file://… to it");
    }
  }
}

async function locateArchive(dir: string, name: string, onOtherMedium?: (file: string) => Promise<string>): Promise<Archive> {
  const found = archiveFiles(dir, name);
  const archive = join(dir, name);
  if (onOtherMedium) {
    for (const f of found.files) {
      if (f.bytes >= 0) continue;
      f.path = await onOtherMedium(f.path.split("/").pop()!);
      f.bytes = existsSync(f.path) ? statSync(f.path).size : -1;
    }
  }
  if (!found.files.length) {
    throw new WorkflowError(`The backup archive ${archive} does not exist`, `check BACKUP_URL, NETFS_PREFIX and BACKUP_PROG_COMPRESS_SUFFIX; the directory holds: ${existsSync(dir) ? readdirSync(dir).join(" ") || "nothing" : "nothing (it does not exist)"}`);
  }
  const missing = found.files.filter((f) => f.bytes < 0);
  if (missing.length) throw new WorkflowError(`The backup archive ${archive} is incomplete: ${missing.map((f) => f.path).join(", ")} listed in ${name}.sha256 ${missing.length === 1 ? "is" : "are"} missing. Nothing was restored`, "copy the missing volumes back beside the manifest");
  const paths = found.files.map((f) => f.path);
  const head = readHeadOf(paths, HEADER_BYTES);
  return {
    name, paths, bytes: found.files.reduce((n, f) => n + f.bytes, 0), encrypted: isRearAead(head), openssl: isOpensslSalted(head),
    ...(found.manifest ? { manifest: found.manifest } : {}), sums: found.files.map((f) => f.sha256s ?? []),
  };
}

/** One read of the archive: its SHA-256 against the manifest, and every chunk authenticated when it is encrypted. */
async function checkArchive(ctx: Context, a: Archive, key: string | undefined): Promise<void> {
  if (!a.manifest) ctx.log.warn(`${a.name} has no ${a.name}.sha256 beside it (made by ReaR or an older rear?): its SHA-256 cannot be checked before the restore`);
  if (!a.manifest && !a.encrypted) return;
  const progress = progressReporter(`Checking ${a.name}:`, (l) => ctx.log.print(l), { total: a.bytes });
  const dec = a.encrypted ? new Decryptor(key!) : undefined;
  let done = 0;
  try {
    for (const [i, path] of a.paths.entries()) {
      const h = new Bun.CryptoHasher("sha256");
      for await (const chunk of readFiles([path])) {
        h.update(chunk);
        dec?.push(chunk);
        progress.update((done += chunk.length));
      }
      const got = h.digest("hex");
      const want = a.sums[i] ?? [];
      if (a.manifest && !want.length) throw new WorkflowError(`${a.manifest} has no SHA-256 line for ${a.name}`, "the manifest is damaged: check the archive by other means, then remove the manifest to restore anyway");
      if (want.length && !want.includes(got)) {
        throw new WorkflowError(
          `The backup archive ${path} is damaged: its SHA-256 is ${got}, the manifest written with it says ${want.join(" or ")}. Nothing was restored`,
          "restore from another copy of the backup (NETFS_KEEP_OLD_BACKUP_COPY keeps the previous one in <NETFS_PREFIX>.old)",
        );
      }
    }
    dec?.end();
  } catch (e) {
    if (e instanceof CryptError) throw new WorkflowError(`The encrypted backup ${a.name} cannot be restored: ${e.message}. Nothing was restored`, "restore from another copy of the backup");
    throw e;
  }
  const what = [a.manifest ? `SHA-256 matches ${a.name}.sha256` : "", a.encrypted ? "every encrypted chunk authenticated" : ""].filter(Boolean).join(", ");
  ctx.log.logPrint(`Backup archive verified: ${what} (${Math.round(a.bytes / 1048576)} MiB${a.paths.length > 1 ? ` in ${a.paths.length} volumes` : ""} in ${progress.elapsed().toFixed(1)} s)`);
}

/**
 * The passphrase of an encrypted archive: BACKUP_PROG_CRYPT_KEY from the environment or the
 * configuration (mkrescue leaves it out of the rescue system, ReaR's 960_remove_encryption_keys), else
 * asked on the terminal without echo (ReaR's 600_check_encryption_key). It is tried on the archive's
 * first chunk before anything is written: a wrong one is asked again (three times) or stops here.
 */
async function cryptKey(ctx: Context, a: Archive): Promise<string> {
  const given = ctx.config.str("BACKUP_PROG_CRYPT_KEY") || ctx.env.BACKUP_PROG_CRYPT_KEY || "";
  const tries = given ? [given] : [];
  for (let i = 0; ; i++) {
    const key = tries[i] ?? userInputFor(ctx).ask({ id: "BACKUP_PROG_CRYPT_KEY", prompt: `Enter the key (BACKUP_PROG_CRYPT_KEY) of the encrypted backup ${a.name}`, secret: true }).text;
    try {
      if (a.openssl) await opensslKeyOpens(ctx, key, a.paths);
      else keyOpens(key, a.paths, a.bytes);
      ctx.log.logPrint(`The key opens the encrypted backup ${a.name}`);
      return key;
    } catch (e) {
      if (!(e instanceof CryptError)) throw e;
      const last = given ? i === 0 : i >= 2;
      if (last) throw new WorkflowError(`Cannot decrypt ${a.name}: ${e.message}`, given ? "BACKUP_PROG_CRYPT_KEY (environment or configuration) is not the key of this backup: unset it to be asked" : "find the key the backup was made with (BACKUP_PROG_CRYPT_KEY on the original machine)");
      ctx.log.logUserOutput(`That key does not open ${a.name}: ${e.message}`);
    }
  }
}

/**
 * An archive ReaR encrypted with openssl (src/backup/openssl-crypt.ts): its first 64 KiB decrypted with
 * BACKUP_PROG_DECRYPT_OPTIONS must start a compressed stream or a tar archive; else the key is wrong.
 */
async function opensslKeyOpens(ctx: Context, key: string, paths: readonly string[]): Promise<void> {
  let argv;
  try {
    argv = [...decryptArgv(ctx.config.str("BACKUP_PROG_DECRYPT_OPTIONS")), "-nopad"];
  } catch (e) {
    throw new WorkflowError((e as Error).message);
  }
  // the 16-byte "Salted__" header and whole cipher blocks: -nopad decrypts them without the end's padding
  const head = readHeadOf(paths, 16 + 65536);
  const probe = head.subarray(0, 16 + Math.floor((head.length - 16) / 16) * 16);
  async function* one() {
    yield probe;
  }
  const f = spawnFilter(argv, one(), { env: { ...ctx.env, [KEY_ENV]: key }, quiet: true });
  const out: Uint8Array[] = [];
  for await (const c of f.stdout) out.push(c);
  const r = await f.result;
  if (r.code !== 0 && !/bad decrypt/.test(r.stderr)) throw new WorkflowError(`${argv[0]} could not decrypt (exit ${r.code}): ${r.stderr.trim().split("\n").at(-1)}`, "check BACKUP_PROG_DECRYPT_OPTIONS (the command that made the archive, with -d)");
  const kind = streamKind(Buffer.concat(out));
  if (!kind) throw new CryptError("the key is wrong (or BACKUP_PROG_DECRYPT_OPTIONS is not how the archive was encrypted): the first bytes decrypt to neither a compressed stream nor a tar archive");
  ctx.log.log(`The archive is encrypted by openssl (ReaR's BACKUP_PROG_CRYPT_OPTIONS); it decrypts to a ${kind} stream`);
}

/** Throws CryptError unless `key` authenticates the first chunk of the encrypted archive in `paths`. */
function keyOpens(key: string, paths: readonly string[], totalBytes: number): void {
  const { params } = decodeHeader(readHeadOf(paths, HEADER_BYTES));
  // the header, one sealed chunk and one more byte: enough to know whether that chunk is the last
  const head = readHeadOf(paths, HEADER_BYTES + 2 ** params.log2Chunk + 16 + 1);
  const d = new Decryptor(key);
  const out = d.push(head);
  if (!out.length && head.length >= totalBytes) d.end();
  else if (!out.length) throw new CryptError("the encrypted archive's first chunk is incomplete");
}

export const restoreNetfsBackup: Module = {
  stage: "restore",
  order: 400,
  name: "restore_backup",
  what: "restore/NETFS/default/400_restore_backup.sh",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    const st = ctx.state.netfsRestore as RestoreState | undefined;
    if (!st) throw new Error("restore without a verified archive: verify/500 did not run");
    const target = c.str("TARGET_FS_ROOT") || "/mnt/local";
    if (!existsSync(target) || !statSync(target).isDirectory()) throw new WorkflowError(`${target} (TARGET_FS_ROOT) does not exist`, "recreate and mount the layout first (rear layoutonly, or rear recover does both)");
    const tar = which(c.str("BACKUP_PROG") || "tar", programSearchPath(ctx.env.PATH));
    if (!tar) throw new WorkflowError("Cannot find tar in the rescue system");
    const usage = await exec([tar, "--usage"], { quiet: true });
    const excludes = c.arr("EXCLUDE_RESTORE").filter(Boolean);
    const excludeFile = join(ctx.workArea!.tmpDir, "restore-exclude.txt");
    writeFileSync(excludeFile, encodeBytes(excludes.map((e) => `${e.replace(/^\//, "")}\n`).join("")));
    for (const a of st.archives) {
      const extract = {
        tar, features: tarFeatures(usage.stdout), options: c.arr("BACKUP_PROG_OPTIONS").filter(Boolean), compress: c.arr("BACKUP_PROG_COMPRESS_OPTIONS").filter(Boolean),
        ...(excludes.length ? { excludeFile } : {}), archive: "-", target,
      };
      const argv = tarExtractArgv(extract);
      ctx.log.logPrint(`Restoring from '${a.paths.length > 1 ? `${a.paths[0]} … (${a.paths.length} volumes)` : a.paths[0]}' (${Math.round(a.bytes / 1048576)} MiB${a.encrypted ? ", encrypted" : a.openssl ? ", encrypted by openssl" : ""}) to ${target}`);
      const progress = progressReporter("Restored", (l) => ctx.log.print(l), { total: a.bytes });
      const dec = a.encrypted ? new Decryptor(st.key!) : undefined;
      let done = 0;
      async function* input(): AsyncGenerator<Uint8Array> {
        for await (const chunk of readFiles(a.paths)) {
          done += chunk.length;
          progress.update(done);
          if (dec) yield* dec.push(chunk);
          else yield chunk;
        }
        if (dec) yield* dec.end();
      }
      let r;
      try {
        if (a.openssl) {
          // ReaR's `dd | openssl des3 -d -k KEY | tar`: openssl between rear's reader and tar
          const f = spawnFilter(decryptArgv(c.str("BACKUP_PROG_DECRYPT_OPTIONS")), input(), { env: { ...ctx.env, [KEY_ENV]: st.key! } });
          r = await execStream(argv, { what: "restoring the backup", input: f.stdout });
          if (r.code !== 0) f.stop();
          const fr = await f.result;
          if (fr.code !== 0 && r.code === 0) throw new WorkflowError(`Decrypting ${a.name} failed (openssl exit ${fr.code}): ${fr.stderr.trim().split("\n").at(-1)}`, `${target} holds what was restored before; check BACKUP_PROG_DECRYPT_OPTIONS and the key`);
        } else if (!dec && a.paths.length === 1) {
          // one plain file: tar reads it itself, as fast as a plain `tar -x` (nothing to decrypt or join);
          // the progress is what tar has read (/proc/PID/io)
          let timer: ReturnType<typeof setInterval> | undefined;
          try {
            r = await exec(tarExtractArgv({ ...extract, archive: a.paths[0]! }), {
              what: "restoring the backup",
              onStart: (pid) => {
                let path = a.paths[0]!;
                try {
                  path = realpathSync(path); // as /proc/PID/fd shows it
                } catch {}
                timer = setInterval(() => {
                  const n = bytesRead(pid, path);
                  if (n > 0) progress.update(n);
                }, 1000);
              },
            });
          } finally {
            clearInterval(timer);
          }
        } else r = await execStream(argv, { what: "restoring the backup", input: input() });
      } catch (e) {
        // checked in verify: only a change since then gets here
        if (e instanceof CryptError) throw new WorkflowError(`Restoring ${a.name} stopped: ${e.message}; ${target} holds the files restored before that point`, "restore from another copy of the backup");
        throw e;
      }
      const secs = progress.elapsed();
      const logDir = join(ctx.paths.varDir, "restore");
      mkdirSync(logDir, { recursive: true });
      const log = join(logDir, `${ctx.workflow.name}.${a.name}.${process.pid}.restore.log`);
      writeFileSync(log, r.stderr, { mode: 0o600 });
      const outcome = tarOutcome(r.code);
      if (outcome === "failed") throw new WorkflowError(`tar failed (exit ${r.code}) restoring ${a.name}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`, `its messages are in ${log}`);
      if (outcome === "changed") ctx.log.warn(`tar reported differences while restoring (exit 1): see ${log}`);
      ctx.log.logPrint(`Restored ${Math.round(a.bytes / 1048576)} MiB in ${secs.toFixed(1)} s [avg ${Math.round(a.bytes / 1024 / Math.max(secs, 0.001))} KiB/sec]; tar's log: ${log}`);
    }
    ctx.exitTasks.remove(st.undo);
    await st.mounted.unmount();
  },
};
