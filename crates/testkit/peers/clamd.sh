#!/usr/bin/env bash
# Runs ClamAV's daemon for the tests, in the foreground until killed:
#   bash crates/testkit/peers/clamd.sh DIR
# Its signature database is written here and holds one entry, the SHA-256 of the
# EICAR test file (freshclam cannot reach the internet, and the real database would
# take a minute and a gigabyte to load). It listens on the Unix socket DIR/clamd.sock.
set -euo pipefail
dir="$1"
mkdir -p "$dir/db"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
hash="$(printf '%s' "$eicar" | sha256sum | cut -d' ' -f1)"
printf '%s:%s:Palisade.Test.EICAR\n' "$hash" "${#eicar}" >"$dir/db/palisade-test.hdb"
cat >"$dir/clamd.conf" <<EOF
LocalSocket $dir/clamd.sock
DatabaseDirectory $dir/db
Foreground yes
LogFile $dir/clamd.log
PidFile $dir/clamd.pid
StreamMaxLength 30M
SelfCheck 0
EOF
exec /usr/sbin/clamd -c "$dir/clamd.conf"
