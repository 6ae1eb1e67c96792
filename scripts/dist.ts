// `npm run dist`: the archive vendors and admins unpack anywhere (/opt/MXB/rear, /usr/local, a USB stick):
// usr/sbin/rear, etc/rear/local.conf (an annotated example, every line a comment: a vendor's site.conf
// is read before it and must not be overridden), usr/share/doc/rear/{README.md,LICENSE}. The binary
// finds etc/rear beside it (src/config/paths.ts) and keeps its state in var/ of the same tree.
// Made with GNU tar: root-owned entries, sorted, one mtime: the same inputs give the same archive.

import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../src/version.ts";

const root = join(import.meta.dir, "..");
// REAR_DIST_BIN / REAR_DIST_OUT: another binary (the VM harness's frozen one) and another output directory
const dist = process.env.REAR_DIST_OUT || join(root, "dist");
const bin = process.env.REAR_DIST_BIN || join(root, "dist", "rear");
if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm run dist does)`);
mkdirSync(dist, { recursive: true });
const stage = join(dist, "stage");
rmSync(stage, { recursive: true, force: true });
const put = (from: string, to: string, mode: number) => {
  mkdirSync(join(stage, to, ".."), { recursive: true });
  copyFileSync(from, join(stage, to));
  chmodSync(join(stage, to), mode);
};
put(bin, "usr/sbin/rear", 0o755);
put(join(root, "conf/examples/local.conf"), "etc/rear/local.conf", 0o644);
put(join(root, "README.md"), "usr/share/doc/rear/README.md", 0o644);
put(join(root, "LICENSE"), "usr/share/doc/rear/LICENSE", 0o644);
const out = join(dist, `rear-${VERSION}-x86_64.tar.gz`);
const mtime = Math.floor(statSync(bin).mtimeMs / 1000);
const r = Bun.spawnSync(
  ["tar", "--owner=0", "--group=0", "--numeric-owner", "--sort=name", `--mtime=@${mtime}`, "-czf", `${out}.tmp`, "-C", stage, "etc", "usr"],
  { stdout: "inherit", stderr: "inherit" },
);
if (r.exitCode !== 0) throw new Error(`tar failed (exit ${r.exitCode})`);
// like every archive rear writes: readable by its owner only (it is copied into installers, not served)
chmodSync(`${out}.tmp`, 0o600);
Bun.spawnSync(["mv", "-f", `${out}.tmp`, out]);
rmSync(stage, { recursive: true, force: true });
console.log(`${out} (${Math.round(statSync(out).size / 1048576)} MiB): usr/sbin/rear, etc/rear/local.conf, usr/share/doc/rear/`);
