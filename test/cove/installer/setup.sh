#!/bin/sh
# Stand-in Backup Manager installer's startup script (makeself runs it in the unpacked directory).
# The installation token comes from the installer's own name, cove#v1#<token>#.run (Unified
# Installation Flow); the install directory and the storage are baked in at build time.
set -e
INSTALL=$(cat ./install-dir)
SERVER=$(cat ./server)
case "$ARCHIVE_DIR" in /*) dir=$ARCHIVE_DIR ;; *) dir="$USER_PWD/$ARCHIVE_DIR" ;; esac
self=$(ls "$dir" | grep '^cove#v1#.*#\.run$' | head -n 1 || true)
token=${self#cove#v1#}
token=${token%#.run}
[ -n "$self" ] && [ -n "$token" ] || { echo "No installation token: the installer's name must be cove#v1#<token>#.run" >&2; exit 3; }
mkdir -p "$INSTALL/bin" "$INSTALL/lib" "$INSTALL/etc" "$INSTALL/var/log" "$INSTALL/var/run" "$INSTALL/var/requests" "$INSTALL/temp"
cp -a ./agent/bin/. "$INSTALL/bin/"
cp -a ./agent/lib/. "$INSTALL/lib/"
cp ./ca.pem "$INSTALL/etc/ca.pem"
# the token registers this device; the Backup Manager keeps the key it gets, never the token
reg=$(printf '%s' "$token" | "$INSTALL/lib/ld-linux-x86-64.so.2" --library-path "$INSTALL/lib" "$INSTALL/lib/curl" -fsS --cacert "$INSTALL/etc/ca.pem" --data-binary @- "$SERVER/register") \
  || { echo "The installation token was not accepted by $SERVER" >&2; exit 4; }
umask 077
{ echo "server=$SERVER"; echo "$reg"; [ ! -f ./lsv ] || cat ./lsv; } > "$INSTALL/etc/config.ini"
umask 022
# rear comes with the Backup Manager (its dist archive and the vendor's site.conf)
if [ -f ./rear.tar.gz ]; then
  mkdir -p "$INSTALL/rear"
  tar -xzf ./rear.tar.gz -C "$INSTALL/rear"
  cp ./site.conf "$INSTALL/rear/etc/rear/site.conf"
fi
"$INSTALL/bin/ProcessController" </dev/null >>"$INSTALL/var/log/ProcessController.out" 2>&1 &
echo "Backup Manager installed into $INSTALL (device $(echo "$reg" | sed -n 's/^device=//p'))"
