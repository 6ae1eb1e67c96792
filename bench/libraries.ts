// Figures for bench/libraries.sh: our library resolver over the ELF programs of some directories.
//   bun bench/libraries.ts LIST_FILE DIR…   (writes the programs' paths, one a line, to LIST_FILE)
// Prints: the number of ELF programs, the time to resolve them all in one call (parses and lookups
// shared) and one call each, and the cost of reading the ELF facts with pread (readElfFile) next to
// reading whole files (parseElf over readFileSync), which is why the resolver uses pread.

import { readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { isElfFile, parseElf, readElfFile } from "../src/rescue/elf.ts";
import { resolveLibraries } from "../src/rescue/libraries.ts";

function listElfPrograms(dirs: string[]): string[] {
  const out = new Set<string>();
  for (const d of dirs) {
    for (const n of readdirSync(d)) {
      try {
        const real = realpathSync(`${d}/${n}`);
        if (!statSync(real).isFile()) continue;
        if (isElfFile(real)) out.add(real);
      } catch {
        // vanished or unreadable
      }
    }
  }
  return [...out].sort();
}

function timeMs<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

const [listFile, ...dirs] = process.argv.slice(2);
if (!listFile || !dirs.length) throw new Error("usage: bun bench/libraries.ts LIST_FILE DIR…");
const programs = listElfPrograms(dirs);
writeFileSync(listFile, programs.join("\n") + "\n");

const [all, allMs] = timeMs(() => resolveLibraries(programs));
const [, eachMs] = timeMs(() => {
  for (const p of programs) resolveLibraries([p]);
});
const objects = [...new Set(all.files.map((f) => realpathSync(f)))];
const [, preadMs] = timeMs(() => objects.forEach((f) => readElfFile(f)));
let bytes = 0;
const [, wholeMs] = timeMs(() =>
  objects.forEach((f) => {
    const b = readFileSync(f);
    bytes += b.length;
    parseElf(b);
  }),
);

const row = (label: string, v: string) => console.log(`${label.padEnd(58)} ${v}`);
row("ELF programs", String(programs.length));
row("files resolved (programs, interpreter, libraries, links)", `${all.files.length} (${objects.length} real files)`);
row("DT_NEEDED not found", String(all.missing.length));
row("ours: one resolveLibraries call for all", `${allMs.toFixed(0)} ms`);
row("ours: one resolveLibraries call per program", `${eachMs.toFixed(0)} ms`);
row("ELF facts of every object: pread (readElfFile)", `${preadMs.toFixed(0)} ms`);
row("ELF facts of every object: whole file + parseElf", `${wholeMs.toFixed(0)} ms (${(bytes / 1048576).toFixed(0)} MiB read)`);
