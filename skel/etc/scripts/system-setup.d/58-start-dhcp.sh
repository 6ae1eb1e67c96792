# DHCP in the rescue system (ReaR's 58-start-dhclient.sh). DHCP sets up the network when
#   - the kernel option 'dhcp' or ip=dhcp (ip=<device>:dhcp, ip=…:<device>:dhcp, dhcp6, on, any, …) is
#     given: a kernel option wins over the configuration;
#   - or else USE_DHCLIENT is true and USE_STATIC_NETWORKING is not (setup.conf, from rear mkrescue,
#     which turns USE_DHCLIENT on when the original system used DHCP);
# never with 'noip' or a static ip=… option. The verdict goes to /run/rear-setup/dhcp (yes or no) for
# 60-network-devices.sh and 62-routing.sh, which then leave the network to DHCP.
# The client (DHCLIENT_BIN: dhclient, dhcpcd or busybox's udhcpc) runs in the background on every NIC
# (or the one ip= names) with the script rear mkrescue wrote for it in /etc/scripts; the boot waits at
# most $dhcp_wait seconds for an address and goes on without one.
# 60-network-devices.sh sources this file with START_DHCP_ON="<devices>" for the interfaces that
# mappings/ip_addresses gives to DHCP: then it only starts the client on those.

dhcp_wait=30
dhcp_devices=""

# ip_option_fields VALUE: the fields of the kernel option ip=VALUE into the array F. The kernel's and
# dracut's form has colon-separated fields, an IPv6 address in brackets being one ([2001:db8::2]);
# ReaR's ip=<address> is one field, also when it is a bare IPv6 address.
ip_option_fields() {
    local s=$1 f
    F=()
    case "$s" in
        *[!0-9a-fA-F:/]*) ;;
        *:*)
            F=("$s")
            return
            ;;
    esac
    while :; do
        if [ "${s:0:1}" = "[" ]; then
            f=${s%%]*}
            f=${f#\[}
            s=${s#*]}
        else
            f=${s%%:*}
            s=${s#"$f"}
        fi
        F+=("$f")
        [ "${s:0:1}" = ":" ] || break
        s=${s:1}
    done
}

# ip_option_is_dhcp: the fields in F ask for DHCP: ip=dhcp, ip=<device>:dhcp[:<mtu>[:<mac>]] or
# ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<device>:dhcp (also on, any, dhcp6, auto6, either6)
ip_option_is_dhcp() {
    local a
    case ${#F[@]} in
        1) a=${F[0]} ;;
        2 | 3 | 4) a=${F[1]} ;;
        *) a=${F[6]} ;;
    esac
    case "$a" in
        dhcp | dhcp6 | on | any | auto6 | either6) return 0 ;;
    esac
    return 1
}
# dhcp_decide: DHCP sets up the network; ip=<device>:dhcp puts that device into dhcp_devices
dhcp_decide() {
    local opt
    cmdline_has noip && return 1
    opt=$(cmdline_value ip)
    if [ -n "$opt" ]; then
        ip_option_fields "$opt"
        # a static ip=…: 60-network-devices.sh sets that address up
        ip_option_is_dhcp || return 1
        case ${#F[@]} in
            1) ;;
            2 | 3 | 4) dhcp_devices=${F[0]} ;;
            *) dhcp_devices=${F[5]} ;;
        esac
        return 0
    fi
    cmdline_has dhcp && return 0
    is_true "$USE_DHCLIENT" && ! is_true "$USE_STATIC_NETWORKING"
}

# dhcp_client: the client program to run (DHCLIENT_BIN, else the first one there is)
dhcp_client() {
    local c
    for c in ${DHCLIENT_BIN:-} dhclient dhcpcd udhcpc; do
        c=${c##*/}
        if type -P "$c" >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# dhcp_start DEVICE: the client in the background on DEVICE
dhcp_start() {
    local dev=$1
    ip link set dev "$dev" up
    case "$client" in
        dhclient)
            dhclient -nw -sf /etc/scripts/dhclient-script -lf "/run/rear-setup/dhclient.$dev.leases" -pf "/run/rear-setup/dhclient.$dev.pid" "$dev"
            ;;
        dhcpcd)
            mkdir -p /var/lib/dhcpcd /run/dhcpcd
            dhcpcd -b -c /etc/scripts/dhcpcd-hook "$dev"
            ;;
        udhcpc)
            udhcpc -b -i "$dev" -s /etc/scripts/udhcpc-script -p "/run/rear-setup/udhcpc.$dev.pid"
            ;;
        *)
            setup_warn "DHCP: '$client' is not a DHCP client this rescue system can run (dhclient, dhcpcd, udhcpc)"
            return 1
            ;;
    esac
}

mkdir -p /run/rear-setup
if [ -n "${START_DHCP_ON:-}" ]; then
    dhcp_devices=$START_DHCP_ON
elif dhcp_decide; then
    echo yes >/run/rear-setup/dhcp
else
    echo no >/run/rear-setup/dhcp
    return 0
fi

if ! client=$(dhcp_client); then
    setup_warn "DHCP: there is no DHCP client program (dhclient, dhcpcd, udhcpc) in the rescue system: no network; boot with ip=<address>::<gateway>:<netmask>::<device>:off or set it up by hand"
    return 0
fi

# every NIC, a device backed by hardware (ReaR leaves out lo, tun, tap, … by name)
if [ -z "$dhcp_devices" ]; then
    for d in /sys/class/net/*; do
        [ -e "$d/device" ] && dhcp_devices+=" ${d##*/}"
    done
fi
if [ -z "${dhcp_devices// /}" ]; then
    setup_warn "DHCP: no network interface found"
    return 0
fi

# dhcp_addresses: "<device> <address>" of the global addresses the devices the client runs on have
dhcp_addresses() {
    local dev
    for dev in $started; do
        ip -o addr show dev "$dev" scope global 2>/dev/null | while read -r _ _ _ addr _; do
            echo "$dev $addr"
        done
    done
}

started=""
for dev in $dhcp_devices; do
    dhcp_start "$dev" && started+=" $dev"
done
[ -n "$started" ] || return 0
setup_say "DHCP: $client on$started, waiting up to $dhcp_wait seconds for an address"
for ((i = 0; i < dhcp_wait; i++)); do
    [ -n "$(dhcp_addresses)" ] && break
    sleep 1
done
got=$(dhcp_addresses)
if [ -n "$got" ]; then
    while read -r dev addr; do
        setup_say "DHCP: $dev has $addr"
    done <<<"$got"
else
    setup_warn "DHCP: no address after $dhcp_wait seconds; $client keeps trying in the background"
fi
true
