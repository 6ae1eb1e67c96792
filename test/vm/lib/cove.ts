// BACKUP=COVE in the VM harness: the Backup Manager stand-in (test/cove) as Cove ships it. The host builds
// its makeself installer with rear's dist archive and the vendor's site.conf inside, and serves the
// installer, the device registration and the backup sessions over HTTPS on 127.0.0.1; the guests reach it
// as https://10.0.2.100 through QEMU's guestfwd. On the source machine the installer installs the Backup
// Manager into /opt/MXB (rear in /opt/MXB/rear); its BackupFP runs `rear mkrescue --json` from there with
// a bare environment (the "System state") and sends the files as a session. recover boots the rescue
// kernel with cove_token= on its line: the rescue system downloads the installer, installs it onto the
// recreated disks, and the Backup Manager restores the session. With includeAgent the Backup Manager is
// in the rescue image, the session also in a LocalSpeedVault on the backup disk, and the recover machine
// has no network at all.

import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildInstaller, makePki, serveStandIn, type StandInServer } from "../../cove/standin.ts";
import type { Job } from "./channel.ts";
import { OURS_BIN } from "./image.ts";
import { GUEST_ADDRESS } from "./qemu.ts";
import { sh } from "./sh.ts";

export const COVE_SERVER_IP = "10.0.2.100";
export const COVE_INSTALL_DIR = "/opt/MXB";
const DEVICE = "vm-source";

export interface CoveSetup {
  server: StandInServer;
  installer: string;
  storage: string;
  token: string;
}

/** The vendor's site.conf (the seed's lines), pointed at the stand-in server; the admin's local.conf is the scenario's. */
export function coveSiteConf(includeAgent: boolean): string {
  return [
    "BACKUP=COVE",
    "OUTPUT=ISO",
    'ISO_PREFIX="cove-rear"',
    "# static URL to CDN to download BM",
    `COVE_INSTALLER_URL="https://${COVE_SERVER_IP}/installer/mxb-linux-x86_64.run"`,
    "# it depends on the installer",
    `COVE_INSTALL_DIR="${COVE_INSTALL_DIR}"`,
    // the stand-in's storage has a private CA; the installer puts it beside the Backup Manager
    `COVE_INSTALLER_CA="${COVE_INSTALL_DIR}/etc/ca.pem"`,
    ...(includeAgent ? ["COVE_INCLUDE_AGENT=yes"] : []),
    "",
  ].join("\n");
}

/** Builds the installer (rear's dist archive of the binary under test inside) and starts the stand-in server. */
export async function startCove(dir: string, o: { token: string; includeAgent: boolean }): Promise<CoveSetup> {
  const work = join(dir, "cove");
  mkdirSync(work, { recursive: true });
  const pki = makePki(join(work, "pki"), [COVE_SERVER_IP]);
  await sh([process.execPath, join(import.meta.dir, "../../../scripts/dist.ts")], { env: { REAR_DIST_BIN: OURS_BIN, REAR_DIST_OUT: work } });
  const tarball = readdirSync(work).find((f) => /^rear-.*-x86_64\.tar\.gz$/.test(f));
  if (!tarball) throw new Error(`scripts/dist.ts wrote no archive into ${work}`);
  const installer = buildInstaller({
    work, installDir: COVE_INSTALL_DIR, server: `https://${COVE_SERVER_IP}`, caFile: pki.ca, rearTarball: join(work, tarball), siteConf: coveSiteConf(o.includeAgent),
    ...(o.includeAgent ? { lsv: { dir: "/mnt/lsv", device: "/dev/disk/by-label/REAR-000" } } : {}),
  });
  const storage = join(work, "storage");
  const server = serveStandIn({ tls: { cert: pki.cert, key: pki.key }, installer, token: o.token, device: DEVICE, storage });
  return { server, installer, storage, token: o.token };
}

/** Bytes of the sessions the Backup Manager stored (the backup's size). */
export function sessionBytes(c: CoveSetup): number {
  const d = join(c.storage, DEVICE);
  return readdirSync(d).filter((f) => f.endsWith(".tar.gz")).reduce((n, f) => n + statSync(join(d, f)).size, 0);
}

