import { describe, expect, test } from "bun:test";
import { inCreationOrder, mountpointsToKeep, parseDirectories, renderDirectories, type DirEntry } from "../../../src/backup/directories.ts";

describe("saved mountpoint and FHS directories", () => {
  test("mountpoints: the pseudo filesystems' own trees, the work area and / are left out", () => {
    const mps = ["/", "/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/pts", "/run", "/run/user/0", "/home", "/data", "/var/tmp/rear.abc/outputfs", "/home", "relative"];
    expect(mountpointsToKeep(mps, ["/var/tmp/rear.abc"])).toEqual(["/data", "/dev", "/home", "/proc", "/run", "/sys"]);
  });
  test("ReaR's format round-trips: dir mode owner group, link -> target", () => {
    const e: DirEntry[] = [
      { path: "/tmp", kind: "dir", mode: 0o1777, uid: "0", gid: "0" },
      { path: "/bin", kind: "link", target: "usr/bin" },
      { path: "/srv/www", kind: "dir", mode: 0o750, uid: "www-data", gid: "33" },
    ];
    const text = renderDirectories(e);
    expect(text).toBe("/tmp 1777 0 0\n/bin -> usr/bin\n/srv/www 750 www-data 33\n");
    expect(parseDirectories(`# comment\n${text}\n`, "f")).toEqual(e);
  });
  test("a bad line names the file and the line", () => {
    expect(() => parseDirectories("/ok 755 0 0\n/bad mode\n", "/var/lib/rear/recovery/directories_permissions_owner_group")).toThrow(
      "/var/lib/rear/recovery/directories_permissions_owner_group line 2: '/bad mode' is neither 'dir mode owner group' nor 'link -> target'",
    );
  });
  test("parents come before their children", () => {
    const order = inCreationOrder(parseDirectories("/a/b/c 755 0 0\n/a 755 0 0\n/z 755 0 0\n/a/b 755 0 0\n", "f")).map((e) => e.path);
    expect(order).toEqual(["/a", "/z", "/a/b", "/a/b/c"]);
  });
});
