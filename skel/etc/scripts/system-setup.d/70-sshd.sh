# SSH access to the rescue system when it was built with sshd (ReaR's run-sshd): host keys are made
# here, at boot — the host's private keys are not in the rescue system unless asked for.
command -v sshd >/dev/null 2>&1 || return 0
cmdline_has nossh && return 0
mkdir -p /run/sshd /etc/ssh && chmod 0755 /run/sshd
for t in ed25519 rsa ecdsa; do
    [ -f /etc/ssh/ssh_host_${t}_key ] || ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key
done
# sshd re-executes itself and refuses to start unless called by its absolute path
sshd=$(command -v sshd)
if "$sshd" -t; then
    "$sshd" && setup_say "sshd started"
    for t in ed25519 rsa ecdsa; do
        ssh-keygen -l -f /etc/ssh/ssh_host_${t}_key.pub 2>/dev/null | sed 's/^/SSH host key fingerprint: /' >>/etc/issue
    done
else
    setup_warn "sshd's configuration does not work: no SSH access"
fi
true
