#!/usr/bin/env bash
# Palisade's SMTP benchmark, one command:
#   bash bench/smtp.sh
#
# Messages per second accepted end to end over SMTP by `palisade serve` — the strict
# reading, SPF verification against a local DNS server (dnsmasq on 127.0.0.1), the
# placement (a new customer account on first mail, a new ticket per message),
# encryption and the audit trail, all committed before the 250 — with 1, 8 and 64
# concurrent senders, and the time from the end of DATA to the 250 (median and p99).
# Beside it, in the same run and interleaved, the same load against two baselines:
# `smtpbare`, an SMTP server with the same runtime and DATA framing that accepts
# everything and does nothing, and Debian's Postfix (installed if missing), an instance
# of its own on a loopback port, relay-free, taking mail for desk.test into its discard
# transport (each message still queued and fsynced before the 250, no checks at all). The load generator is `smtpload` (bench/src/bin), sending
# from 127.0.0.2, which the test zone's SPF record authorises. Results go into the
# SMTP section of bench/RESULTS.md (raw JSON lines in bench/last-run/smtp/).
#
# Environment:
#   BENCH_DURATION   seconds per run (default 15)
#   BENCH_ROUNDS     rounds per (target, senders) pair (default 3)
#   BENCH_SENDERS    concurrent senders to try (default "1 8 64")
#   BENCH_BACKENDS   "sqlite postgres" (default), or one of them
#   BENCH_PG_OPTS    extra postgres -c options (default none: durable commits)
#   CARGO_TARGET_DIR build directory (default /var/cache/palisade/target)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
SCRIPT_NAME="bench/smtp.sh"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

