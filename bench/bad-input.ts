// bench/bad-input.sh: the corpus run against dist/rear, counted per family. With --rear27, the
// configuration cases read by `dump` (read-only, so safe on this machine) also go to ReaR 2.7
// (/usr/sbin/rear, Debian's package): how many of the same bad files it stops on, accepts, or hangs on.
// Only those: the other families hold layoutonly and backup runs that ReaR 2.7 would carry out for real.
import { join, resolve } from "node:path";
import { FAMILIES, loadCases, runCase } from "../test/helpers/bad-input.ts";

const args = process.argv.slice(2);
const rear27 = args.includes("--rear27");
const pos = args.filter((a) => !a.startsWith("--"));
const bin = resolve(pos[0] ?? join(import.meta.dir, "../dist/rear"));
const cases = loadCases(pos[1] ? [pos[1]] : FAMILIES);
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

if (rear27) {
  const R27 = "/usr/sbin/rear";
  const mine = loadCases(["config"]).filter((c) => c.argv.at(-1) === "dump" && c.exit !== 0);
  let stopped = 0, accepted = 0, hung = 0, same = 0;
  const accepts: string[] = [];
  for (const c of mine) {
    const ours = await runCase(c, bin);
    const r = await runCase({ ...c, timeout: 10 }, R27);
    if (r.hung) hung++;
    else if (r.code === 0) (accepted++, accepts.push(c.name));
    else stopped++;
    if (!r.hung && (r.code === 0) === (ours.code === 0)) same++;
  }
  console.log(`\nthe ${mine.length} bad configuration files read by 'dump', ReaR 2.7 (${R27}):`);
  console.log(`  stops with an error: ${stopped}   accepts (exit 0): ${accepted}   hangs (killed after 10 s): ${hung}`);
  if (accepts.length) console.log(`  accepted: ${accepts.join(" ")}`);
}
