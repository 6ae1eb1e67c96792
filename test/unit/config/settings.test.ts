import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseShell } from "../../../src/config/shell-parse.ts";
import { arrayNotices, didYouMean, isFalse, isTrue, SETTINGS, validateSettings } from "../../../src/config/settings.ts";

const DEFAULT_CONF = readFileSync(join(import.meta.dir, "../../../conf/default.conf"), "utf8");

describe("settings table and default.conf", () => {
  test("name the same variables", () => {
    const assigned = new Set(parseShell(DEFAULT_CONF).filter((s) => s.t === "assign").map((s) => s.name));
    expect([...assigned].filter((n) => !SETTINGS.has(n)).sort()).toEqual([]);
    expect([...SETTINGS.keys()].filter((n) => !assigned.has(n)).sort()).toEqual([]);
  });
  test("default.conf gives every array setting an array and documents every setting", () => {
    const lines = DEFAULT_CONF.split("\n");
    for (const s of parseShell(DEFAULT_CONF)) {
      if (s.t !== "assign") continue;
      expect({ name: s.name, array: !!s.array }).toEqual({ name: s.name, array: SETTINGS.get(s.name)!.type === "array" });
      // a comment somewhere in the block above the assignment
      let i = s.line - 2;
      while (i >= 0 && lines[i]!.trim() !== "" && !lines[i]!.trim().startsWith("#")) i--;
      expect({ name: s.name, documented: i >= 0 && lines[i]!.trim().startsWith("#") }).toEqual({ name: s.name, documented: true });
    }
  });
  test("default.conf is read by rear's own reader (no bash needed)", () => {
    expect(() => parseShell(DEFAULT_CONF)).not.toThrow();
  });
});

describe("values", () => {
  test("ReaR's booleans", () => {
    for (const v of ["y", "Y", "yes", "YES", "true", "True", "t", "1"]) expect(isTrue(v)).toBe(true);
    for (const v of ["n", "no", "No", "false", "f", "0"]) expect(isFalse(v)).toBe(true);
    for (const v of ["", "maybe", "2"]) expect(isTrue(v) || isFalse(v)).toBe(false);
  });
  test("did you mean", () => {
    expect(didYouMean("NETFSS", ["NETFS", "RSYNC"])).toBe("NETFS");
    expect(didYouMean("iso", ["ISO", "USB"])).toBe("ISO");
    expect(didYouMean("TOTALLYDIFFERENT", ["ISO", "USB"])).toBeUndefined();
  });
  test("unknown variables are allowed; known ones are typed", () => {
    expect(validateSettings(new Map<string, string | string[]>([["MY_OWN", ["a", "b"]], ["OUTPUT", "ISO"]]))).toEqual([]);
    expect(validateSettings(new Map([["OUTPUT", ["ISO"]]]))).toEqual([]); // bash's $OUTPUT reads element 0
    // an array for a single-value setting: its first element, as bash's $OUTPUT; more than one is a notice
    expect(validateSettings(new Map([["OUTPUT", ["ISO", "USB"]]]))).toEqual([]);
    expect(validateSettings(new Map([["OUTPUT", ["IOS", "USB"]]]))[0]?.message).toContain("OUTPUT='IOS' is not known");
    expect(validateSettings(new Map([["SECURE_BOOT_BOOTLOADER", []]]))).toEqual([]); // a glob that matched nothing (nullglob)
    expect(arrayNotices(new Map([["OUTPUT", ["ISO", "USB"]]]))[0]?.message).toContain("rear uses the first, 'ISO'");
    expect(arrayNotices(new Map([["OUTPUT", ["ISO"]], ["PRE_RECOVERY_SCRIPT", ["echo Hello", ";", "sleep 3"]], ["PROGS", ["a", "b"]]]))).toEqual([]);
    expect(validateSettings(new Map([["PROGS", "x"]]))[0]?.message).toContain("PROGS is an array");
  });
});
