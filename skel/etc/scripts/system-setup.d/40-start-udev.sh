# Devices and drivers: udev creates /dev/disk/by-* and loads the drivers of the hardware it finds
# (modalias); the modules in /etc/modules (MODULES_LOAD, the host's initramfs modules) are loaded first,
# as ReaR's 40-start-udev-or-load-modules.sh. Without udev, every storage driver we carry is loaded.
if [ -r /etc/modules ]; then
    while read -r module args; do
        case "$module" in "" | "#"*) continue ;; esac
        modprobe "$module" $args 2>/dev/null || setup_warn "cannot load module $module"
    done </etc/modules
fi
udevd=""
for d in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd /sbin/udevd; do
    [ -x "$d" ] && udevd=$d && break
done
if [ -n "$udevd" ]; then
    setup_say "starting udev"
    mkdir -p /run/udev
    "$udevd" --daemon --resolve-names=never
    udevadm trigger --type=subsystems --action=add
    udevadm trigger --type=devices --action=add
    udevadm settle --timeout=60 || setup_warn "udev did not settle within 60 seconds"
else
    setup_warn "no udev in the rescue system: loading every driver it carries"
    for m in $(find /lib/modules/"$(uname -r)"/kernel/drivers -name '*.ko*' 2>/dev/null); do
        m=${m##*/}; modprobe "${m%%.ko*}" 2>/dev/null
    done
fi
# device-mapper is not requested by any hardware (ReaR loads it explicitly)
modprobe dm-mod 2>/dev/null
true
