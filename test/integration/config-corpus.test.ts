// The two ways of reading configuration must agree: for every file of the corpus (Debian's rear
// examples, the configs quoted in shared/seeds, and tricky cases), rear's own reader and a real bash
// give the same variables. Files the reader cannot handle must be recognised and handed to bash.

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { realConfigIo } from "../../src/config/io.ts";
import { loader, tempConfigDir } from "../helpers/config.ts";

const DEBIAN_EXAMPLES = "/usr/share/doc/rear/examples";
const FIXTURES = join(import.meta.dir, "../fixtures/configs");

function corpus(): { name: string; text: string }[] {
  const files: { name: string; text: string }[] = [];
  if (!existsSync(DEBIAN_EXAMPLES)) {
    // CI installs Debian's rear package (.ci/run); elsewhere say loudly what is left out.
    if (process.env.CI) throw new Error(`${DEBIAN_EXAMPLES} is missing: install Debian's rear package (apt-get install rear)`);
    console.warn(`NOTE: ${DEBIAN_EXAMPLES} is missing, so Debian's example configs are not in the corpus: apt-get install rear`);
    return files;
  }
  for (const f of readdirSync(DEBIAN_EXAMPLES).sort()) {
    if (f.endsWith(".conf")) files.push({ name: `debian/${f}`, text: readFileSync(join(DEBIAN_EXAMPLES, f), "utf8") });
  }
  for (const f of readdirSync(FIXTURES).sort()) files.push({ name: `fixtures/${f}`, text: readFileSync(join(FIXTURES, f), "utf8") });
  return files;
}

type Outcome = { ok: true; vars: Record<string, unknown>; by: string; reason?: string } | { ok: false; error: string };

/** Evaluates `text` as local.conf in both modes, in the same config dir. */
function evaluateBoth(text: string): { auto: Outcome; bash: Outcome } {
  const t = tempConfigDir();
  try {
    t.write("local.conf", text);
    return { auto: evaluate(t.dir, "auto"), bash: evaluate(t.dir, "bash") };
  } finally {
    t.cleanup();
  }
}

function evaluate(dir: string, mode: "auto" | "bash"): Outcome {
  try {
    const r = loader(realConfigIo, dir, { mode }).load();
    const vars: Record<string, unknown> = {};
    for (const [k, v] of r.vars) vars[k] = v.value;
    for (const [k, v] of r.assoc) vars[k] = v;
    return { ok: true, vars, by: r.evaluatedBy, ...(r.bashReason ? { reason: r.bashReason } : {}) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

// Files that are plain assignments: the TypeScript reader must handle them itself.
const DECLARATIVE = new Set([
  "fixtures/netfs-typical.conf",
  "fixtures/seeds-cove-site.conf",
  "fixtures/tricky-expansions.conf",
]);
const NEEDS_BASH = new Set([
  "fixtures/tricky-needs-bash.conf",
  "fixtures/seeds-custom-rescue-type-p.conf",
  "fixtures/seeds-stackconf-arrays.conf",
]);

describe("config corpus: TypeScript reader == bash", () => {
  const files = corpus();
  test("the corpus has Debian's examples and our fixtures", () => {
    if (existsSync(DEBIAN_EXAMPLES)) expect(files.filter((f) => f.name.startsWith("debian/")).length).toBeGreaterThanOrEqual(10);
    expect(files.filter((f) => f.name.startsWith("fixtures/")).length).toBeGreaterThanOrEqual(6);
  });
  for (const f of files) {
    test(f.name, () => {
      const { auto, bash } = evaluateBoth(f.text);
      expect(auto).toMatchObject(bash.ok ? { ok: true, vars: bash.vars } : { ok: false, error: bash.error });
      if (DECLARATIVE.has(f.name)) expect(auto).toMatchObject({ ok: true, by: "ts" });
      if (NEEDS_BASH.has(f.name)) expect(auto).toMatchObject({ ok: true, by: "bash" });
    });
  }
  test("the tricky expansions come out as bash has them", () => {
    const r = evaluateBoth(readFileSync(join(FIXTURES, "tricky-expansions.conf"), "utf8")).auto;
    if (!r.ok) throw new Error(r.error);
    expect(r.vars.A).toEqual(["a", "b", "  a  b  ", "x", "", ""]);
    expect(r.vars.C).toBe("a b   a  b   x  ");
    expect(r.vars.O).toEqual(["z", "y"]);
    expect(r.vars.Q).toEqual(["scalar", "more"]);
    expect(r.vars.T).toBe('a"b\\c$d`e\\f');
    expect(r.vars.N).toBeUndefined();
    expect(r.vars.Z).toBe(" selinux=0");
  });
});
