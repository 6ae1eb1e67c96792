// Issue 14, "nothing silently wrong", the backup runs: a backup never replaces a good one with a bad one
// and never "succeeds" with nothing. A good backup is made first to a tmpfs of its own; then each kind
// of failure (a BACKUP_PROG that fails quietly, is missing, exits 2, is killed, writes nothing or not
// an archive; includes that would archive nothing; a read-only, full or wrong target; SIGTERM/SIGINT
// of a running backup) must exit 2 (1 for an empty BACKUP) with one clear line, and leave the previous
// archive, its manifest and its backup.log byte for byte as they were, with no .partial file left.
// Also PRE_BACKUP_SCRIPT/POST_BACKUP_SCRIPT (order, POST on failure) and what BACKUP=TSM says.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let src: string;
let target: string;
let env: Record<string, string>;
const mounts: string[] = [];

function tmpfs(dir: string, size: string): string {
  mkdirSync(dir, { recursive: true });
  must(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

function conf(name: string, lines: string[]): string {
  const d = join(base, "conf", name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "local.conf"), [...lines, ""].join("\n"));
  return d;
}

const common = (extra: string[] = [], prefix = "host") => [
  "BACKUP=NETFS", `BACKUP_URL=file://${target}`, `NETFS_PREFIX=${prefix}`, "BACKUP_ONLY_INCLUDE=yes", `BACKUP_PROG_INCLUDE=( ${src} )`, "BACKUP_PROG_EXCLUDE=()", ...extra,
];

const rear = (c: string, ...args: string[]) => run([DIST, "-c", c, ...args], { env });

/** The files of a backup directory with their bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f)).toString("base64");
  return out;
}

/** A script in the sandbox, usable as BACKUP_PROG. */
function script(name: string, body: string): string {
  const p = join(base, "bin", name);
  mkdirSync(join(base, "bin"), { recursive: true });
  writeFileSync(p, `#!/bin/bash\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** One clear line: the exit code, the message on one line of stderr, no stack trace, no "unexpected error". */
function clearError(r: { code: number | null; stdout: string; stderr: string }, code: number, message: string | RegExp) {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const lines = (r.stdout + r.stderr).split("\n");
  expect(lines.some((l) => (typeof message === "string" ? l.includes(message) : message.test(l)))).toBe(true);
  expect(r.stdout + r.stderr).not.toContain("    at ");
  expect(r.stdout + r.stderr).not.toContain("unexpected error");
}

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/var/tmp/rear-it-bfail.");
  chmodSync(base, 0o755);
  env = { REAR_VAR: join(base, "var"), TMPDIR: join(base, "tmp") };
  mkdirSync(env.TMPDIR!);
  src = join(base, "src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "a"), "alpha\n");
  writeFileSync(join(src, "sub", "b"), "beta\n");
  target = tmpfs(join(base, "target"), "64m");
});

afterAll(() => {
  for (const m of mounts.reverse()) run(["umount", "-l", m]);
  rmSync(base, { recursive: true, force: true });
});

describe("a failed backup leaves the previous one byte for byte", () => {
  let before: Record<string, string>;
  const dir = () => join(target, "host");

  test("the good backup", () => {
    const r = rear(conf("good", common()), "mkbackuponly");
    if (r.code !== 0) throw new Error(`${r.stdout}\n${r.stderr}`);
    before = snapshot(dir());
    expect(Object.keys(before)).toEqual(["backup.log", "backup.tar.gz", "backup.tar.gz.sha256"]);
    expect(must(["tar", "-tzf", join(dir(), "backup.tar.gz")])).toContain(`${src.slice(1)}/sub/b`);
  });

  const cases: [string, () => string[], string | RegExp][] = [
    ["BACKUP_PROG=/bin/false (exit 1, no output)", () => ["BACKUP_PROG=/bin/false"], "BACKUP_PROG=/bin/false exited 1 without saying that a file changed"],
    ["BACKUP_PROG=/bin/true (exit 0, 0 bytes)", () => ["BACKUP_PROG=/bin/true"], "What BACKUP_PROG=/bin/true wrote is empty (0 bytes)"],
    ["a BACKUP_PROG that does not exist", () => ["BACKUP_PROG=/nonexistent/tar"], "BACKUP_PROG=/nonexistent/tar: no such program"],
    ["a BACKUP_PROG that exits 2", () => [`BACKUP_PROG=${script("exit2", "echo 'tar: cannot do it' >&2; exit 2")}`], /exited 2: tar: cannot do it; no new archive was made/],
    ["tar killed by a signal halfway", () => [`BACKUP_PROG=${script("killed", 'tar "$@" & sleep 0.2; kill -9 $$')}`], /was killed by signal 9 \(exit 137\)/],
    ["a wrapper that runs tar but exits 1 without tar's words", () => [`BACKUP_PROG=${script("wrap1", 'tar "$@"; exit 1')}`], /exited 1 without saying that a file changed/],
    ["exit 0 with text that is no archive", () => [`BACKUP_PROG=${script("text", "echo hello; exit 0")}`], /wrote is not a gzip archive \(it starts with 68 65 6c 6c 6f/],
    ["exit 0 with an archive of no file", () => [`BACKUP_PROG=${script("nofile", "tar -czf - -T /dev/null")}`], /wrote holds no file \(only tar's end-of-archive marker\)/],
    ["a plain tar archive where gzip was asked for (a BACKUP_PROG that ignores --gzip)", () => [`BACKUP_PROG=${script("plain", 'tar -cf - -C / "${@: -1}"')}`], /wrote is not a gzip archive/],
    ["an include that does not exist", () => [`BACKUP_PROG_INCLUDE=( ${base}/nonexistent )`], `BACKUP_PROG_INCLUDE has ${"@"}/nonexistent, which does not exist`],
    ["an include the default excludes leave out (/tmp/*)", () => [`BACKUP_PROG_INCLUDE=( ${src}/sub )`, `BACKUP_PROG_EXCLUDE=( '${src}/*' )`], /sub is to be backed up, but the exclude pattern '.*\/\*' .* leaves all of it out/],
    ["BACKUP_ONLY_INCLUDE with an empty BACKUP_PROG_INCLUDE", () => ["BACKUP_PROG_INCLUDE=()"], "Nothing to back up: the include list is empty"],
  ];
  for (const [what, extra, message] of cases) {
    test(what, () => {
      const m = typeof message === "string" ? message.replace("@", base) : message;
      clearError(rear(conf(what.replace(/\W+/g, "-"), common(extra())), "mkbackuponly"), 2, m);
      expect(snapshot(dir())).toEqual(before);
    }, 30_000);
  }

  test("incremental: a failed run adds no archive and changes none", () => {
    const c = conf("inc", common(["BACKUP_TYPE=incremental"], "inc"));
    expect(rear(c, "mkbackuponly").code).toBe(0);
    const was = snapshot(join(target, "inc"));
    clearError(rear(conf("inc-bad", common(["BACKUP_TYPE=incremental", "BACKUP_PROG=/bin/false"], "inc")), "mkbackuponly"), 2, "exited 1 without saying");
    expect(snapshot(join(target, "inc"))).toEqual(was);
  }, 30_000);

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    test(`${sig} of a running mkbackuponly: the .partial file is removed on the way out, the previous backup stays`, async () => {
      const big = join(src, "big");
      must(["sh", "-c", `head -c 12M /dev/urandom > ${big}`]);
      try {
        // xz on random data is slow: the run is surely still writing when the signal comes
        const c = conf(`sig-${sig}`, common(["BACKUP_PROG_COMPRESS_OPTIONS=( --xz )", "BACKUP_PROG_COMPRESS_SUFFIX=.xz"]));
        const p = Bun.spawn([DIST, "-c", c, "mkbackuponly"], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
        let partial: string | undefined;
        for (let i = 0; i < 500 && p.exitCode === null && !partial; i++) {
          partial = readdirSync(dir()).find((f) => f.includes(".partial-"));
          if (!partial) await Bun.sleep(10);
        }
        expect(partial).toBe(`.backup.tar.xz.partial-${p.pid}`);
        await Bun.sleep(300);
        p.kill(sig);
        const code = await p.exited;
        expect(code).toBe(sig === "SIGTERM" ? 143 : 130);
        expect(readdirSync(dir()).filter((f) => f.includes(".partial"))).toEqual([]);
        expect(snapshot(dir())).toEqual(before);
        expect(await new Response(p.stderr).text()).toContain(`(${sig}); running exit tasks`);
      } finally {
        rmSync(big, { force: true });
      }
    }, 60_000);
  }

  test("a read-only target: one line naming it, the previous backup there", () => {
    must(["mount", "-o", "remount,ro", target]);
    try {
      const r = rear(conf("ro", common()), "mkbackuponly");
      clearError(r, 2, `Cannot write the backup to ${dir()}: its filesystem is mounted read-only`);
      expect(r.stdout + r.stderr).toContain("remount it read-write");
    } finally {
      must(["mount", "-o", "remount,rw", target]);
    }
    expect(snapshot(dir())).toEqual(before);
  }, 30_000);

  test("a target rear may not write to (immutable: EPERM, as root's permission problem): one line naming it", () => {
    must(["chattr", "+i", dir()]);
    try {
      const r = rear(conf("eperm", common()), "mkbackuponly");
      clearError(r, 2, `Cannot write the backup to ${dir()}: permission denied`);
    } finally {
      must(["chattr", "-i", dir()]);
    }
    expect(snapshot(dir())).toEqual(before);
  }, 30_000);

  test("a full target: one line, nothing left", () => {
    const small = tmpfs(join(base, "small"), "1m");
    const big = join(src, "big");
    must(["sh", "-c", `head -c 3M /dev/urandom > ${big}`]);
    try {
      const c = conf("full", ["BACKUP=NETFS", `BACKUP_URL=file://${small}`, "NETFS_PREFIX=host", "BACKUP_ONLY_INCLUDE=yes", `BACKUP_PROG_INCLUDE=( ${src} )`, "BACKUP_PROG_EXCLUDE=()"]);
      clearError(rear(c, "mkbackuponly"), 2, "The backup target is full");
      expect(readdirSync(join(small, "host"))).toEqual([]);
    } finally {
      rmSync(big, { force: true });
    }
  }, 30_000);

  test("a target that is a file, and one whose directory does not exist", () => {
    writeFileSync(join(base, "afile"), "x");
    clearError(rear(conf("file", [...common(), `BACKUP_URL=file://${base}/afile`]), "mkbackuponly"), 2, `BACKUP_URL=file://${base}/afile: ${base}/afile is a file, not a directory`);
    clearError(rear(conf("nodir", [...common(), `BACKUP_URL=file://${base}/no/such`]), "mkbackuponly"), 2, `BACKUP_URL=file://${base}/no/such: ${base}/no does not exist`);
    expect(existsSync(join(base, "no"))).toBe(false);
  });
});

