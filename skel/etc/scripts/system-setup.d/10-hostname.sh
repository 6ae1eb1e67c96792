# The host name of the recovered machine (ReaR's boot script), and the loopback interface.
[ -r /etc/hostname ] && hostname "$(cat /etc/hostname)"
ip link set dev lo up 2>/dev/null
true
