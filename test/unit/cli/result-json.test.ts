// `mkrescue --json` / `mkbackup --json`: the object a backup agent reads instead of rear's messages.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resultJson } from "../../../src/cli/result-json.ts";
import { WORKFLOW_ARGS } from "../../../src/cli/workflow-args.ts";

const dir = mkdtempSync(join(tmpdir(), "rear-result-json."));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the result as JSON", () => {
  test("each file with its size and sha256; a file that is gone is no result; the exit code named", async () => {
    const iso = join(dir, "cove-rear.iso");
    writeFileSync(iso, "an iso\n");
    const j = await resultJson("mkrescue", 0, { host: "web1", files: [iso, join(dir, "removed")], copiedTo: "nfs://srv/rear/web1", log: "/var/log/rear/rear-web1.log" });
    expect(j).toEqual({
      workflow: "mkrescue", version: j.version, exitCode: 0, ok: true, outcome: "ok", host: "web1",
      files: [{ path: iso, bytes: 7, sha256: new Bun.CryptoHasher("sha256").update("an iso\n").digest("hex") }],
      copiedTo: "nfs://srv/rear/web1", log: "/var/log/rear/rear-web1.log",
    });
  });

  test("a failure: not ok, the outcome word, the error with its hint", async () => {
    const j = await resultJson("mkbackup", 2, { files: [], error: { message: "The Backup Manager is either not installed or corrupted", hint: "install it" } });
    expect(j).toMatchObject({ ok: false, exitCode: 2, outcome: "failed", files: [], error: { message: "The Backup Manager is either not installed or corrupted", hint: "install it" } });
    expect((await resultJson("mkrescue", 3, { files: [] })).outcome).toBe("not-implemented");
    expect((await resultJson("mkrescue", 1, { files: [] })).outcome).toBe("usage");
  });

  test("mkrescue and mkbackup take --json (rear help shows it)", () => {
    expect(Object.keys(WORKFLOW_ARGS.mkrescue!.flags!)).toEqual(["--json"]);
    expect(Object.keys(WORKFLOW_ARGS.mkbackup!.flags!)).toEqual(["--json"]);
  });
});