DURATION="${BENCH_DURATION:-15}"
ROUNDS="${BENCH_ROUNDS:-3}"
SENDERS="${BENCH_SENDERS:-1 8 64}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_OPTS="${BENCH_PG_OPTS:-}"
for v in DURATION ROUNDS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer"
done
((DURATION <= 600)) || die "BENCH_DURATION is capped at 600 seconds"
for s in $SENDERS; do [[ "$s" =~ ^[1-9][0-9]*$ && "$s" -le 200 ]] || die "senders must be 1..200"; done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
clear_palisade_env
DNSMASQ=/usr/sbin/dnsmasq
if [[ ! -x "$DNSMASQ" ]]; then
    if [[ $EUID -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    say "installing dnsmasq-base"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dnsmasq-base
fi
if [[ ! -x /usr/sbin/postfix ]]; then
    if [[ $EUID -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    say "installing postfix (no system configuration: the benchmark runs its own instance)"
    echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix
fi
for tool in python3 cargo; do command -v "$tool" >/dev/null || die "$tool is missing"; done

STARTED_AT="$(date -u +%s)"
say "building (release)"
cargo build --release --quiet -p palisade -p palisade-bench
PALISADE="$CARGO_TARGET_DIR/release/palisade"
LOAD="$CARGO_TARGET_DIR/release/smtpload"
SMTPBARE="$CARGO_TARGET_DIR/release/smtpbare"

SERVER_PID="" BARE_PID="" DNS_PID="" PGBIN="" PGDATA="" POSTFIX_CONF=""

# shellcheck disable=SC2317  # invoked by finish_work
stop_postfix() { [[ -z "$POSTFIX_CONF" ]] || postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1; }
CLEANUP_PIDS="SERVER_PID BARE_PID DNS_PID"
CLEANUP_HOOK=stop_postfix
start_work palisade-smtp-bench

wait_port() { # port pid what
    for _ in $(seq 300); do
        port_in_use "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited before listening on $1"
        sleep 0.1
    done
    die "$3 did not listen on $1 within 30 s"
}

{
    machine_facts
    echo "duration=$DURATION"
    echo "rounds=$ROUNDS"
    echo "senders=$SENDERS"
    echo "command=BENCH_DURATION=$DURATION BENCH_ROUNDS=$ROUNDS bash bench/smtp.sh"
} >"$OUT/machine.env"

DNS_PORT="$(free_port 15353)"
"$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address=127.0.0.1 --port="$DNS_PORT" --pid-file= --log-facility=- --cache-size=0 --local=/test/ \
    '--txt-record=customer.test,v=spf1 ip4:127.0.0.2 -all' >"$WORK/dnsmasq.log" 2>&1 &
DNS_PID=$!
wait_port "$DNS_PORT" "$DNS_PID" dnsmasq

BARE_PORT="$(free_port 12525)"
"$SMTPBARE" --listen "127.0.0.1:$BARE_PORT" >"$WORK/smtpbare.log" 2>&1 &
BARE_PID=$!
wait_port "$BARE_PORT" "$BARE_PID" smtpbare

# Postfix as a baseline: its own configuration, queue and log under $WORK, listening on
# 127.0.0.1 only, relaying nothing, mail for desk.test discarded once it is queued.
start_postfix() { # port
    local dir="$WORK/postfix" port="$1"
    mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    cat >"$dir/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = mx.desk.test
mydestination =
relay_domains = desk.test
relay_recipient_maps =
transport_maps = inline:{ desk.test=discard:silently }
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_count_limit = 0
smtpd_peername_lookup = no
default_process_limit = 300
CF
    cat >"$dir/conf/master.cf" <<CF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
    postfix -c "$dir/conf" check >"$WORK/postfix-check.log" 2>&1 ||
        { cat "$WORK/postfix-check.log" "$dir/maillog" >&2 2>/dev/null; die "postfix check failed"; }
    postfix -c "$dir/conf" start >/dev/null 2>&1 || { cat "$dir/maillog" >&2 2>/dev/null; die "postfix did not start"; }
    POSTFIX_CONF="$dir/conf"
    for _ in $(seq 300); do
        port_in_use "$port" && break
        sleep 0.1
    done
    port_in_use "$port" || die "postfix did not listen on $port within 30 s"
    echo "postfix_version=$(postconf -c "$dir/conf" -h mail_version)" >>"$OUT/machine.env"
}
POSTFIX_PORT="$(free_port 12725)"
start_postfix "$POSTFIX_PORT"

load() { # port senders label -> one JSON line appended to $CUR/<label>.jsonl
    local port="$1" senders="$2" label="$3"
    timeout $((DURATION + 120)) "$LOAD" --server "127.0.0.1:$port" --source-ip 127.0.0.2 --senders "$senders" \
        --duration "$DURATION" --domain customer.test --rcpt support@desk.test \
        --run "$label-$(date +%s%N)" >>"$CUR/$label.jsonl" 2>"$CUR/$label.err" ||
        { cat "$CUR/$label.err" >&2; die "load generator failed for $label"; }
    say "$label: $(tail -n1 "$CUR/$label.jsonl")"
}

bench_backend() {
    local backend="$1"
    CUR="$OUT/$backend"
    mkdir -p "$CUR"
    local data="$WORK/$backend-data"
    mkdir -p "$data"
    chmod 700 "$data"
    if [[ "$backend" == postgres ]]; then
        find_pgbin
        say "postgres: starting a throwaway cluster"
        start_pg "$WORK/pg"
        export PALISADE_DATABASE_URL="$DB_URL"
        echo "pg_version=$("$PGBIN/postgres" --version)" >"$CUR/db.env"
    else
        unset PALISADE_DATABASE_URL
        echo "sqlite_synchronous=FULL" >"$CUR/db.env"
    fi
    local https_port smtp_port
    https_port="$(free_port 18443)"
    smtp_port="$(free_port 12625)"
    cat >"$WORK/$backend.toml" <<TOML
listen = "127.0.0.1:$https_port"

[smtp]
listen = "127.0.0.1:$smtp_port"
hostname = "mx.desk.test"
nameservers = ["127.0.0.1:$DNS_PORT"]
max_connections = 512
max_connections_per_ip = 256
messages_per_minute_per_ip = 100000000

[[mailbox]]
address = "support@desk.test"
team = "Support"
TOML
    # The administrator's creation also creates the team the mailbox belongs to.
    "$PALISADE" --config "$WORK/$backend.toml" --data-dir "$data" admin create --email admin@desk.test \
        --name "Bench Admin" >"$CUR/admin-create.txt" 2>&1 || { cat "$CUR/admin-create.txt" >&2; die "admin create"; }
    "$PALISADE" --config "$WORK/$backend.toml" --data-dir "$data" serve >"$CUR/serve.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$smtp_port" "$SERVER_PID" "palisade serve (SMTP)"
    # Warm-up (unmeasured): creates the first customers, fills caches.
    BENCH_WARM="$CUR/warm"
    timeout 120 "$LOAD" --server "127.0.0.1:$smtp_port" --source-ip 127.0.0.2 --senders 8 --duration 3 \
        --domain customer.test --rcpt support@desk.test --run "warm-$backend" >"$BENCH_WARM.jsonl" 2>&1 ||
        { cat "$BENCH_WARM.jsonl" >&2; die "warm-up failed"; }
    for round in $(seq "$ROUNDS"); do
        for senders in $SENDERS; do
            load "$BARE_PORT" "$senders" "bare-$senders"
            load "$POSTFIX_PORT" "$senders" "postfix-$senders"
            load "$smtp_port" "$senders" "palisade-$senders"
        done
        say "$backend: round $round of $ROUNDS done"
    done
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    stop_pg
    unset PALISADE_DATABASE_URL
}

for backend in $BACKENDS; do
    case "$backend" in sqlite | postgres) bench_backend "$backend" ;; *) die "unknown backend $backend" ;; esac
done
echo "whole_run_seconds=$(($(date -u +%s) - STARTED_AT))" >>"$OUT/machine.env"

rm -rf "$BENCH/last-run/smtp"
mkdir -p "$BENCH/last-run"
cp -r "$OUT" "$BENCH/last-run/smtp"
python3 "$BENCH/smtp_report.py" "$OUT" "$BENCH/RESULTS.md"
say "results written to the SMTP section of bench/RESULTS.md (raw output in bench/last-run/smtp/)"
