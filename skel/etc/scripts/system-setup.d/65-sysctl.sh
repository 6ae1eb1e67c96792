# The host's sysctl settings, where they apply (ReaR's 65-sysctl.sh).
sysctl -e -q -p /etc/sysctl.conf >/dev/null 2>&1
true
