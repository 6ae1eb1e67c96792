# Helpers of the rescue system's boot scripts (sourced by system-setup and the setup steps).

# The kernel command line, read once. REAR_CMDLINE, when set, stands for it: the tests run the
# setup steps with the kernel options they need (noip, ip=…) on a machine booted with others.
KERNEL_CMDLINE_WORDS=" ${REAR_CMDLINE-$(cat /proc/cmdline 2>/dev/null)} "

# cmdline_has WORD: the kernel command line has WORD alone or as WORD=… (e.g. noip, unattended, debug)
cmdline_has() {
    case "$KERNEL_CMDLINE_WORDS" in
        *" $1 "* | *" $1="*) return 0 ;;
    esac
    return 1
}

# cmdline_value KEY: the value of the last KEY=value on the kernel command line (empty when absent)
cmdline_value() {
    local w v=""
    for w in $KERNEL_CMDLINE_WORDS; do
        case "$w" in "$1="*) v=${w#"$1="} ;; esac
    done
    printf '%s' "$v"
}

is_true() {
    case "$1" in [tT] | [yY] | [yY][eE][sS] | [tT][rR][uU][eE] | 1 | [oO][nN]) return 0 ;; esac
    return 1
}

# setup_say TEXT: progress of the boot on the console
setup_say() {
    echo "rescue: $*"
}

# setup_warn TEXT: something did not work; the boot goes on
setup_warn() {
    echo "rescue: WARNING: $*" >&2
}

unattended_recovery() { cmdline_has unattended; }
automatic_recovery() { cmdline_has auto_recover || cmdline_has automatic; }
rear_debug() { cmdline_has debug; }
