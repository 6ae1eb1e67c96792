// RECOVERY_UPDATE_URL against real servers on 127.0.0.1: HTTPS with certificates made here by openssl (the
// right CA; another CA, another name and an expired certificate refused), plain http for signed
// (ssh-keygen -Y sign) and pinned archives, archives made by GNU tar (hostile ones refused whole, nothing
// written), placeholders, a 404 and a network that comes up late. Then the wiring through the binary:
// `rear -p recover --dry-run` in a tree of its own takes the update, reads the configuration again and
// looks for the backup where the updated configuration says.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runRecoveryUpdate, type UpdateSettings, type UpdateTargets } from "../../src/update/recovery-update.ts";
import type { MachineFacts } from "../../src/update/placeholders.ts";
import { sha256Hex } from "../../src/update/signature.ts";
import { must } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const LOG_HOST = "rear-it-update";
let base: string;
const files = new Map<string, Uint8Array>();
const servers: { stop(force?: boolean): void }[] = [];
const facts: MachineFacts = { hostname: "web7", macs: ["52:54:00:00:00:01", "52:54:00:00:00:02"], uuid: "11111111-2222-3333-4444-555555555555" };
const quiet = { print: (_: string) => {}, log: (_: string) => {} };

function sh(script: string, cwd: string): string {
  return must(["bash", "-euo", "pipefail", "-c", `cd '${cwd}' && ${script}`]);
}

function serve(tls?: { cert: string; key: string }, port = 0) {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port,
    ...(tls ? { tls } : {}),
    fetch(req) {
      const p = new URL(req.url).pathname.slice(1);
      const b = files.get(p);
      return b ? new Response(b) : new Response("not here", { status: 404 });
    },
  });
  servers.push(s);
  return s;
}

/** An archive made by GNU tar from a tree under base/trees/NAME (extra tar words allowed). */
function archive(name: string, make: (dir: string) => void, tarWords = "etc var"): Uint8Array {
  const d = join(base, "trees", name);
  mkdirSync(d, { recursive: true });
  make(d);
  sh(`tar -czf ../${name}.tgz ${tarWords}`, d);
  return readFileSync(join(base, "trees", `${name}.tgz`));
}

function targets(name: string): UpdateTargets {
  const root = join(base, "roots", name);
  mkdirSync(join(root, "etc/rear"), { recursive: true });
  mkdirSync(join(root, "var/lib/rear/layout"), { recursive: true });
  writeFileSync(join(root, "etc/rear/local.conf"), "OUTPUT=ISO\n");
  return { root, configDir: join(root, "etc/rear"), varDir: join(root, "var/lib/rear"), binary: join(root, "usr/sbin/rear") };
}

const settings = (url: string, more: Partial<UpdateSettings> = {}): UpdateSettings => ({ url, source: "the test", ca: join(base, "pki/ca.pem"), sha256: [], signers: "", paths: [], waitSeconds: 0, ...more });

