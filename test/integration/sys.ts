// Running real commands from integration tests (root, loop devices): output captured, failures thrown.

export function run(argv: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) {
  const p = Bun.spawnSync(argv, { env: { ...process.env, ...opts.env }, stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

export function must(argv: string[], stdin?: string): string {
  const r = run(argv, stdin !== undefined ? { stdin } : {});
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
