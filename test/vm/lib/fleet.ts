// One rescue image for many machines (RECOVERY_UPDATE_URL) in the VM harness: a generic rescue ISO made on
// another machine (a builder guest: its own disks, hostname fleet-iso, a NIC with the harness address),
// whose kernel options name https://10.0.2.100/{uuid}.tar.gz; the host serves each machine's OUTPUT=PORTABLE
// archive there over HTTPS (a CA made here, its certificate for 10.0.2.100), reached by the guest only
// through QEMU's guestfwd to a port on 127.0.0.1 — nothing else leaves the guest (restrict=on).

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Job } from "./channel.ts";
import { runInBuilder } from "./builder.ts";
import type { GuestImage } from "./image.ts";
import { OURS_BIN } from "./image.ts";
import { GUEST_ADDRESS } from "./qemu.ts";
import { sh } from "./sh.ts";

/** Where the rescue system finds the update server: an address on QEMU's user network that guestfwd forwards. */
export const UPDATE_SERVER_IP = "10.0.2.100";
export const FLEET_URL = `https://${UPDATE_SERVER_IP}/{uuid}.tar.gz`;

/** The generic ISO's configuration: NETFS from a REAR-000 disk like the fleet's, automatic unattended
 *  recovery, the update URL as a kernel option, the private CA. */
export function fleetLocalConf(): string {
  return [
    "OUTPUT=ISO",
    "BACKUP=NETFS",
    "BACKUP_URL=usb:///dev/disk/by-label/REAR-000",
    // the builder has no REAR-000 disk: OUTPUT_URL would default to BACKUP_URL and the copy fail (as in ReaR)
    "OUTPUT_URL=null",
    "BOOTLOADER=GRUB2",
    "ISO_DEFAULT=automatic",
    "ISO_RECOVER_MODE=unattended",
    "USER_INPUT_TIMEOUT=10",
    "FIRMWARE_FILES=( no )",
    "SSH_FILES=no",
    `KERNEL_CMDLINE+=" console=ttyS0,115200 recovery_update_url=${FLEET_URL}"`,
    "RECOVERY_UPDATE_CA=/etc/rear/update-ca.pem",
    "RECOVERY_UPDATE_WAIT=180",
    "",
  ].join("\n");
}

/** Job in the builder: the network the rescue system replays, our rear, mkrescue, the ISO out. */
export function fleetIsoJob(caPem: string): Job {
  return {
    files: { "local.conf": fleetLocalConf(), "update-ca.pem": caPem, "rear-ours": { copy: OURS_BIN } },
    script: `set -x
hostname fleet-iso && echo fleet-iso > /etc/hostname
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set dev "$nic" up && ip addr add ${GUEST_ADDRESS}/24 dev "$nic" && ip route add default via 10.0.2.2 || exit 19
install -m 0755 ./rear-ours /usr/local/sbin/rear
rm -rf /etc/rear && mkdir -p /etc/rear && cp local.conf /etc/rear/local.conf && cp update-ca.pem /etc/rear/update-ca.pem
/usr/local/sbin/rear -v mkrescue > $HARNESS_OUT/mkrescue.out 2>&1
echo $? > $HARNESS_OUT/mkrescue-rc
cp /var/lib/rear/output/*.iso $HARNESS_OUT/fleet.iso
test "$(cat $HARNESS_OUT/mkrescue-rc)" = 0
`,
  };
}

export interface UpdateServer {
  port: number;
  caPem: string;
  /** "GET /path 200" per request */
  requests: string[];
  stop(): void;
}

/** A CA and a certificate for UPDATE_SERVER_IP (openssl), and an HTTPS server on 127.0.0.1 serving `files`. */
export async function startUpdateServer(dir: string, files: Map<string, Uint8Array>): Promise<UpdateServer> {
  const pki = join(dir, "pki");
  mkdirSync(pki, { recursive: true });
  const o = (args: string) => sh(["bash", "-c", `cd '${pki}' && ${args}`]);
  await o("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=rear-harness-update-ca 2>/dev/null");
  await o(`openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=${UPDATE_SERVER_IP} 2>/dev/null`);
  await o(`printf 'subjectAltName=IP:${UPDATE_SERVER_IP}\\n' > san.ext && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 30 -extfile san.ext 2>/dev/null`);
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(join(pki, "srv.pem"), "utf8"), key: readFileSync(join(pki, "srv.key"), "utf8") },
    fetch(req) {
      const path = new URL(req.url).pathname;
      const body = files.get(path);
      requests.push(`${req.method} ${path} ${body ? 200 : 404}`);
      return body ? new Response(body) : new Response("no such archive\n", { status: 404 });
    },
  });
  return { port: server.port!, caPem: readFileSync(join(pki, "ca.pem"), "utf8"), requests, stop: () => server.stop(true) };
}

/** The generic rescue ISO, made on the fleet's ISO machine; its path, or why not. */
export async function makeFleetIso(o: { image: GuestImage; dir: string; accel: "kvm" | "tcg"; say: (m: string) => void; caPem: string; firmware: "bios" | "uefi" }): Promise<{ iso: string; ms: number } | { failure: string; ms: number }> {
  o.say("fleet: making the generic rescue ISO on another machine (fleet-iso: the builder's disks, a NIC, RECOVERY_UPDATE_URL as a kernel option)");
  const r = await runInBuilder({ image: o.image, dir: o.dir, name: "fleet-iso", job: fleetIsoJob(o.caPem), accel: o.accel, timeoutSec: 1500, say: o.say, outSizeMiB: 600, nic: true, firmware: o.firmware });
  const iso = join(r.job.dir, "fleet.iso");
  if (r.job.exitCode === 0 && existsSync(iso)) return { iso, ms: r.vm.durationMs };
  const out = existsSync(join(r.job.dir, "mkrescue.out")) ? readFileSync(join(r.job.dir, "mkrescue.out"), "utf8") : r.job.log;
  return { failure: `mkrescue on the fleet's ISO machine ${r.job.exitCode === undefined ? "did not finish" : `exited ${r.job.exitCode}`}: ${out.trim().split("\n").slice(-3).join(" / ")}`, ms: r.vm.durationMs };
}
