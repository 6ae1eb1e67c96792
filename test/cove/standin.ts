// The Cove Backup Manager stand-in (test only; README.md beside this file): builds its makeself installer
// and serves it, the device registration and the backup sessions over real HTTPS. Used by the
// integration test on this machine and by the VM harness (through QEMU's guestfwd).

import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const HERE = import.meta.dir;

function sh(cmd: string, cwd?: string): string {
  const r = Bun.spawnSync(["bash", "-c", cmd], { ...(cwd ? { cwd } : {}), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** A CA and a server certificate for `names` (IP addresses or DNS names), made by openssl in `dir`. */
export function makePki(dir: string, names: readonly string[]): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  sh(
    [
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=cove-standin-ca 2>/dev/null",
      `openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=${names[0]} 2>/dev/null`,
      `printf 'subjectAltName=${san}\\n' > san.ext`,
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 30 -extfile san.ext 2>/dev/null",
    ].join(" && "),
    dir,
  );
  return { ca: join(dir, "ca.pem"), cert: readFileSync(join(dir, "srv.pem"), "utf8"), key: readFileSync(join(dir, "srv.key"), "utf8") };
}

/** curl and its libraries, with their loader, for the agent's lib/ (the Backup Manager brings its own runtime). */
function bundleCurl(lib: string): void {
  const ldd = sh("ldd /usr/bin/curl");
  for (const line of ldd.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+ld-linux\S*)/.exec(line);
    if (m) copyFileSync(m[1]!, join(lib, basename(m[1]!)));
  }
  const loader = /^\s*(\/\S*ld-linux-x86-64\.so\.2)/m.exec(ldd)?.[1] ?? "/lib64/ld-linux-x86-64.so.2";
  copyFileSync(loader, join(lib, "ld-linux-x86-64.so.2"));
  copyFileSync("/usr/bin/curl", join(lib, "curl"));
}

export interface InstallerOptions {
  work: string;
  /** where it installs (the Backup Manager's predefined directory, e.g. /opt/MXB) */
  installDir: string;
  /** https://host:port of the stand-in server as the installed agent reaches it */
  server: string;
  caFile: string;
  /** rear's dist archive and the vendor's site.conf, installed into <installDir>/rear */
  rearTarball?: string;
  siteConf?: string;
  /** a LocalSpeedVault: sessions are also kept there, and found there only (no network needed); `device`
   *  is mounted on `dir` when it is not (read-only for a restore) */
  lsv?: { dir: string; device: string };
}

/** Builds the installer with Debian's makeself; returns its path. */
export function buildInstaller(o: InstallerOptions): string {
  const stage = join(o.work, "installer-stage");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "agent"), { recursive: true });
  cpSync(join(HERE, "agent"), join(stage, "agent"), { recursive: true });
  bundleCurl(join(stage, "agent", "lib"));
  copyFileSync(join(HERE, "installer", "setup.sh"), join(stage, "setup.sh"));
  copyFileSync(o.caFile, join(stage, "ca.pem"));
  writeFileSync(join(stage, "install-dir"), o.installDir);
  writeFileSync(join(stage, "server"), o.server);
  if (o.lsv) writeFileSync(join(stage, "lsv"), `lsv=${o.lsv.dir}\nlsv_device=${o.lsv.device}\n`);
  if (o.rearTarball) {
    copyFileSync(o.rearTarball, join(stage, "rear.tar.gz"));
    writeFileSync(join(stage, "site.conf"), o.siteConf ?? "");
  }
  const out = join(o.work, "mxb-linux-x86_64.run");
  sh(`makeself --nox11 --quiet --needroot ${JSON.stringify(stage)} ${JSON.stringify(out)} "Backup Manager (stand-in)" ./setup.sh`);
  return out;
}

export interface StandInServer {
  url: string;
  port: number;
  /** what was asked, in order: "GET /installer/…", "POST /register ok", … */
  requests: string[];
  stop(): void;
}

/**
 * The stand-in's server: the installer, device registration by token, and session storage per device.
 * `storage` holds <device>/<time>.tar.gz.
 */
export function serveStandIn(o: { tls: { cert: string; key: string }; installer: string; token: string; device: string; storage: string; hostname?: string; port?: number }): StandInServer {
  const key = `key-${crypto.randomUUID()}`;
  const requests: string[] = [];
  mkdirSync(join(o.storage, o.device), { recursive: true });
  const server = Bun.serve({
    hostname: o.hostname ?? "127.0.0.1",
    port: o.port ?? 0,
    tls: o.tls,
    maxRequestBodySize: 4 * 2 ** 30,
    async fetch(req) {
      const u = new URL(req.url);
      const p = u.pathname;
      if (req.method === "GET" && p === `/installer/${basename(o.installer)}`) {
        requests.push(`GET ${p}`);
        return new Response(Bun.file(o.installer));
      }
      if (req.method === "POST" && p === "/register") {
        const ok = (await req.text()) === o.token;
        requests.push(`POST /register ${ok ? "ok" : "refused"}`);
        return ok ? new Response(`device=${o.device}\nkey=${key}\n`) : new Response("token refused\n", { status: 403 });
      }
      const m = /^\/storage\/([^/]+)\/(sessions|[0-9A-Za-z_-]+\.tar\.gz)$/.exec(p);
      if (m) {
        if (req.headers.get("authorization") !== `Bearer ${key}` || m[1] !== o.device) {
          requests.push(`${req.method} ${p} unauthorized`);
          return new Response("unauthorized\n", { status: 401 });
        }
        requests.push(`${req.method} ${p}`);
        const dir = join(o.storage, o.device);
        if (m[2] === "sessions" && req.method === "GET") {
          return new Response(readdirSync(dir).filter((f) => f.endsWith(".tar.gz")).map((f) => `${f.slice(0, -7)}\n`).join(""));
        }
        const file = join(dir, m[2]!);
        if (req.method === "GET") return existsSync(file) ? new Response(Bun.file(file)) : new Response("no such session\n", { status: 404 });
        if (req.method === "PUT") {
          await Bun.write(`${file}.part`, new Uint8Array(await req.arrayBuffer()));
          Bun.spawnSync(["mv", `${file}.part`, file]);
          return new Response(`stored ${statSync(file).size}\n`);
        }
      }
      requests.push(`${req.method} ${p} 404`);
      return new Response("not found\n", { status: 404 });
    },
  });
  return { url: `https://${o.hostname ?? "127.0.0.1"}:${server.port}`, port: server.port!, requests, stop: () => server.stop(true) };
}
