// A tree with every kind of file a backup must keep, and a manifest of a tree to compare a restored one
// with its source: per path the type, mode, owner, size, content, link target, device number, extended
// attributes (user.* and the ACLs' system.posix_acl_*), ACLs as getfacl prints them, hard-link groups,
// sparseness and the modification time of regular files.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "./sys.ts";

/** Fills `src` (created) with a regular file, a hard link, a symlink, a setuid file of a foreign owner, xattrs, ACLs (access and default), a sparse file, a fifo and a char device. */
export function makeTree(src: string): void {
  mkdirSync(join(src, "dir", "sub"), { recursive: true });
  writeFileSync(join(src, "text"), "hello\n");
  writeFileSync(join(src, "dir", "sub", "deep"), "deep\n");
  must(["ln", join(src, "text"), join(src, "hardlink")]);
  must(["ln", "-s", "text", join(src, "symlink")]);
  must(["ln", "-s", "/nowhere/at/all", join(src, "dangling")]);
  writeFileSync(join(src, "owned"), "x");
  must(["chown", "1234:5678", join(src, "owned")]);
  must(["chmod", "4755", join(src, "owned")]);
  must(["chown", "-h", "4321:8765", join(src, "symlink")]);
  must(["setfattr", "-n", "user.harness", "-v", "kept", join(src, "text")]);
  must(["setfacl", "-m", "u:1234:rw,g:5678:r", join(src, "text")]);
  must(["setfacl", "-d", "-m", "u:1234:rwx", join(src, "dir")]);
  must(["truncate", "-s", "64M", join(src, "sparse")]);
  must(["mkfifo", join(src, "fifo")]);
  must(["mknod", join(src, "null"), "c", "1", "3"]);
  // fixed times: a restore that loses them shows in the manifest
  must(["touch", "-h", "-d", "2021-02-03 04:05:06", join(src, "text"), join(src, "owned"), join(src, "dir", "sub", "deep")]);
}

/** Everything that must survive a backup and restore, per path below `root`. */
export function manifest(root: string): string[] {
  // a directory's size and a file's block count depend on the filesystem, not on the backup: sparseness
  // is compared as "has no blocks at all" (the sparse file is a 64 MiB hole)
  const out = must(["sh", "-c", `cd ${root} && find . -printf '%p %y %m %U:%G %s %l %b %T@\\n' | sort`])
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .map(([p, y, m, o, sz, lt, b, t]) => [p, y, m, o, y === "d" ? "-" : sz, lt, b === "0" ? "no-blocks" : "blocks", y === "f" ? t!.split(".")[0] : "-"].join(" "));
  const sums = must(["sh", "-c", `cd ${root} && find . -type f -exec sha256sum {} + | sort -k2`]).trim();
  // per path in sorted order (getfattr -R and getfacl -R go in directory order, which differs between copies)
  const xattrs = must(["sh", "-c", `cd ${root} && find . | sort | while read -r p; do getfattr -h -d -m - -- "$p" 2>/dev/null; done`]).trim();
  const acls = must(["sh", "-c", `cd ${root} && find . ! -type l | sort | while read -r p; do getfacl -n -- "$p" 2>/dev/null; done`]).trim();
  const links = must(["sh", "-c", `cd ${root} && find . -type f -links +1 -printf '%i %p\\n' | sort | awk '{print $2}' | tr '\\n' ' '`]).trim();
  const devs = must(["sh", "-c", `cd ${root} && find . -type c -exec stat -c '%n %t:%T' {} + | sort`]).trim();
  return [...out, sums, xattrs, acls, `links ${links}`, devs];
}
