// A real backup host for the integration tests: a network namespace of its own (reached over a veth
// pair, 10.231.N.0/30: nothing leaves the machine), an OpenSSH server in it with a generated host key
// that accepts root by a generated client key only, and an rsync daemon beside it. rear is pointed at
// the key the way its users do it without touching /root/.ssh: RSYNC_RSH="ssh -F <config>" for rsync
// (rear uses it for its own ssh checks too), and ssh options in BACKUP_OPTIONS for sshfs. ssh ignores
// $HOME (it reads the passwd entry), so a temporary HOME cannot carry the configuration.
// stop() ends both servers by their PIDs and deletes the namespace; call it in afterAll.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

export interface BackupHost {
  /** the server's address, inside the namespace */
  addr: string;
  /** the rsync daemon's port (not 873: a URL's port is tested with it) */
  rsyncPort: number;
  /** the rsync daemon's module, its directory */
  module: string;
  moduleDir: string;
  /** environment for rear: RSYNC_RSH with the generated ssh configuration */
  env: Record<string, string>;
  /** ssh options for sshfs (BACKUP_OPTIONS), comma-separated */
  sshfsOptions: string;
  /** ssh as rear's tests use it, for checks from the test */
  ssh: string[];
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

/** What must be installed (Debian: openssh-server, openssh-client, rsync, sshfs, acl, attr). */
export function missingTools(): string[] {
  return [SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/rsync", "/usr/bin/sshfs", "/usr/bin/setfacl", "/usr/bin/getfattr"].filter((p) => !existsSync(p));
}

async function waitFor(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s`);
}

/**
 * Starts the backup host. `slot` (0–3) keeps the namespaces of test files run in one process apart;
 * the pid keeps concurrent test processes apart.
 */
export async function startBackupHost(base: string, slot: number): Promise<BackupHost> {
  const missing = missingTools();
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: apt-get install openssh-server openssh-client rsync sshfs acl attr`);
  const n = ((process.pid % 60) * 4 + slot) % 250;
  const ns = `rear-it-ssh-${process.pid}-${slot}`;
  const veth = `rs${process.pid % 100000}x${slot}`;
  const hostAddr = `10.231.${n}.1`;
  const addr = `10.231.${n}.2`;
  const dir = join(base, "sshhost");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const procs: { pid: number; exited: Promise<number> }[] = [];
  let createdRunSshd = false;
  let nsMade = false;
  const stop = async () => {
    for (const p of procs.reverse()) {
      try {
        process.kill(p.pid, "SIGTERM");
      } catch {}
      await Promise.race([p.exited, Bun.sleep(5000)]);
    }
    if (nsMade) {
      // the sessions sshd started for the tests end with their connections; any left are in the namespace
      for (const pid of run(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGTERM");
        } catch {}
      }
      run(["ip", "netns", "del", ns]);
    }
    if (createdRunSshd) rmSync("/run/sshd", { recursive: true, force: true });
  };
  try {
    must(["ip", "netns", "add", ns]);
    nsMade = true;
    must(["ip", "link", "add", veth, "type", "veth", "peer", "name", `${veth}p`, "netns", ns]);
    must(["ip", "addr", "add", `${hostAddr}/30`, "dev", veth]);
    must(["ip", "link", "set", veth, "up"]);
    must(["ip", "-n", ns, "addr", "add", `${addr}/30`, "dev", `${veth}p`]);
    must(["ip", "-n", ns, "link", "set", `${veth}p`, "up"]);
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);

    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rear-it-host", "-f", join(dir, "host_key")]);
    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rear-it-client", "-f", join(dir, "id_ed25519")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "id_ed25519.pub")), { mode: 0o600 });
    writeFileSync(join(dir, "known_hosts"), `${addr} ${readFileSync(join(dir, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `ListenAddress ${addr}`, "Port 22", `HostKey ${join(dir, "host_key")}`, `PidFile ${join(dir, "sshd.pid")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no", "Subsystem sftp internal-sftp", "LogLevel VERBOSE", "",
      ].join("\n"),
    );
    // the client side: only this key, only this host key
    const config = join(dir, "ssh_config");
    writeFileSync(
      config,
      [
        "Host *", `  IdentityFile ${join(dir, "id_ed25519")}`, "  IdentitiesOnly yes", `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
        "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes", "  ConnectTimeout 10", "  LogLevel ERROR",
        // the default post-quantum key exchange doubles the time of a connection here (0.6 s, not 0.3 s); the tests make dozens
        "  KexAlgorithms curve25519-sha256", "",
      ].join("\n"),
    );
    // sshd's privilege separation directory (made by the ssh service, which does not run here)
    if (!existsSync("/run/sshd")) {
      mkdirSync("/run/sshd", { mode: 0o755 });
      createdRunSshd = true;
    }
    must([SSHD, "-t", "-f", join(dir, "sshd_config")]);
    const sshd = Bun.spawn(["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", join(dir, "sshd_config")], { stdout: "ignore", stderr: Bun.file(join(dir, "sshd.log")), stdin: "ignore" });
    procs.push(sshd);

    const moduleDir = join(base, "rsyncd-module");
    mkdirSync(moduleDir, { recursive: true });
    const rsyncPort = 8730;
    writeFileSync(
      join(dir, "rsyncd.conf"),
      [
        `pid file = ${join(dir, "rsyncd.pid")}`, `log file = ${join(dir, "rsyncd.log")}`, "use chroot = yes",
        "[rear]", `  path = ${moduleDir}`, "  read only = no", "  uid = 0", "  gid = 0", "  numeric ids = yes", "",
      ].join("\n"),
    );
    const rsyncd = Bun.spawn(["ip", "netns", "exec", ns, "rsync", "--daemon", "--no-detach", `--config=${join(dir, "rsyncd.conf")}`, `--address=${addr}`, `--port=${rsyncPort}`], {
      stdout: "ignore", stderr: Bun.file(join(dir, "rsyncd.stderr")), stdin: "ignore",
    });
    procs.push(rsyncd);

    // BatchMode is not in the configuration: rear must add it itself
    const ssh = ["ssh", "-F", config, "-o", "BatchMode=yes"];
    await waitFor("sshd", () => run([...ssh, `root@${addr}`, "true"]).code === 0);
    await waitFor("the rsync daemon", () => run(["rsync", `rsync://${addr}:${rsyncPort}/`]).code === 0);
    return {
      addr, rsyncPort, module: "rear", moduleDir, ssh, stop,
      env: { RSYNC_RSH: `ssh -F ${config}` },
      sshfsOptions: `IdentityFile=${join(dir, "id_ed25519")},IdentitiesOnly=yes,UserKnownHostsFile=${join(dir, "known_hosts")},GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes`,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
