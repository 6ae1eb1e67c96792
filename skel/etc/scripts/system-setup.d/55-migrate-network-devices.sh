# The NICs of the original system on this machine (ReaR's 55-migrate-network-devices.sh).
# /etc/mac-addresses (from rear mkrescue) has "<interface> <MAC>" for each NIC 60-network-devices.sh
# sets up. For each of them:
#   - its MAC is here under the same name: nothing to do;
#   - its MAC is here under another name (other naming scheme, other slot): that name is used;
#   - its MAC is not here (other hardware): /etc/rear/mappings/mac ("<old MAC> <new MAC> [<interface>]")
#     says which NIC takes its place; without a line for it, when it is the only NIC missing and one
#     NIC here is unused, that one; otherwise the person at the console chooses. With the kernel option
#     'unattended' nobody is asked: as ReaR, the NICs are hoped to keep their order — a name that is
#     here stays, a name that is not takes the next unused NIC (in name order).
# What we chose: the new names are written into 60-network-devices.sh and 62-routing.sh with sed —
# every whole-word occurrence of an old name, also inside eth0.100 (VLAN) and eth0:1 (label), in two
# steps through placeholders so that names can swap (eth0 <-> eth1). ReaR edits udev persistent-net
# rules instead when the original system had them; the rescue system has no such rules.
# A MAC mapping chosen here (not a mere rename) is appended to /etc/rear/mappings/mac, as ReaR does,
# for migrating the recovered system's network configuration.
# REAR_TEST_ROOT (tests only): a directory that stands for / .

root=${REAR_TEST_ROOT:-}
orig_macs=$root/etc/mac-addresses
mac_map=$root/etc/rear/mappings/mac
net=$root/sys/class/net
scripts=("$root/etc/scripts/system-setup.d/60-network-devices.sh" "$root/etc/scripts/system-setup.d/62-routing.sh")
state=$root/run/rear-setup

[ -s "$orig_macs" ] || return 0
# once: afterwards the scripts carry the new names
[ -e "$state/network-renamed" ] && return 0
mkdir -p "$state"

# the NICs here (devices backed by hardware) by MAC, and their names in order
declare -A here=() taken=() new_name=()
here_names=()
for d in "$net"/*; do
    [ -e "$d/device" ] || continue
    read -r mac _ <"$d/address" || continue
    mac=${mac,,}
    [ "$mac" = 00:00:00:00:00:00 ] && continue
    here[$mac]=${d##*/}
    here_names+=("${d##*/}")
done

# mac_of NAME: the MAC of a NIC here
mac_of() {
    local m
    read -r m _ <"$net/$1/address"
    echo "${m,,}"
}

# unused: the NICs here no original NIC has taken yet
unused() {
    local n
    for n in "${here_names[@]}"; do
        [ -z "${taken[$n]:-}" ] && echo "$n"
    done
}

# take OLD NEW: the original NIC OLD is NEW here
take() {
    new_name[$1]=$2
    taken[$2]=1
}

missing=()
while read -r old mac _; do
    case "$old" in "" | "#"*) continue ;; esac
    mac=${mac,,}
    if [ -n "${here[$mac]:-}" ]; then
        take "$old" "${here[$mac]}"
    else
        missing+=("$old $mac")
    fi
done <"$orig_macs"

# chosen: MAC mappings made here, for /etc/rear/mappings/mac
chosen=()

if [ ${#missing[@]} -gt 0 ] && [ -r "$mac_map" ]; then
    still=()
    for m in "${missing[@]}"; do
        old=${m% *} mac=${m#* } new=""
        while read -r from to _; do
            case "$from" in "" | "#"*) continue ;; esac
            [ "${from,,}" = "$mac" ] && new=${here[${to,,}]:-}
        done <"$mac_map"
        if [ -n "$new" ] && [ -z "${taken[$new]:-}" ]; then
            take "$old" "$new"
            setup_say "network: $old ($mac) is $new here, as ${mac_map#"$root"} says"
        else
            still+=("$m")
        fi
    done
    missing=("${still[@]}")
fi

if [ ${#missing[@]} -eq 1 ]; then
    free=($(unused))
    if [ ${#free[@]} -eq 1 ]; then
        old=${missing[0]% *} mac=${missing[0]#* }
        take "$old" "${free[0]}"
        chosen+=("$mac $(mac_of "${free[0]}") $old")
        setup_say "network: the only missing NIC $old ($mac) is the only unused NIC here, ${free[0]} ($(mac_of "${free[0]}"))"
        missing=()
    fi
fi

for m in "${missing[@]}"; do
    old=${m% *} mac=${m#* }
    free=($(unused))
    if [ ${#free[@]} -eq 0 ]; then
        setup_warn "network: $old ($mac) of the original system is not here and no NIC is left to take its place"
        continue
    fi
    if unattended_recovery; then
        new=${free[0]}
        [ -e "$net/$old" ] && [ -z "${taken[$old]:-}" ] && new=$old
        setup_say "network: $old ($mac) is not here; unattended: $new takes its place"
    else
        echo "The NIC $old ($mac) of the original system is not here. Which NIC takes its place?"
        k=1
        for n in "${free[@]}"; do
            echo "  $k) $n ($(mac_of "$n"))"
            k=$((k + 1))
        done
        echo "  s) none: set up the network by hand"
        answer=""
        read -r -t 120 -p "Choice [1]: " answer || echo
        case "$answer" in
            s | S)
                setup_say "network: $old is not replaced; 60-network-devices.sh still names it"
                continue
                ;;
            "" | *[!0-9]*) new=${free[0]} ;;
            *) new=${free[answer - 1]:-${free[0]}} ;;
        esac
    fi
    take "$old" "$new"
    [ "$new" = "$old" ] || chosen+=("$mac $(mac_of "$new") $old")
done

if [ ${#chosen[@]} -gt 0 ]; then
    mkdir -p "${mac_map%/*}"
    printf '%s\n' "${chosen[@]}" >>"$mac_map"
fi

# the renames, applied to the scripts: old -> placeholder -> new
sed_old=() sed_new=() k=0
: >"$state/network-renames"
for old in "${!new_name[@]}"; do
    new=${new_name[$old]}
    [ "$new" = "$old" ] && continue
    echo "$old $new" >>"$state/network-renames"
    setup_say "network: the original $old is $new here"
    re=$(printf '%s' "$old" | sed 's/[].[^$*+?(){}|\\/]/\\&/g')
    # a whole name: not inside a longer one (eth1 in eth10), but eth0 in eth0.100 and eth0:1;
    # twice, because a match takes the character after it that the next one needs before it
    sed_old+=(-e "s/(^|[^[:alnum:]_-])$re([^[:alnum:]_-]|\$)/\\1<<REAR_IF_$k>>\\2/g")
    sed_old+=(-e "s/(^|[^[:alnum:]_-])$re([^[:alnum:]_-]|\$)/\\1<<REAR_IF_$k>>\\2/g")
    sed_new+=(-e "s/<<REAR_IF_$k>>/$(printf '%s' "$new" | sed 's/[\\&/]/\\&/g')/g")
    k=$((k + 1))
done
if [ $k -gt 0 ]; then
    for s in "${scripts[@]}"; do
        [ -e "$s" ] && sed -E -i "${sed_old[@]}" "${sed_new[@]}" "$s"
    done
fi
: >"$state/network-renamed"
true
