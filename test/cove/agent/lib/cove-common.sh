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
# the sessions of this device, oldest first (a storage node over https, or a LocalSpeedVault directory)
sessions() {
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then
    ls "$lsv/$(conf device)" 2>/dev/null | sed -n 's/\.tar\.gz$//p' | sort -n
  else
    http "$(conf server)/storage/$(conf device)/sessions" | sort -n
  fi
}
fetch_session() { # TIME FILE
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then cp "$lsv/$(conf device)/$1.tar.gz" "$2"; else http -o "$2" "$(conf server)/storage/$(conf device)/$1.tar.gz"; fi
}
store_session() { # TIME FILE
  lsv=$(conf lsv)
  if [ -n "$lsv" ]; then mkdir -p "$lsv/$(conf device)" && cp "$2" "$lsv/$(conf device)/$1.tar.gz"; fi
  if [ -n "$(conf server)" ]; then http -T "$2" "$(conf server)/storage/$(conf device)/$1.tar.gz" >/dev/null; fi
}
