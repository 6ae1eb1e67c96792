// ReaR's URLs (lib/global-functions.sh: url_scheme, url_host, url_path, mount_url, umount_url,
// output_path) for OUTPUT_URL, and later BACKUP_URL: parsing and the mount command are pure; mounting
// and unmounting are at the end of the file.

import { mkdirSync, rmdirSync } from "node:fs";
import { CommandError, WorkflowError } from "../engine/errors.ts";
import { exec } from "../sys/exec.ts";
import { urlScheme } from "../rescue/needs.ts";
import { parseRsyncUrl, RsyncUrlError } from "../backup/rsync-plan.ts";

export interface ParsedUrl {
  scheme: string;
  /** user@host:port as written ("" for file/usb) */
  host: string;
  /** always starts with "/" */
  path: string;
}

/** A URL rear cannot use: a user error (exit 2 while a workflow runs), one line. */
export class UrlError extends WorkflowError {
  constructor(message: string) {
    super(message);
    this.name = "UrlError";
  }
}

/** ReaR's url_* helpers, with its three-slash rule for file, usb and tape URLs (prep/default/300_check_backup_and_output_url.sh). */
export function parseUrl(url: string, setting = "OUTPUT_URL"): ParsedUrl {
  const scheme = urlScheme(url);
  if (!scheme) throw new UrlError(`${setting}='${url}' is not a URL: write scheme://host/path (e.g. file:///var/lib/rear/output, nfs://server/export)`);
  if (scheme === "rsync") {
    // every form of BACKUP=RSYNC (rsync://…, rsync://…::/module/…, host:/path, host::module/…), read as
    // ReaR's rsync_* helpers read them (src/backup/rsync-plan.ts); host: user@host:port as written
    let r;
    try {
      r = parseRsyncUrl(url, setting);
    } catch (e) {
      if (e instanceof RsyncUrlError) throw new UrlError(e.message);
      throw e;
    }
    const user = /^(?:rsync:\/\/)?[^/:@[\]]+@/.test(url) ? `${r.user}@` : "";
    const host = `${user}${r.host.includes(":") ? `[${r.host}]` : r.host}${r.port !== undefined ? `:${r.port}` : ""}`;
    return { scheme, host, path: r.path.startsWith("/") ? r.path : `/${r.path}` };
  }
  const rest = url.slice(url.indexOf("://") + 3);
  const slash = rest.indexOf("/");
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "/" : rest.slice(slash);
  if (/^(file|usb|tape)$/.test(scheme) && host !== "") {
    throw new UrlError(`${setting}='${url}': ${scheme} URLs need three slashes (${scheme}:///path), '${host}' would be read as a host name`);
  }
  return { scheme, host, path };
}

/**
 * sftp:// as an sshfs mount: sshfs speaks SFTP, so sftp://user@host:port/path reaches the very files lftp
 * would upload to (ReaR: OUTPUT_URL=sftp:// goes through lftp; PXE_TFTP_URL cannot be sftp:// at all). No
 * lftp needed, and no password on a command line: the ssh key authenticates, as for sshfs://.
 */
export function sftpAsSshfs(u: ParsedUrl): ParsedUrl {
  return u.scheme === "sftp" ? { ...u, scheme: "sshfs" } : u;
}

/** Schemes that can hold files on a mounted file system (ReaR's scheme_supports_filesystem). */
export function supportsFilesystem(scheme: string): boolean {
  return !/^(null|tape|obdr|rsync|fish|ftp|ftps|hftp|http|https|sftp)$/.test(scheme);
}

/**
 * A cifs password out of the mount options (password=, pass=, or username=USER%PASSWORD as mount.cifs
 * reads them; ",," in a password is a literal comma there), for mount.cifs's PASSWD environment variable:
 * on the command line it would be in the -d log, in the error of a failed mount and in `ps`.
 */
export function cifsPassword(options: string): { options: string; password?: string } {
  const kept: string[] = [];
  let password: string | undefined;
  let i = 0;
  while (i <= options.length) {
    let j = options.indexOf(",", i);
    if (j < 0) j = options.length;
    let opt = options.slice(i, j);
    const key = /^(password|pass)=/.exec(opt);
    if (key) {
      // a password runs on over doubled commas
      let value = opt.slice(key[0].length);
      while (options[j] === "," && options[j + 1] === ",") {
        let k = options.indexOf(",", j + 2);
        if (k < 0) k = options.length;
        value += `,${options.slice(j + 2, k)}`;
        j = k;
      }
      password = value;
    } else {
      const user = /^(user|username)=([^%]*)%(.*)$/.exec(opt);
      if (user) {
        password = user[3]!;
        opt = `${user[1]}=${user[2]}`;
      }
      if (opt) kept.push(opt);
    }
    i = j + 1;
  }
  return { options: kept.join(","), ...(password !== undefined ? { password } : {}) };
}

