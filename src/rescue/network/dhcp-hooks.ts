// The scripts the DHCP clients run in the rescue system to apply a lease: ReaR ships its own
// dhclient-script and dhcpcd.sh (skel/default/bin/) because the distributions' ones need their whole
// network-scripts machinery. These use `ip` only. 58-start-dhcp.sh passes them to the client
// (dhclient -sf, dhcpcd -c, udhcpc -s). Pure text.

/** Where each client's script goes in the rescue tree. */
export const DHCP_HOOK_PATHS = {
  dhclient: "/etc/scripts/dhclient-script",
  dhcpcd: "/etc/scripts/dhcpcd-hook",
  udhcpc: "/etc/scripts/udhcpc-script",
} as const;

const HEAD = `#!/bin/bash
PATH=/bin:/sbin:/usr/bin:/usr/sbin

# write_resolv_conf NAMESERVERS DOMAIN SEARCH: /etc/resolv.conf from a lease (a new file moved over the
# old one, which may be a symlink into a /run directory that is not there)
write_resolv_conf() {
    local ns
    [ -n "$1" ] || return 0
    {
        if [ -n "$3" ]; then echo "search $3"; elif [ -n "$2" ]; then echo "search $2"; fi
        for ns in $1; do echo "nameserver $ns"; done
    } >/etc/resolv.conf.dhcp && mv -f /etc/resolv.conf.dhcp /etc/resolv.conf
}
`;

/** dhclient-script(8): $reason, $interface and the lease in new_* (old_* for the previous one). */
const DHCLIENT = `${HEAD}
# The script ISC dhclient runs in the rescue system (dhclient -sf): applies the lease with ip.
# The default route is added 'onlink': a /32 lease (clouds) has its router outside the subnet.
case "$reason" in
    PREINIT | PREINIT6)
        ip link set dev "$interface" up
        ;;
    BOUND | RENEW | REBIND | REBOOT)
        if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
            ip -4 addr flush dev "$interface" scope global
        fi
        ip -4 addr replace "$new_ip_address/\${new_subnet_mask:-255.255.255.0}" \${new_broadcast_address:+broadcast "$new_broadcast_address"} dev "$interface"
        if [ -n "$new_interface_mtu" ] && [ "$new_interface_mtu" -ge 576 ]; then
            ip link set dev "$interface" mtu "$new_interface_mtu"
        fi
        for router in $new_routers; do
            ip -4 route replace default via "$router" dev "$interface" onlink
            break
        done
        write_resolv_conf "$new_domain_name_servers" "$new_domain_name" "$new_domain_search"
        ;;
    EXPIRE | FAIL | RELEASE | STOP)
        if [ -n "$old_ip_address" ]; then
            ip -4 addr del "$old_ip_address/\${old_subnet_mask:-255.255.255.0}" dev "$interface"
        fi
        ;;
    BOUND6 | RENEW6 | REBIND6 | REBOOT6)
        if [ -n "$new_ip6_address" ]; then
            ip -6 addr replace "$new_ip6_address/\${new_ip6_prefixlen:-128}" dev "$interface"
        fi
        write_resolv_conf "$new_dhcp6_name_servers" "" "$new_dhcp6_domain_search"
        ;;
    EXPIRE6 | RELEASE6 | STOP6)
        if [ -n "$old_ip6_address" ]; then
            ip -6 addr del "$old_ip6_address/\${old_ip6_prefixlen:-128}" dev "$interface"
        fi
        ;;
    TIMEOUT)
        # no server answered: there is no old lease in a rescue system worth falling back to
        exit 1
        ;;
esac
exit 0
`;

/** dhcpcd-run-hooks(8): dhcpcd sets up addresses and routes itself; $reason and new_* as dhclient's. */
const DHCPCD = `${HEAD}
# The hook dhcpcd runs in the rescue system (dhcpcd -c): dhcpcd sets up the address and routes
# itself, this writes /etc/resolv.conf.
case "$reason" in
    BOUND | RENEW | REBIND | REBOOT | INFORM | STATIC)
        write_resolv_conf "$new_domain_name_servers" "$new_domain_name" "$new_domain_search"
        ;;
    BOUND6 | RENEW6 | REBIND6 | REBOOT6 | INFORM6)
        write_resolv_conf "$new_dhcp6_name_servers" "" "$new_dhcp6_domain_search"
        ;;
esac
exit 0
`;

/** busybox udhcpc: $1 is the event; the lease in $ip, $subnet, $broadcast, $router, $dns, $domain, $search, $mtu. */
const UDHCPC = `${HEAD}
# The script busybox udhcpc runs in the rescue system (udhcpc -s): applies the lease with ip.
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface" scope global
        ip link set dev "$interface" up
        ;;
    bound | renew)
        ip -4 addr replace "$ip/\${subnet:-255.255.255.0}" \${broadcast:+broadcast "$broadcast"} dev "$interface"
        if [ -n "$mtu" ] && [ "$mtu" -ge 576 ]; then
            ip link set dev "$interface" mtu "$mtu"
        fi
        for r in $router; do
            ip -4 route replace default via "$r" dev "$interface" onlink
            break
        done
        write_resolv_conf "$dns" "$domain" "$search"
        ;;
esac
exit 0
`;

export const DHCP_HOOKS: Record<keyof typeof DHCP_HOOK_PATHS, string> = { dhclient: DHCLIENT, dhcpcd: DHCPCD, udhcpc: UDHCPC };
