import { describe, expect, test } from "bun:test";
import { formatDuration, progressLine, progressReporter } from "../../../src/engine/progress.ts";

const MiB = 1048576;

describe("progress lines", () => {
  test("with a known total: MiB done of total, share, rate and time left", () => {
    expect(progressLine("Restored", 512 * MiB, 4, 2048 * MiB)).toBe("Restored 512 of 2048 MiB (25%), 128.0 MiB/s, about 12 s left");
    expect(progressLine("Restored", 2048 * MiB, 16, 2048 * MiB)).toBe("Restored 2048 of 2048 MiB (100%), 128.0 MiB/s");
  });
  test("without a total: MiB and rate (ReaR's 'Archived N MiB')", () => {
    expect(progressLine("Archived", 100 * MiB, 4)).toBe("Archived 100 MiB, 25.0 MiB/s");
    expect(progressLine("Archived", 0, 0)).toBe("Archived 0 MiB, 0.0 MiB/s");
  });
  test("durations", () => {
    expect(formatDuration(59.4)).toBe("59 s");
    expect(formatDuration(61)).toBe("1 min 01 s");
    expect(formatDuration(7322)).toBe("2 h 02 min");
  });
  test("the reporter shows at most every interval", () => {
    let t = 0;
    const shown: string[] = [];
    const p = progressReporter("Restored", (l) => shown.push(l), { total: 10 * MiB, everyMs: 1000, now: () => t });
    t = 500;
    p.update(1 * MiB);
    t = 1000;
    p.update(2 * MiB);
    t = 1500;
    p.update(3 * MiB);
    t = 2000;
    p.update(4 * MiB);
    expect(shown).toEqual(["Restored 2 of 10 MiB (20%), 2.0 MiB/s, about 4 s left", "Restored 4 of 10 MiB (40%), 2.0 MiB/s, about 3 s left"]);
    expect(p.elapsed()).toBe(2);
  });
});