/** Every file below a directory with its content, to prove that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[p] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

let goodTls: { cert: string; key: string };
let https: ReturnType<typeof serve>;

beforeAll(() => {
  base = mkdtempSync("/var/tmp/rear-it-update.");
  const pki = join(base, "pki");
  mkdirSync(pki);
  // a CA, a server certificate for 127.0.0.1, one for another name, an expired one, and another CA
  sh(
    [
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=rear-test-ca 2>/dev/null",
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem -days 30 -subj /CN=other-ca 2>/dev/null",
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext; printf 'subjectAltName=DNS:other.example\\n' > other.ext",
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 30 -extfile san.ext 2>/dev/null",
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out wrong-name.pem -days 30 -extfile other.ext 2>/dev/null",
      "openssl x509 -req -in srv.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -out other-ca-srv.pem -days 30 -extfile san.ext 2>/dev/null",
      "touch index.txt; echo 1000 > serial",
      "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\nserial=serial\\npolicy=p\\ndefault_md=sha256\\n[p]\\ncommonName=supplied\\n' > ca.cnf",
      "openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr -out expired.pem -startdate 20200101000000Z -enddate 20210101000000Z -extfile san.ext 2>/dev/null",
    ].join(" && "),
    pki,
  );
  const pem = (n: string) => readFileSync(join(pki, n), "utf8");
  goodTls = { cert: pem("srv.pem"), key: pem("srv.key") };
  https = serve(goodTls);

  files.set("web7.tgz", archive("good", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    mkdirSync(join(d, "var/lib/rear/layout"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "OUTPUT=ISO\nBACKUP=NETFS\nBACKUP_URL=nfs://10.0.0.9/backups\n");
    writeFileSync(join(d, "var/lib/rear/layout/disklayout.conf"), "disk /dev/vda 8589934592 gpt\n");
    symlinkSync("local.conf", join(d, "etc/rear/site.conf"));
  }));
  files.set("11111111-2222-3333-4444-555555555555.tgz", files.get("web7.tgz")!);
  files.set("52-54-00-00-00-02.tgz", files.get("web7.tgz")!);
  // hostile archives, each made by GNU tar the way an attacker (or a careless admin) would
  files.set("absolute.tgz", archive("absolute", (d) => writeFileSync(join(d, "x"), "x"), `-P ${join(base, "trees/absolute/x")}`));
  files.set("dotdot.tgz", archive("dotdot", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "x\n");
  }, "--transform 's,^etc/rear/local.conf,etc/rear/../../../root/.bashrc,' etc/rear/local.conf"));
  files.set("symlink-out.tgz", archive("symlink-out", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "x\n");
    symlinkSync("/etc/shadow", join(d, "etc/rear/evil"));
  }, "etc"));
  files.set("device.tgz", archive("device", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "x\n");
  }, "etc -P --transform 's,^/dev/null,etc/rear/null,' /dev/null"));
  files.set("setuid.tgz", archive("setuid", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "x\n");
    writeFileSync(join(d, "etc/rear/tool"), "#!/bin/sh\n", { mode: 0o4755 });
    must(["chmod", "4755", join(d, "etc/rear/tool")]);
  }, "etc"));
  files.set("outside.tgz", archive("outside", (d) => {
    mkdirSync(join(d, "etc/cron.d"), { recursive: true });
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "x\n");
    writeFileSync(join(d, "etc/cron.d/evil"), "* * * * * root sh\n");
  }, "etc"));
  files.set("not-an-archive.tgz", new TextEncoder().encode("<html>error page</html>"));
  files.set("with-binary.tgz", archive("with-binary", (d) => {
    mkdirSync(join(d, "etc/rear"), { recursive: true });
    mkdirSync(join(d, "usr/sbin"), { recursive: true });
    writeFileSync(join(d, "etc/rear/local.conf"), "OUTPUT=ISO\n");
    writeFileSync(join(d, "usr/sbin/rear"), "#!/bin/sh\necho new rear \"$@\" updated=$REAR_RECOVERY_UPDATED\n", { mode: 0o755 });
  }, "etc usr"));
  // signatures made with ssh-keygen (the signer's key, another key, another namespace)
  sh(
    [
      "ssh-keygen -q -t ed25519 -N '' -C admin@fleet -f signer",
      "ssh-keygen -q -t ed25519 -N '' -C stranger -f stranger",
      "printf 'admin@fleet %s\\n' \"$(cut -d' ' -f1,2 signer.pub)\" > allowed_signers",
      "cp ../trees/with-binary.tgz signed.tgz && ssh-keygen -q -Y sign -f signer -n rear-update signed.tgz",
      "cp ../trees/with-binary.tgz stranger.tgz && ssh-keygen -q -Y sign -f stranger -n rear-update stranger.tgz",
      "cp ../trees/with-binary.tgz other-ns.tgz && ssh-keygen -q -Y sign -f signer -n file other-ns.tgz",
    ].join(" && "),
    pki,
  );
  for (const n of ["signed", "stranger", "other-ns"]) {
    files.set(`${n}.tgz`, readFileSync(join(pki, `${n}.tgz`)));
    files.set(`${n}.tgz.sig`, readFileSync(join(pki, `${n}.tgz.sig`)));
  }
});

afterAll(() => {
  for (const s of servers) s.stop(true);
  for (const f of [`rear-${LOG_HOST}.log`, `rear-${LOG_HOST}.log.old`]) rmSync(`/var/log/rear/${f}`, { force: true });
  if (base) rmSync(base, { recursive: true, force: true });
});

const url = (p: string, s = https) => `${s.url.origin}/${p}`;

describe("recovery update over HTTPS", () => {
  test("the machine's archive is written where rear reads it; the log lists every file; the other machine's layout files are moved aside", async () => {
    const t = targets("good");
    mkdirSync(join(t.configDir, "mappings"), { recursive: true });
    writeFileSync(join(t.configDir, "mappings/disk_mappings"), "/dev/sda /dev/sdb\n");
    mkdirSync(join(t.varDir, "layout/lvm"), { recursive: true });
    writeFileSync(join(t.varDir, "layout/lvm/vgA.cfg"), "the rescue image's machine\n");
    const lines: string[] = [];
    const out = await runRecoveryUpdate(settings(url("{hostname}.tgz")), t, facts, { print: (l) => lines.push(l), log: (l) => lines.push(l) });
    expect(readFileSync(join(t.configDir, "local.conf"), "utf8")).toContain("BACKUP_URL=nfs://10.0.0.9/backups");
    expect(readFileSync(join(t.varDir, "layout/disklayout.conf"), "utf8")).toBe("disk /dev/vda 8589934592 gpt\n");
    expect(readFileSync(join(t.configDir, "site.conf"), "utf8")).toContain("BACKUP=NETFS");
    expect(out.binaryReplaced).toBe(false);
    expect(lines.join("\n")).toContain(`update: changed   ${join(t.configDir, "local.conf")}`);
    expect(lines.join("\n")).toContain(`update: new       ${join(t.varDir, "layout/disklayout.conf")}`);
    expect(readdirSync(t.configDir).filter((n) => n.includes(".rear-update-"))).toEqual([]);
    expect(existsSync(join(t.configDir, "mappings/disk_mappings"))).toBe(false);
    expect(existsSync(join(t.varDir, "layout/lvm/vgA.cfg"))).toBe(false);
    const aside = readdirSync(join(t.varDir, "before-update"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(t.varDir, "before-update", aside[0]!, "var/lib/rear/layout/lvm/vgA.cfg"), "utf8")).toBe("the rescue image's machine\n");
    expect(lines.join("\n")).toContain("Moved 2 file(s) of the rescue image's own machine aside");
  });
  test("{uuid} and {mac} (each card in turn) name the machine's archive", async () => {
    expect((await runRecoveryUpdate(settings(url("{uuid}.tgz")), targets("uuid"), facts, quiet)).url).toBe(url("11111111-2222-3333-4444-555555555555.tgz"));
    expect((await runRecoveryUpdate(settings(url("{mac}.tgz")), targets("mac"), facts, quiet)).url).toBe(url("52-54-00-00-00-02.tgz"));
  });
  test("another CA, another name and an expired certificate are refused; nothing is written", async () => {
    const pki = join(base, "pki");
    for (const [cert, want] of [
      ["other-ca-srv.pem", /TLS refused the server/],
      ["wrong-name.pem", /TLS refused the server/],
      ["expired.pem", /TLS refused the server/],
    ] as const) {
      const s = serve({ cert: readFileSync(join(pki, cert), "utf8"), key: goodTls.key });
      const t = targets(`tls-${cert}`);
      const before = snapshot(t.root);
      const e = await runRecoveryUpdate(settings(url("web7.tgz", s)), t, facts, quiet).catch((x: Error) => x);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(want);
      expect((e as Error).message).toContain(url("web7.tgz", s));
      expect(snapshot(t.root)).toEqual(before);
      s.stop(true);
    }
  });
  test("without RECOVERY_UPDATE_CA the built-in CA list does not know the test CA", async () => {
    const e = await runRecoveryUpdate(settings(url("web7.tgz"), { ca: "" }), targets("noca"), facts, quiet).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/TLS refused the server/);
  });
  test("hostile archives are refused whole: nothing is written", async () => {
    for (const [name, want] of [
      ["absolute.tgz", "an absolute path"],
      ["dotdot.tgz", "a path that leaves the tree (..)"],
      ["symlink-out.tgz", "etc/rear/evil: a symbolic link to /etc/shadow"],
      ["device.tgz", "etc/rear/null: a character device"],
      ["setuid.tgz", "etc/rear/tool: set-user-ID or set-group-ID bit (mode 4755)"],
      ["outside.tgz", "etc/cron.d/evil: outside etc/rear, var/lib/rear"],
      ["not-an-archive.tgz", "is not a tar, tar.gz or tar.zst archive"],
    ] as const) {
      const t = targets(`hostile-${name}`);
      const before = snapshot(t.root);
      const e = await runRecoveryUpdate(settings(url(name)), t, facts, quiet).catch((x: Error) => x);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toContain(want);
      expect(snapshot(t.root)).toEqual(before);
    }
  });
  test("an unsigned archive with a rear binary (a PORTABLE archive): the configuration is taken, the binary is not", async () => {
    const t = targets("unsigned-binary");
    const lines: string[] = [];
    const out = await runRecoveryUpdate(settings(url("with-binary.tgz")), t, facts, { print: (l) => lines.push(l), log: () => {} });
    expect(out.binaryReplaced).toBe(false);
    expect(existsSync(t.binary)).toBe(false);
    expect(lines.join("\n")).toContain("The update carries a rear binary: not taken");
  });
  test("a 404 names the URL and what it answered", async () => {
    const e = await runRecoveryUpdate(settings(url("nobody.tgz")), targets("404"), facts, quiet).catch((x: Error) => x);
    expect((e as Error).message).toBe(`RECOVERY_UPDATE_URL: no update could be downloaded (${url("nobody.tgz")}: HTTP 404 Not Found)`);
  });
  test("a network that comes up late: tried again until the server answers", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: goodTls, fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true);
    let late: ReturnType<typeof serve> | undefined;
    setTimeout(() => (late = serve(goodTls, port)), 2500);
    const t0 = Date.now();
    const out = await runRecoveryUpdate(settings(`https://127.0.0.1:${port}/web7.tgz`, { waitSeconds: 30 }), targets("late"), facts, quiet);
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(out.writes.length).toBeGreaterThan(0);
    late?.stop(true);
  });
});

describe("signed and pinned updates", () => {
  let http: ReturnType<typeof serve>;
  beforeAll(() => {
    http = serve();
  });
  test("plain http is refused when the archive is neither pinned nor signed", async () => {
    const e = await runRecoveryUpdate(settings(url("web7.tgz", http)), targets("http"), facts, quiet).catch((x: Error) => x);
    expect((e as Error).message).toContain("plain http: set RECOVERY_UPDATE_SHA256");
  });
  test("a signed archive over http is taken, with its new rear binary", async () => {
    const t = targets("signed");
    const out = await runRecoveryUpdate(settings(url("signed.tgz", http), { signers: join(base, "pki/allowed_signers") }), t, facts, quiet);
    expect(out.signer).toBe("admin@fleet");
    expect(out.binaryReplaced).toBe(true);
    expect(readFileSync(t.binary, "utf8")).toContain("echo new rear");
    expect(statSync(t.binary).mode & 0o777).toBe(0o755);
  });
  test("another key's signature, another namespace, a missing signature: refused, nothing written", async () => {
    for (const [name, want] of [
      ["stranger.tgz", "no key of"],
      ["other-ns.tgz", "was not made for 'rear-update'"],
      ["web7.tgz", "its signature"],
    ] as const) {
      const t = targets(`sig-${name}`);
      const before = snapshot(t.root);
      const e = await runRecoveryUpdate(settings(url(name, http), { signers: join(base, "pki/allowed_signers") }), t, facts, quiet).catch((x: Error) => x);
      expect((e as Error).message).toContain(want);
      expect(snapshot(t.root)).toEqual(before);
    }
  });
  test("a pinned archive is taken; another sha256 is refused", async () => {
    const sum = sha256Hex(files.get("with-binary.tgz")!);
    const t = targets("pinned");
    expect((await runRecoveryUpdate(settings(url("with-binary.tgz", http), { sha256: [sum] }), t, facts, quiet)).binaryReplaced).toBe(true);
    const e = await runRecoveryUpdate(settings(url("web7.tgz", http), { sha256: [sum] }), targets("pinned-wrong"), facts, quiet).catch((x: Error) => x);
    expect((e as Error).message).toContain(`not ${sum} (RECOVERY_UPDATE_SHA256)`);
  });
});

/** A tree like an unpacked PORTABLE archive: our binary, local.conf, the saved hostname (-p logs under it). */
function portableTree(name: string, localConf: string): string {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  const tree = join(base, name);
  mkdirSync(join(tree, "usr/sbin"), { recursive: true });
  mkdirSync(join(tree, "etc/rear"), { recursive: true });
  copyFileSync(DIST, join(tree, "usr/sbin/rear"));
  must(["chmod", "755", join(tree, "usr/sbin/rear")]);
  writeFileSync(join(tree, "etc/rear/local.conf"), localConf);
  mkdirSync(join(tree, "var/lib/rear/recovery"), { recursive: true });
  writeFileSync(join(tree, "var/lib/rear/recovery/hostname"), `${LOG_HOST}\n`);
  return tree;
}

