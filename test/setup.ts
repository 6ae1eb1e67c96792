// Preloaded by bunfig.toml. In the unit tier (REAR_TEST_TIER=unit) every way of starting a process
// throws, so a unit test can never run a real command, even by accident.

if (process.env.REAR_TEST_TIER === "unit") {
  const refuse = (what: string) => () => {
    throw new Error(`unit tests must not run real commands (${what})`);
  };
  const B = Bun as unknown as Record<string, unknown>;
  B.spawn = refuse("Bun.spawn");
  B.spawnSync = refuse("Bun.spawnSync");
  const cp = require("node:child_process") as Record<string, unknown>;
  for (const f of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"]) cp[f] = refuse(`child_process.${f}`);
}
