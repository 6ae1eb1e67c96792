// ReaR's URLs (lib/global-functions.sh: url_scheme, url_host, url_path, mount_url, umount_url,
// output_path) for OUTPUT_URL, and later BACKUP_URL: parsing and the mount command are pure; mounting
// and unmounting are at the end of the file.

import { mkdirSync, rmdirSync } from "node:fs";
import { CommandError } from "../engine/errors.ts";
import { exec } from "../sys/exec.ts";
import { urlScheme } from "../rescue/needs.ts";

export interface ParsedUrl {
  scheme: string;
  /** user@host:port as written ("" for file/usb) */
  host: string;
  /** always starts with "/" */
  path: string;
}

export class UrlError extends Error {}

/** ReaR's url_* helpers, with its three-slash rule for file, usb and tape URLs (prep/default/300_check_backup_and_output_url.sh). */
export function parseUrl(url: string, setting = "OUTPUT_URL"): ParsedUrl {
  const scheme = urlScheme(url);
  if (!scheme) throw new UrlError(`${setting}='${url}' is not a URL: write scheme://host/path (e.g. file:///var/lib/rear/output, nfs://server/export)`);
  if (scheme === "rsync" && !url.includes("://")) {
    const i = url.indexOf(":");
    return { scheme, host: url.slice(0, i), path: url.slice(i + 1).startsWith("/") ? url.slice(i + 1) : `/${url.slice(i + 1)}` };
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

/** Schemes that can hold files on a mounted file system (ReaR's scheme_supports_filesystem). */
export function supportsFilesystem(scheme: string): boolean {
  return !/^(null|tape|obdr|rsync|fish|ftp|ftps|hftp|http|https|sftp)$/.test(scheme);
}

/** The mount command for a URL (ReaR's mount_url), or undefined when nothing is mounted (file). */
export function mountArgv(u: ParsedUrl, mountpoint: string, options: string): string[] | undefined {
  const o = options || "rw,noatime";
  switch (u.scheme) {
    case "file":
      return undefined;
    case "usb":
      return ["mount", "-o", o, u.path, mountpoint];
    case "cifs":
      return ["mount", "-t", "cifs", "-o", options || "rw,guest", `//${u.host}${u.path}`, mountpoint];
    case "sshfs":
      return ["sshfs", `${u.host}:${u.path}`, mountpoint, "-o", options || "rw,noatime"];
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
  const argv = mountArgv(u, mountpoint, options);
  if (!argv) return { url: u, dir: u.path, unmount: async () => {} };
  mkdirSync(mountpoint, { recursive: true });
  const r = await exec(argv, { what: `mounting ${u.scheme}://${u.host}${u.path}` });
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
