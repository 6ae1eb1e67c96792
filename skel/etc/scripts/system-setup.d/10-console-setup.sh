# The keyboard of the console (ReaR's 10-console-setup): KEYMAP when it was set at mkrescue (its keymap
# file is in the rescue system), else this machine's keyboard as dumpkeys saw it at mkrescue.
command -v loadkeys >/dev/null 2>&1 || return 0
if [ -n "$KEYMAP" ]; then
    loadkeys -q "$KEYMAP" 2>/dev/null || setup_warn "cannot load the keymap $KEYMAP"
elif [ -s /etc/dumpkeys.out ]; then
    loadkeys -q /etc/dumpkeys.out 2>/dev/null || setup_warn "cannot load /etc/dumpkeys.out (the keyboard is the kernel's default, US)"
fi
true
