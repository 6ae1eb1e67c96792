// Secrets as an attacker looks for them (issue 14): while rear runs a hook and an encrypted backup with
// -D, an unprivileged user polls every process's /proc/PID/cmdline and /proc/PID/environ; afterwards
// every file rear wrote (logs, the kept work area, the layout, the backup target) is searched for the
// secret values. Zero hits. The secrets come in every way a configuration gives them: ReaR's secret
// idiom on one line and over several (every variable in the braces), the built-in secret variables,
// a cifs password in BACKUP_OPTIONS and a password in a URL.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loopFs, type LoopFs } from "./loop-fs.ts";
import { makeTree } from "./tree-manifest.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const tag = () => randomBytes(6).toString("hex");
const SECRETS = {
  key: `crypt-key-${tag()}`,
  ssh: `ssh-pw-${tag()}`,
  tty: `tty-pw-${tag()}`,
  token1: `first-token-${tag()}`,
  token2: `second-token-${tag()}`,
  cifs: `cifs-pw-${tag()}`,
  url: `url-pw-${tag()}`,
};
let base: string;
let fs: LoopFs | undefined;

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-secrets.");
  chmodSync(base, 0o755);
});
afterAll(() => {
  fs?.close();
  rmSync(base, { recursive: true, force: true });
});

/** Every file below `dir` whose bytes contain one of the values: "path: name". */
function hits(dir: string, values: Record<string, string>): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const b = readFileSync(p);
        for (const [name, v] of Object.entries(values)) if (b.includes(v)) out.push(`${p}: ${name}`);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe("no secret leaves rear in clear", () => {
  test("hook + encrypted backup with -D: nothing in /proc for another user, nothing in any file rear wrote", async () => {
    const conf = join(base, "etc");
    const src = join(base, "src");
    // the backup target on a file system of its own (rear refuses the root file system it backs up)
    fs = loopFs(base, "target", 64);
    const target = fs.mnt;
    const tmp = join(base, "tmp");
    for (const d of [conf, tmp, join(conf, "stages/backup")]) mkdirSync(d, { recursive: true, mode: 0o755 });
    makeTree(src);
    writeFileSync(join(src, "big"), randomBytes(4 << 20));
    writeFileSync(
      join(conf, "local.conf"),
      [
        "BACKUP=NETFS", `BACKUP_URL=file://${target}`, "BOOTLOADER=GRUB2", "BACKUP_ONLY_INCLUDE=yes", `BACKUP_PROG_INCLUDE=( ${src} )`,
        "BACKUP_PROG_CRYPT_ENABLED=yes",
        `{ BACKUP_PROG_CRYPT_KEY='${SECRETS.key}' ; } 2>>/dev/$SECRET_OUTPUT_DEV`,
        `{ SSH_ROOT_PASSWORD='${SECRETS.ssh}' ; TTY_ROOT_PASSWORD='${SECRETS.tty}' ; } 2>>/dev/$SECRET_OUTPUT_DEV`,
        "{",
        `  MY_TOKEN_ONE='${SECRETS.token1}'`,
        `  export MY_TOKEN_TWO='${SECRETS.token2}'`,
        "} 2>>/dev/$SECRET_OUTPUT_DEV",
        `OUTPUT_OPTIONS='username=bob,password=${SECRETS.cifs},vers=3.0'`,
        `MY_REPO_URL='sshfs://bob:${SECRETS.url}@backup.example/rear'`,
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    // the hook uses every secret (as a ReaR script would) and lives long enough to be seen in /proc
    writeFileSync(
      join(conf, "stages/backup/100_use_secrets.sh"),
      'for v in "$BACKUP_PROG_CRYPT_KEY" "$SSH_ROOT_PASSWORD" "$TTY_ROOT_PASSWORD" "$MY_TOKEN_ONE" "$MY_TOKEN_TWO" "$OUTPUT_OPTIONS" "$MY_REPO_URL"; do test -n "$v" || exit 9; done\n' +
        'echo "the hook ran with $BACKUP_PROG_CRYPT_KEY and $MY_TOKEN_TWO"\nsleep 2\n',
      { mode: 0o644 },
    );
    // the attacker: nobody, polling every process until told to stop
    const found = join(base, "found");
    const stop = join(base, "stop");
    for (const f of [found, `${found}.rounds`]) {
      writeFileSync(f, "");
      chmodSync(f, 0o666); // the attacker writes its findings there
    }
    chmodSync(base, 0o755);
    const pattern = Object.values(SECRETS).join("|");
    // the poller's own command lines must not hold the values: its script and patterns are files
    writeFileSync(join(base, "patterns"), Object.values(SECRETS).join("\n") + "\n", { mode: 0o644 });
    writeFileSync(
      join(base, "poll.sh"),
      `n=0\nwhile [ ! -e ${stop} ]; do\n  for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do tr '\\0' ' ' < "$f" 2>/dev/null | grep -aoFf ${join(base, "patterns")} | sed "s|^|$f: |" >> ${found}; done\n  n=$((n+1))\ndone\necho "$n rounds" > ${found}.rounds\n`,
      { mode: 0o644 },
    );
    const poller = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", join(base, "poll.sh")], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const env = { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", REAR_VAR: join(base, "var"), TMPDIR: tmp };
    const r = Bun.spawnSync([DIST, "-D", "-v", "-c", conf, "mkbackuponly"], { env, stdin: "ignore" });
    writeFileSync(stop, "");
    await poller.exited;
    const out = r.stdout.toString() + r.stderr.toString();
    if (r.exitCode !== 0) throw new Error(`mkbackuponly exited ${r.exitCode}:\n${out}`);
    expect(readFileSync(`${found}.rounds`, "utf8")).toMatch(/^[1-9][0-9]* rounds/);
    expect(out).not.toMatch(new RegExp(pattern));
    // the log shows the hook ran and what it printed, with the secrets hidden
    const logs = join(base, "var/log/rear");
    const log = readdirSync(logs).map((f) => readFileSync(join(logs, f), "utf8")).join("\n");
    expect(log).toContain("the hook ran with <hidden> and <hidden>");
    expect(hits(join(base, "var"), SECRETS)).toEqual([]);
    expect(hits(tmp, SECRETS)).toEqual([]); // the work area, kept by -D
    expect(hits(target, SECRETS)).toEqual([]); // the archive is encrypted, the manifest holds sums
    expect(statSync(join(target, readdirSync(target)[0]!)).isDirectory()).toBe(true);
    // the recovery data rear keeps is private (the README's promise): files 0600 in 0700 directories
    const rec = join(base, "var/lib/rear/recovery");
    expect(statSync(rec).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(rec)) expect(`${f} ${(statSync(join(rec, f)).mode & 0o777).toString(8)}`).toBe(`${f} 600`);
    // what the attacker found in other processes' command lines and environments
    expect(readFileSync(found, "utf8").split("\n").filter(Boolean)).toEqual([]);
  }, 180_000);
});

