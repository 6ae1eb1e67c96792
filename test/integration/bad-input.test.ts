// Every case of the bad-input corpus against the compiled binary: the expected exit code, the expected
// message on one line, no stack trace, no hang, and the case's own check (nothing written, the previous
// backup intact …). See test/fixtures/bad-input/README.md.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FAMILIES, loadCases, runCase } from "../helpers/bad-input.ts";

const BIN = join(import.meta.dir, "../../dist/rear");

describe("bad input gets a clear error", () => {
  test("the corpus holds at least 120 cases, in all four families", () => {
    const cases = loadCases();
    expect(cases.length).toBeGreaterThanOrEqual(120);
    for (const f of FAMILIES) expect(cases.filter((c) => c.family === f).length).toBeGreaterThanOrEqual(20);
  });
  for (const c of loadCases()) {
    test(`${c.family}/${c.name}: ${c.why}`, async () => {
      if (!existsSync(BIN)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
      const r = await runCase(c, BIN);
      if (!r.clear) console.error(`${c.family}/${c.name}: ${r.problem}\n${r.output.trim().split("\n").slice(-6).join("\n")}`);
      expect(r.problem).toBeUndefined();
    }, ((c.timeout ?? 30) + 30) * 1000);
  }
});