describe("PRE_BACKUP_SCRIPT and POST_BACKUP_SCRIPT", () => {
  const order = () => join(base, "order");
  const scripts = (extra: string[] = []) => [
    ...common(extra, "scripts"),
    `PRE_BACKUP_SCRIPT=( echo pre '$BACKUP' '>>' ${order()} )`,
    `POST_BACKUP_SCRIPT="test -s ${target}/scripts/backup.tar.gz && echo post archive >> ${order()} || echo post noarchive >> ${order()}"`,
  ];
  test("PRE first, POST last (a string and an array both, with the configuration's variables)", () => {
    rmSync(order(), { force: true });
    const r = rear(conf("scripts-ok", scripts()), "mkbackuponly");
    expect(r.code).toBe(0);
    expect(readFileSync(order(), "utf8")).toBe("pre NETFS\npost archive\n");
  });
  test("POST also runs when the backup fails", () => {
    rmSync(join(target, "scripts"), { recursive: true, force: true });
    rmSync(order(), { force: true });
    clearError(rear(conf("scripts-fail", scripts(["BACKUP_PROG=/bin/false"])), "mkbackuponly"), 2, "exited 1 without saying");
    expect(readFileSync(order(), "utf8")).toBe("pre NETFS\npost noarchive\n");
  });
  test("a failing PRE stops the backup before anything is written; POST still runs", () => {
    rmSync(order(), { force: true });
    // (assigning a string to an array sets its first element only, as in bash: a fresh list here)
    const c = conf("scripts-prefail", [...scripts().filter((l) => !l.startsWith("PRE_")), `PRE_BACKUP_SCRIPT="echo pre >> ${order()}; echo 'database busy' >&2; exit 3"`]);
    clearError(rear(c, "mkbackuponly"), 2, "PRE_BACKUP_SCRIPT failed (exit 3): database busy; no backup was made");
    expect(readFileSync(order(), "utf8")).toBe("pre\npost noarchive\n");
    expect(existsSync(join(target, "scripts", "backup.tar.gz"))).toBe(false);
  });
  test("a failing POST fails the run after the backup was made", () => {
    const c = conf("scripts-postfail", [...common([], "scripts"), `POST_BACKUP_SCRIPT=( false )`]);
    clearError(rear(c, "mkbackuponly"), 2, "POST_BACKUP_SCRIPT failed (exit 1); the backup itself was made");
    expect(existsSync(join(target, "scripts", "backup.tar.gz"))).toBe(true);
  });
  test("the scripts' text is never on a command line (it may hold a secret)", () => {
    const seen = join(base, "cmdline");
    const c = conf("scripts-argv", [...common([], "scripts"), `PRE_BACKUP_SCRIPT=( ': MARKER-4711;' tr '"\\0"' '" "' '<' /proc/'$$'/cmdline '>' ${seen} )`]);
    expect(rear(c, "mkbackuponly").code).toBe(0);
    const cmd = readFileSync(seen, "utf8");
    expect(cmd).toContain("bash");
    expect(cmd).not.toContain("MARKER-4711");
  });
  test("EXTERNAL_BACKUP: evaluated the same way, not on a command line either", () => {
    const seen = join(base, "cmdline-ext");
    const c = conf("ext-argv", ["BACKUP=EXTERNAL", `EXTERNAL_BACKUP=( ': MARKER-4712;' tr '"\\0"' '" "' '<' /proc/'$$'/cmdline '>' ${seen} )`]);
    const r = rear(c, "mkbackuponly");
    if (r.code !== 0) throw new Error(`${r.stdout}\n${r.stderr}`);
    expect(readFileSync(seen, "utf8")).not.toContain("MARKER-4712");
  });
});

describe("methods without a backup of rear's; an empty BACKUP", () => {
  test("BACKUP=TSM: said at default verbosity, exit 0", () => {
    const r = rear(conf("tsm", ["BACKUP=TSM"]), "mkbackuponly");
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain("BACKUP=TSM: rear makes no backup; your backup software does (ReaR 2.7's mkbackup runs 'dsmc incremental' here");
  });
  test("unset BACKUP and BACKUP= are a configuration error (exit 1)", () => {
    clearError(rear(conf("empty-unset", ["unset BACKUP"]), "mkbackuponly"), 1, "BACKUP is empty: rear does not know how the backup is made or restored");
    // the configuration checks see this one first
    clearError(rear(conf("empty-assigned", ["BACKUP="]), "mkbackuponly"), 1, "BACKUP is empty; set it to one of NETFS");
  });
});
