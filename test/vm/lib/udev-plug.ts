// The laptop of the ReaR talk (shared/seeds/rear-talk-stackconf-2024.txt), in the VM harness: the backup disk
// is a USB stick plugged into the running source machine (QEMU's xHCI controller, `device_add` on the
// monitor). The job formats it with `rear format`, installs the udev rule (`rear udev --install-rule`),
// asks the harness to unplug it and plug it in again, and then only waits: udev runs `rear udev`, which
// starts UDEV_WORKFLOW (mkbackup) detached; the job takes that run's exit code from its log.

import type { Job } from "./channel.ts";

/** Serial-console texts the job prints and the harness answers with a monitor command. */
export const PLUG = { first: "HARNESS: plug the stick", unplug: "HARNESS: unplug the stick", again: "HARNESS: plug the stick again" } as const;

export function plugSteps(disk: { file: string; format?: string }): { waitFor: string; command: string }[] {
  const add = "device_add usb-storage,bus=xhci0.0,drive=hot0,id=stick,removable=on,serial=rearstick";
  return [
    { waitFor: PLUG.first, command: add },
    { waitFor: PLUG.unplug, command: "device_del stick" },
    // unplugging a device deletes the -drive behind it (QEMU's auto-delete of legacy drives): the second
    // device_add answered "Property 'usb-storage.drive' can't find value 'hot0'" and no stick came back
    { waitFor: PLUG.again, command: `drive_add 0 if=none,id=hot0,file=${disk.file},format=${disk.format ?? "raw"}\n${add}` },
  ];
}

/** The bash of the backup job between the truth and the ISO/USB collection: the whole udev path. */
export function udevPlugScript(o: { install: string; before: string; timeoutSec: number }): string {
  return `${o.install}mkdir -p /etc/rear
cp local.conf /etc/rear/local.conf
rear --version > $HARNESS_OUT/tool-version 2>&1
usbdisk() { lsblk -dnpo NAME,TRAN | awk '$2=="usb"{print $1}' | head -n 1; }
echo "${PLUG.first}" > /dev/ttyS0
for i in $(seq 120); do d=$(usbdisk); [ -n "$d" ] && break; sleep 1; done
[ -n "$d" ] || { echo "no USB disk appeared"; exit 1; }
lsblk -dno NAME,RM,TRAN,SIZE "$d"
# a USB stick is removable: --yes formats it without the typed confirmation (as ReaR)
rear -v format -- --yes "$d" > $HARNESS_OUT/format.out 2>&1 || { echo "rear format failed"; cat $HARNESS_OUT/format.out; exit 1; }
udevadm settle
# the rule only now: the partitions rear format made were "add" events too
rear udev --install-rule > $HARNESS_OUT/udev-rule.out 2>&1 && udevadm control --reload || exit 1
cat /etc/udev/rules.d/62-rear-usb.rules
echo "${PLUG.unplug}" > /dev/ttyS0
for i in $(seq 60); do [ -z "$(usbdisk)" ] && break; sleep 1; done
[ -z "$(usbdisk)" ] || { echo "the stick did not go away"; exit 1; }
${o.before}t0=$(date +%s%N)
echo "${PLUG.again}" > /dev/ttyS0
# udev runs rear udev, which starts rear mkbackup detached: wait for that run's end in its log
rc=""
for i in $(seq ${o.timeoutSec}); do
  l=$(grep -l "rear udev: running 'rear -v" /var/log/rear/rear-*.log 2>/dev/null | head -n 1)
  if [ -n "$l" ]; then rc=$(sed -n "s/.*rear [a-z]* exited \\([0-9]*\\)$/\\1/p" "$l" | tail -n 1); fi
  [ -n "$rc" ] && break
  sleep 1
done
echo "\${rc:-timeout}" > $HARNESS_OUT/backup-rc
echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/backup-ms
{ echo "udev-started run (log $l), exit \${rc:-none}"; cat $l 2>/dev/null; } > $HARNESS_OUT/backup.out
journalctl -b --no-pager 2>/dev/null | grep -i "rear" | tail -n 40 >> $HARNESS_OUT/backup.out
`;
}