/** `rear -p recover --dry-run` from the tree with RECOVERY_UPDATE_URL in the environment (async: the servers answer meanwhile). */
async function dryRecover(tree: string, updateUrl: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = Bun.spawn([join(tree, "usr/sbin/rear"), "-p", "recover", "--dry-run"], {
    env: { ...process.env, RECOVERY_UPDATE_URL: updateUrl } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { stdout, stderr, code: await p.exited };
}

describe("through the binary", () => {
  test("rear -p recover --dry-run takes the update, reads the configuration again: the updated BACKUP_URL applies", async () => {
    const tree = portableTree("portable", `OUTPUT=ISO\nRECOVERY_UPDATE_CA=${join(base, "pki/ca.pem")}\n`);
    // the update brings a layout of a disk this machine does not have, and a configuration that names it
    files.set("e2e.tgz", archive("e2e", (d) => {
      mkdirSync(join(d, "etc/rear"), { recursive: true });
      mkdirSync(join(d, "var/lib/rear/layout"), { recursive: true });
      writeFileSync(join(d, "etc/rear/local.conf"), `OUTPUT=ISO\nRECOVERY_UPDATE_CA=${join(base, "pki/ca.pem")}\nBACKUP=NETFS\nBACKUP_URL=file:///var/tmp/rear-it-updated-backups\n`);
      // the machine the archive recovers: HOSTNAME, and with it NETFS_PREFIX, are its from now on
      mkdirSync(join(d, "var/lib/rear/recovery"), { recursive: true });
      writeFileSync(join(d, "var/lib/rear/recovery/hostname"), "web7\n");
      writeFileSync(join(d, "var/lib/rear/layout/disklayout.conf"), "disk /dev/rear-it-missing-disk 8589934592 gpt\npart /dev/rear-it-missing-disk 8587837440 1048576 rear-noname none /dev/rear-it-missing-disk1\nfs /dev/rear-it-missing-disk1 / ext4 uuid=0b1e2c1a-0000-4000-8000-000000000001 label=root blocksize=4096 reserved_blocks=5% max_mounts=-1 check_interval=0d bytes_per_inode=16384 default_mount_options=user_xattr,acl options=rw,relatime\n");
    }));
    const { stdout, stderr } = await dryRecover(tree, url("e2e.tgz"));
    const all = stdout + stderr;
    expect(all).toContain(`Updating the rescue system from ${url("e2e.tgz")} (the environment)`);
    expect(all).toContain("Read the configuration again after the update");
    expect(readFileSync(join(tree, "var/lib/rear/layout/disklayout.conf"), "utf8")).toContain("/dev/rear-it-missing-disk");
    expect(all).toContain(`Recovering web7 (the name in the update; this rescue system was made on ${LOG_HOST})`);
    // the updated configuration applies to this very recover: its BACKUP_URL is where verify looks, under the archive's hostname
    expect(all).toContain("ERROR: The backup archive /var/tmp/rear-it-updated-backups/web7/backup.tar.gz does not exist");
    const log = readFileSync(`/var/log/rear/rear-${LOG_HOST}.log`, "utf8");
    expect(log).toContain(`update: changed   ${join(tree, "etc/rear/local.conf")}`);
  }, 60_000);
  test("a signed update with a new rear binary: it replaces the running one, which runs the recover again", async () => {
    const tree = portableTree("selfupdate", `OUTPUT=ISO\nRECOVERY_UPDATE_SIGNERS=${join(base, "pki/allowed_signers")}\n`);
    const { stdout, stderr, code } = await dryRecover(tree, url("signed.tgz", serve()));
    expect(stdout + stderr).toContain("The update is signed by admin@fleet");
    expect(stdout + stderr).toContain(`The update replaced ${join(tree, "usr/sbin/rear")}: running it again for this recover`);
    // the new "rear" (a script in the signed archive) ran with the same words and knows it is the second run
    expect(stdout).toContain("new rear -p recover --dry-run updated=1");
    expect(readFileSync(join(tree, "usr/sbin/rear"), "utf8")).toContain("echo new rear");
    expect(code).toBe(0);
  }, 60_000);
});
