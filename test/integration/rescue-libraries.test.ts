// Our library resolver against the real thing: for every ELF file in /usr/bin and /usr/sbin that ldd
// accepts, the set of files we resolve must be the set ldd lists (compared by real path; the vDSO has no
// file). ldd runs each program through ld.so explicitly, which takes $ORIGIN from the path it is given
// instead of the program's real path (/usr/bin/java → "libjli.so => not found"), so ldd is given the
// real path, as the kernel gives ld.so when the program is executed.

import { describe, expect, test } from "bun:test";
import { readdirSync, realpathSync, statSync } from "node:fs";
import { isElfFile } from "../../src/rescue/elf.ts";
import { resolveLibraries } from "../../src/rescue/libraries.ts";

/** The ELF files of some directories, by real path, once each (programs under several names are one). */
function elfFilesIn(dirs: string[]): string[] {
  const out = new Set<string>();
  for (const d of dirs) {
    for (const n of readdirSync(d)) {
      try {
        const real = realpathSync(`${d}/${n}`);
        if (!statSync(real).isFile()) continue;
        if (isElfFile(real)) out.add(real);
      } catch {
        // unreadable or vanished: not ours to judge
      }
    }
  }
  return [...out].sort();
}

/**
 * `ldd` output → the real paths of what it resolved, plus "not found" names. Sample:
 *   linux-vdso.so.1 (0x00007ffc…)
 *   libtinfo.so.6 => /lib/x86_64-linux-gnu/libtinfo.so.6 (0x00007f…)
 *   libjli.so => not found
 *   /lib64/ld-linux-x86-64.so.2 (0x00007f…)
 */
function parseLdd(text: string): { paths: Set<string>; notFound: string[] } {
  const paths = new Set<string>();
  const notFound: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\S+)(?: => (.*?))?(?: \(0x[0-9a-f]+\))?\s*$/.exec(line);
    if (!m) continue;
    const [, name, target] = m;
    if (target === "not found") notFound.push(name as string);
    else if (target) paths.add(realpathSync(target));
    else if (name?.startsWith("/")) paths.add(realpathSync(name));
  }
  return { paths, notFound };
}

async function ldd(file: string): Promise<string | undefined> {
  const p = Bun.spawn(["ldd", file], { stdout: "pipe", stderr: "ignore", env: { ...process.env, LC_ALL: "C" } });
  const out = await new Response(p.stdout).text();
  return (await p.exited) === 0 ? out : undefined;
}

describe("resolveLibraries against ldd", () => {
  test(
    "every ELF program in /usr/bin and /usr/sbin resolves to ldd's set of files",
    async () => {
      const files = elfFilesIn(["/usr/bin", "/usr/sbin"]);
      expect(files.length).toBeGreaterThan(50);
      const outputs = new Map<string, string>();
      const width = 8;
      for (let i = 0; i < files.length; i += width) {
        const batch = files.slice(i, i + width);
        const res = await Promise.all(batch.map(ldd));
        batch.forEach((f, j) => res[j] !== undefined && outputs.set(f, res[j] as string));
      }
      const mismatches: string[] = [];
      let compared = 0;
      for (const [f, out] of outputs) {
        const theirs = parseLdd(out);
        if (!theirs.paths.size && !theirs.notFound.length) continue; // "statically linked"
        compared++;
        const r = resolveLibraries([f]);
        const ours = new Set<string>();
        for (const p of r.files) if (p !== f) ours.add(realpathSync(p));
        ours.delete(realpathSync(f));
        const extra = [...ours].filter((p) => !theirs.paths.has(p));
        const lacking = [...theirs.paths].filter((p) => !ours.has(p));
        const ourMissing = r.missing.map((m) => m.needed).sort();
        const theirMissing = [...new Set(theirs.notFound)].sort();
        if (extra.length || lacking.length || JSON.stringify(ourMissing) !== JSON.stringify(theirMissing)) {
          mismatches.push(`${f}: ours only ${JSON.stringify(extra)}, ldd only ${JSON.stringify(lacking)}, missing ours ${JSON.stringify(ourMissing)} vs ldd ${JSON.stringify(theirMissing)}`);
        }
      }
      console.log(`rescue-libraries: ${files.length} ELF files, ${compared} dynamically linked compared with ldd, ${mismatches.length} mismatches`);
      expect(compared).toBeGreaterThan(50);
      expect(mismatches).toEqual([]);
    },
    600_000,
  );
});
