# Shared by the stand-in Backup Manager's programs (test/cove/README.md). Sourced, not run.
INSTALL=$(cd "$(dirname "$0")/.." && pwd)
CONF="$INSTALL/etc/config.ini"
STATE="$INSTALL/var/state"
PIDFILE="$INSTALL/var/run/ProcessController.pid"
conf() { sed -n "s/^$1=//p" "$CONF" 2>/dev/null | head -n 1; }
log() { mkdir -p "$INSTALL/var/log"; echo "$(date '+%F %T') $*" >> "$INSTALL/var/log/BackupManager.log"; }
# the Backup Manager brings its own HTTP client and certificates (curl and its libraries, run by their loader)
http() {
  "$INSTALL/lib/ld-linux-x86-64.so.2" --library-path "$INSTALL/lib" "$INSTALL/lib/curl" -fsS --cacert "$INSTALL/etc/ca.pem" \
    -H "Authorization: Bearer $(conf key)" "$@"
}
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
# a LocalSpeedVault on a local disk: mounted for each use when it is not (ro: to read, rw: to store) and
# unmounted afterwards (a disk left mounted would become part of the machine's layout)
lsv_ready() {
  lsv=$(conf lsv) dev=$(conf lsv_device) LSV_MOUNTED=""
  [ -n "$lsv" ] || return 0
  if [ -n "$dev" ] && ! grep -q " $lsv " /proc/mounts; then mkdir -p "$lsv" && mount -o "$1" "$dev" "$lsv" && LSV_MOUNTED=1 || return 1; fi
}
lsv_done() { [ -z "$LSV_MOUNTED" ] || umount "$(conf lsv)"; LSV_MOUNTED=""; }
# the sessions of this device, oldest first (a storage node over https, or a LocalSpeedVault directory)
sessions() {
  lsv_ready ro || return 1
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then
    ls "$lsv/$(conf device)" 2>/dev/null | sed -n 's/\.tar\.gz$//p' | sort -n
    lsv_done
  else
    http "$(conf server)/storage/$(conf device)/sessions" | sort -n
  fi
}
fetch_session() { # TIME FILE
  lsv_ready ro || return 1
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then cp "$lsv/$(conf device)/$1.tar.gz" "$2"; rc=$?; lsv_done; return $rc; fi
  http -o "$2" "$(conf server)/storage/$(conf device)/$1.tar.gz"
}
store_session() { # TIME FILE
  lsv_ready rw || return 1
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then mkdir -p "$lsv/$(conf device)" && cp "$2" "$lsv/$(conf device)/$1.tar.gz"; rc=$?; lsv_done; [ $rc -eq 0 ] || return $rc; fi
  if [ -n "$(conf server)" ]; then http -T "$2" "$(conf server)/storage/$(conf device)/$1.tar.gz" >/dev/null; fi
}