/**
 * The backup job on the source machine: the network to the stand-in, the Backup Manager installed from
 * its installer (the token in its name, as Cove's Unified Installation Flow), the admin's local.conf into
 * the bundle, the truth, then BackupFP -backup (rear mkrescue --json, then the files); the ISO out.
 */
export function coveBackupJob(c: CoveSetup, localConf: string, collectTruth: string, secretScan: string, secrets: string[]): Job {
  const name = `cove#v1#${c.token}#.run`;
  return {
    files: {
      "mxb.run": { copy: c.installer },
      "local.conf": localConf,
      "collect-truth.sh": collectTruth,
      ...(secrets.length ? { "secrets.txt": `${secrets.join("\n")}\n` } : {}),
    },
    script: `set -x
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set dev "$nic" up || exit 19
# the address (a DHCP client of the image may have set it already) and the default route
ip addr show dev "$nic" | grep -q "inet ${GUEST_ADDRESS}/" || ip addr add ${GUEST_ADDRESS}/24 dev "$nic" || exit 19
ip route show default | grep -q . || ip route add default via 10.0.2.2 || exit 19
job=$PWD
cp mxb.run '/root/${name}' && chmod 0700 '/root/${name}'
( cd /root && './${name}' --target /root/mxb-unpack ) > $HARNESS_OUT/install.out 2>&1 || { cat $HARNESS_OUT/install.out; exit 1; }
rm -rf '/root/${name}' /root/mxb-unpack
cp local.conf ${COVE_INSTALL_DIR}/rear/etc/rear/local.conf
${COVE_INSTALL_DIR}/rear/usr/sbin/rear --version > $HARNESS_OUT/tool-version 2>&1
bash ./collect-truth.sh $HARNESS_OUT/truth-before
${secretScan}t0=$(date +%s%N)
( ${COVE_INSTALL_DIR}/bin/BackupFP -backup ) > $HARNESS_OUT/backup.out 2>&1
echo $? > $HARNESS_OUT/backup-rc
echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/backup-ms
cp ${COVE_INSTALL_DIR}/rear/var/log/rear/rear-*.log ${COVE_INSTALL_DIR}/var/log/system-state.json ${COVE_INSTALL_DIR}/var/log/system-state.log $HARNESS_OUT/ 2>/dev/null
iso=${COVE_INSTALL_DIR}/rear/var/lib/rear/output/cove-rear.iso
if [ -f "$iso" ]; then
  cp "$iso" $HARNESS_OUT/rescue.iso || echo "cannot copy the rescue ISO" >&2
  sha256sum < "$iso" | cut -d' ' -f1 > $HARNESS_OUT/rescue.iso.sha256
fi
kill $(cat ${COVE_INSTALL_DIR}/var/run/ProcessController.pid) 2>/dev/null
echo "created after the backup: a recovery must not bring it back" > /root/recovery_will_remove_me
sync
test "$(cat $HARNESS_OUT/backup-rc)" = 0
`,
  };
}

/** What `rear mkrescue --json` printed for the Backup Manager matches the ISO that came out. */
export function mkrescueJsonProblem(jsonText: string | undefined, isoSha256: string): string | undefined {
  if (!jsonText) return "the Backup Manager kept no output of rear mkrescue --json";
  let j: { ok?: boolean; files?: { path: string; sha256: string }[] };
  try {
    j = JSON.parse(jsonText);
  } catch (e) {
    return `rear mkrescue --json printed no JSON: ${(e as Error).message}: ${jsonText.slice(0, 200)}`;
  }
  if (!j.ok) return `rear mkrescue --json says ok=${j.ok}`;
  const iso = j.files?.find((f) => f.path.endsWith("/cove-rear.iso"));
  if (!iso) return `rear mkrescue --json names no cove-rear.iso: ${JSON.stringify(j.files)}`;
  return iso.sha256 === isoSha256 ? undefined : `the JSON's sha256 ${iso.sha256} is not the ISO's ${isoSha256}`;
}

export function readIfAny(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}
