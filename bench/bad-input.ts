// bench/bad-input.sh: the corpus run against dist/rear, counted per family.
import { join, resolve } from "node:path";
import { FAMILIES, loadCases, runCase } from "../test/helpers/bad-input.ts";

const bin = resolve(process.argv[2] ?? join(import.meta.dir, "../dist/rear"));
const cases = loadCases(process.argv[3] ? [process.argv[3]] : FAMILIES);
const rows: { family: string; total: number; clear: number; hung: number; seconds: number }[] = [];
const bad: string[] = [];
for (const f of FAMILIES) {
  const fc = cases.filter((c) => c.family === f);
  if (!fc.length) continue;
  const row = { family: f, total: fc.length, clear: 0, hung: 0, seconds: 0 };
  for (const c of fc) {
    const r = await runCase(c, bin);
    row.seconds += r.seconds;
    if (r.clear) row.clear++;
    else bad.push(`  ${f}/${c.name}: ${r.problem}`);
    if (r.hung) row.hung++;
  }
  rows.push(row);
}
console.log(`bad-input corpus against ${bin}`);
console.log("family   cases  clear  hung  seconds");
for (const r of rows) console.log(`${r.family.padEnd(8)} ${String(r.total).padStart(5)}  ${String(r.clear).padStart(5)}  ${String(r.hung).padStart(4)}  ${r.seconds.toFixed(1).padStart(7)}`);
const t = rows.reduce((a, r) => ({ total: a.total + r.total, clear: a.clear + r.clear, hung: a.hung + r.hung, seconds: a.seconds + r.seconds }), { total: 0, clear: 0, hung: 0, seconds: 0 });
console.log(`${"all".padEnd(8)} ${String(t.total).padStart(5)}  ${String(t.clear).padStart(5)}  ${String(t.hung).padStart(4)}  ${t.seconds.toFixed(1).padStart(7)}`);
if (bad.length) console.log(`not clear:\n${bad.join("\n")}`);
