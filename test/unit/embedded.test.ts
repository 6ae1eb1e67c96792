// The embedded index must match skel/ and conf/ (run `bun run gen` after changing them), and the
// tarball must keep modes, symlinks and empty directories.

import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assetsDigest } from "../../embedded/index.ts";
import { collectAssets, digestAssets, packAssets } from "../../scripts/gen-embedded.ts";
import { assets, embeddedConfs } from "../../src/assets.ts";

const ROOT = join(import.meta.dir, "../..");

describe("embedded assets", () => {
  test("embedded/index.ts is not stale (run `bun run gen` and commit embedded/)", () => {
    expect(assetsDigest).toBe(digestAssets(collectAssets(ROOT)));
  });
  test("the committed tarball holds exactly the tree", () => {
    const inTar = assets().map((a) => ({ path: a.path, type: a.type, mode: a.mode, ...(a.linkpath ? { linkpath: a.linkpath } : {}), ...(a.data ? { data: a.data } : {}) }));
    expect(digestAssets(inTar as never)).toBe(assetsDigest);
  });
  test("conf files are readable as text", () => {
    expect(embeddedConfs().get("default.conf")).toBe(readFileSync(join(ROOT, "conf/default.conf"), "utf8"));
  });
  test("modes, symlinks and empty directories survive packing", () => {
    const base = mkdtempSync(join(tmpdir(), "rear-test-assets."));
    mkdirSync(join(base, "skel/tmp"), { recursive: true });
    mkdirSync(join(base, "skel/empty"));
    mkdirSync(join(base, "conf"));
    writeFileSync(join(base, "skel/run.sh"), "#!/bin/sh\n");
    chmodSync(join(base, "skel/run.sh"), 0o755);
    writeFileSync(join(base, "conf/x.conf"), "A=1\n");
    symlinkSync("run.sh", join(base, "skel/link"));
    const entries = collectAssets(base, ["conf", "skel"], { "skel/tmp": 0o1777 });
    const tgz = join(base, "a.tar.gz");
    writeFileSync(tgz, packAssets(base, entries));
    const back = assets(tgz);
    const byPath = Object.fromEntries(back.map((a) => [a.path, a]));
    expect(byPath["skel/run.sh"]).toMatchObject({ type: "file", mode: 0o755 });
    expect(byPath["skel/tmp"]).toMatchObject({ type: "dir", mode: 0o1777 });
    expect(byPath["skel/empty"]).toMatchObject({ type: "dir", mode: 0o755 });
    expect(byPath["skel/link"]).toMatchObject({ type: "symlink", linkpath: "run.sh" });
    expect(byPath["conf/x.conf"]!.data!.toString()).toBe("A=1\n");
    rmSync(base, { recursive: true });
  });
});
