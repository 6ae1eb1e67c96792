import { describe, expect, test } from "bun:test";
import { findPrefix, resolvePaths } from "../../../src/config/paths.ts";

const dirs = (...ds: string[]) => (p: string) => ds.includes(p);

describe("where rear finds its configuration", () => {
  test("a system install", () => {
    expect(resolvePaths({ execPath: "/usr/sbin/rear", env: {}, isDir: dirs("/etc/rear") })).toEqual({
      prefix: "", configDir: "/etc/rear", varDir: "/var/lib/rear", logDir: "/var/log/rear",
    });
  });
  test("a vendor bundle: /opt/MXB/rear/rear with /opt/MXB/rear/etc/rear", () => {
    expect(resolvePaths({ execPath: "/opt/MXB/rear/rear", env: {}, isDir: dirs("/opt/MXB/rear/etc/rear") })).toEqual({
      prefix: "/opt/MXB/rear", configDir: "/opt/MXB/rear/etc/rear", varDir: "/opt/MXB/rear/var/lib/rear", logDir: "/opt/MXB/rear/var/log/rear",
    });
  });
  test("a prefix with usr/sbin/rear (ReaR's layout, PORTABLE archives)", () => {
    expect(findPrefix("/opt/MXB/rear/usr/sbin/rear", dirs("/opt/MXB/rear/etc/rear"))).toBe("/opt/MXB/rear");
    expect(findPrefix("/media/stick/rear/sbin/rear", dirs("/media/stick/rear/etc/rear"))).toBe("/media/stick/rear");
  });
  test("a lone binary anywhere uses the system paths", () => {
    expect(findPrefix("/root/rear", dirs("/etc/rear"))).toBe("");
    expect(findPrefix("/tmp/x/rear", dirs())).toBe("");
  });
  test("REAR_VAR moves var/, -c moves the config dir", () => {
    expect(resolvePaths({ execPath: "/opt/MXB/rear/rear", env: { REAR_VAR: "/srv/rv" }, isDir: dirs("/opt/MXB/rear/etc/rear"), configDir: "/x" })).toEqual({
      prefix: "/opt/MXB/rear", configDir: "/x", varDir: "/srv/rv/lib/rear", logDir: "/srv/rv/log/rear",
    });
  });
});