/** The mount command for a URL (ReaR's mount_url), or undefined when nothing is mounted (file). */
export function mountArgv(u: ParsedUrl, mountpoint: string, options: string): string[] | undefined {
  const o = options || "rw,noatime";
  switch (u.scheme) {
    case "file":
      return undefined;
    case "usb":
      return ["mount", "-o", o, u.path, mountpoint];
    case "cifs": {
      // the password goes to mount.cifs through PASSWD (mountUrl), never on the command line
      const c = cifsPassword(options);
      return ["mount", "-t", "cifs", "-o", c.options || (c.password !== undefined ? "rw" : "rw,guest"), `//${u.host}${u.path}`, mountpoint];
    }
    case "sshfs": {
      // sshfs://user@host:port/path: sshfs takes the port as -p, never in user@host:path (ReaR's
      // mount_url passes host:port:path, which sshfs reads as a path); ssh must not ask a question
      // nobody sees (rear's output goes to the log): BatchMode=yes unless BACKUP_OPTIONS says BatchMode
      const m = /^(.+?)(?::(\d+))?$/.exec(u.host);
      const login = m ? m[1]! : u.host;
      const o2 = options || "rw,noatime";
      return ["sshfs", `${login}:${u.path}`, mountpoint, "-o", /(^|,)BatchMode=/i.test(o2) ? o2 : `${o2},BatchMode=yes`, ...(m?.[2] ? ["-p", m[2]] : [])];
    }
    case "nfs":
    case "nfs4":
      return ["mount", "-t", u.scheme, "-o", o, `${u.host}:${u.path}`, mountpoint];
    default:
      if (!supportsFilesystem(u.scheme)) return undefined;
      return ["mount", "-t", u.scheme, "-o", o, `${u.host}:${u.path}`, mountpoint];
  }
}

export interface MountedUrl {
  url: ParsedUrl;
  /** the directory the URL's files live in (file: the path; others: the mount point) */
  dir: string;
  unmount(): Promise<void>;
}

/**
 * Makes a URL's files reachable at a directory: file:// as it is, the others mounted at `mountpoint`
 * (unmounted again by the returned function, lazily when busy, as ReaR's umount_url).
 */
export async function mountUrl(u: ParsedUrl, mountpoint: string, options = ""): Promise<MountedUrl> {
  if (!supportsFilesystem(u.scheme)) throw new UrlError(`${u.scheme}:// cannot be used here: it has no file system to write to (ReaR's scheme_supports_filesystem)`);
  // user:password@ would go on the mount program's command line, which every local user can read
  if (/^[^@/]*:[^@/]*@/.test(u.host)) {
    throw new UrlError(
      `${u.scheme}://${u.host.replace(/:[^@]*@/, ":<hidden>@")}${u.path}: a password in the URL would be on ${u.scheme === "sshfs" ? "sshfs'" : "mount's"} command line; ${u.scheme === "sshfs" ? "use an ssh key (ssh-agent, or COPY_AS_IS of root's key) instead" : u.scheme === "cifs" ? "give it as password=… in BACKUP_OPTIONS/OUTPUT_OPTIONS (it goes by environment)" : "remove it from the URL"}`,
    );
  }
  const argv = mountArgv(u, mountpoint, options);
  if (!argv) return { url: u, dir: u.path, unmount: async () => {} };
  mkdirSync(mountpoint, { recursive: true });
  const password = u.scheme === "cifs" ? cifsPassword(options).password : undefined;
  const r = await exec(argv, { what: `mounting ${u.scheme}://${u.host}${u.path}`, ...(password !== undefined ? { env: { ...process.env, PASSWD: password } } : {}) });
  if (r.code !== 0) {
    try {
      rmdirSync(mountpoint);
    } catch {}
    throw new CommandError(argv, r.code, r.stderr, `cannot mount ${u.scheme}://${u.host}${u.path} at ${mountpoint}`);
  }
  return {
    url: u,
    dir: mountpoint,
    unmount: async () => {
      const um = u.scheme === "sshfs" ? ["fusermount", "-u", mountpoint] : ["umount", mountpoint];
      const r2 = await exec(um);
      if (r2.code !== 0) await exec(["umount", "-l", mountpoint]);
      try {
        rmdirSync(mountpoint);
      } catch {}
    },
  };
}
