// The hot-plug steps of the udev scenario (test/vm/lib/udev-plug.ts).
import { describe, expect, test } from "bun:test";
import { PLUG, plugSteps } from "../../vm/lib/udev-plug.ts";

describe("plugSteps", () => {
  test("plug, unplug, and plug again with the drive added anew (device_del deleted it)", () => {
    const s = plugSteps({ file: "/runs/x/backup.img" });
    expect(s.map((x) => x.waitFor)).toEqual([PLUG.first, PLUG.unplug, PLUG.again]);
    expect(s[1]!.command).toBe("device_del stick");
    const again = s[2]!.command.split("\n");
    expect(again[0]).toBe("drive_add 0 if=none,id=hot0,file=/runs/x/backup.img,format=raw");
    expect(again[1]).toBe(s[0]!.command);
  });
});
