// The outputs bench (test/vm/lib/outputs.ts): both tools get the same configuration, the table says what failed.
import { describe, expect, test } from "bun:test";
import { outputConf, outputsJob, renderOutputs, runsOf, type OutputsResult } from "../../vm/lib/outputs.ts";

describe("outputs bench", () => {
  test("the same local.conf for both tools (only the PXE directory differs); ReaR 2.7 has no PORTABLE", () => {
    for (const o of runsOf("rear27")) expect(outputConf(o, "rear27").replaceAll("rear27", "T")).toBe(outputConf(o, "ours").replaceAll("ours", "T"));
    expect(runsOf("rear27")).not.toContain("PORTABLE");
    expect(runsOf("ours")).toContain("PORTABLE");
    expect(outputConf("USB", "ours")).toContain("BACKUP_URL=usb:///dev/disk/by-label/REAR-000\n");
    expect(outputConf("ISO", "ours")).toContain("FIRMWARE_FILES=( no )\nMODULES=( loaded_modules )\n");
  });
  test("the job runs every pair and ships every configuration", () => {
    const j = outputsJob();
    expect(j.script).toContain("set -- ours ISO ours USB ours PXE ours RAWDISK ours PORTABLE rear27 ISO rear27 USB rear27 PXE rear27 RAWDISK\n");
    expect(Object.keys(j.files ?? {})).toContain("rear27-RAWDISK.conf");
  });
  test("the table: time and MiB, or the exit code of a failed run and its last lines", () => {
    const r: OutputsResult = {
      accel: "tcg", startedAt: "2026-12-07T00:00:00Z", versions: { ours: "3", rear27: "2.7" }, workDir: "/x",
      runs: { ours: { ISO: { exitCode: 0, ms: 41000, bytes: 104857600 } }, rear27: { ISO: { exitCode: 1, ms: 9000, note: "ERROR: no" } } },
    };
    const t = renderOutputs(r);
    expect(t).toContain("ISO\t41.0 s, 100.0 MiB\texit 1");
    expect(t).toContain("USB\t(none)\t(none)");
    expect(t).toContain("rear27 ISO: ERROR: no");
  });
});
