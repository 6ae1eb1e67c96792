// The recover record (src/recover/state.ts): what a recover run again continues after.
import { describe, expect, test } from "bun:test";
import { mismatch, newState, parseState, resumePoint, STATE_FORMAT, withFinalizeDone, type RecoverState } from "../../../src/recover/state.ts";

const t0 = new Date("2026-12-06T10:00:00Z");

describe("recover record", () => {
  test("a new record has done nothing; it round-trips through JSON", () => {
    const s = newState("abc", { "/dev/sda": "/dev/vda" }, t0);
    expect(s).toEqual({ format: STATE_FORMAT, layoutSha256: "abc", mapping: { "/dev/sda": "/dev/vda" }, startedAt: "2026-12-06T10:00:00.000Z", finalizeDone: [] });
    expect(resumePoint(s)).toBeUndefined();
    expect(parseState(JSON.stringify(s))).toEqual(s);
  });
  test("damaged or foreign records are not continued", () => {
    const s = newState("abc", {}, t0);
    for (const bad of ["", "{", "null", "[]", JSON.stringify({ ...s, format: "rear-recover-state/0" }), JSON.stringify({ ...s, mapping: { a: 1 } }),
      JSON.stringify({ ...s, finalizeDone: "grub" }), JSON.stringify({ ...s, restoreDoneAt: 5 }), JSON.stringify({ ...s, layoutSha256: undefined })]) {
      expect(parseState(bad)).toBeUndefined();
    }
  });
  test("another layout or another mapping starts over", () => {
    const s = newState("abc", { "/dev/sda": "/dev/vda" }, t0);
    expect(mismatch(s, "abc", { "/dev/sda": "/dev/vda" })).toBeUndefined();
    expect(mismatch(s, "abd", { "/dev/sda": "/dev/vda" })).toContain("another disklayout.conf");
    expect(mismatch(s, "abc", { "/dev/sda": "/dev/vdb" })).toContain("mapped the disks differently");
    expect(mismatch(s, "abc", {})).toContain("mapped the disks differently");
    expect(mismatch(s, "abc", { "/dev/sda": "/dev/vda", "/dev/sdb": "/dev/vdb" })).toContain("mapped the disks differently");
  });
  test("resuming after the last thing that finished", () => {
    let s: RecoverState = { ...newState("abc", {}, t0), layoutDoneAt: "L" };
    expect(resumePoint(s)).toBe("the disk layout (made L)");
    s = { ...s, restoreStartedAt: "R" };
    expect(resumePoint(s)).toBe("the disk layout (made L); the restore that began R is done again");
    s = { ...s, restoreDoneAt: "D" };
    expect(resumePoint(s)).toBe("the restore (finished D)");
    s = withFinalizeDone(s, "rewrite-devices");
    s = withFinalizeDone(s, "grub-install_dev_vda");
    expect(withFinalizeDone(s, "rewrite-devices")).toBe(s);
    expect(s.finalizeDone).toEqual(["rewrite-devices", "grub-install_dev_vda"]);
    expect(resumePoint(s)).toBe("the finalize step 'grub-install_dev_vda' (restore finished D)");
  });
});
