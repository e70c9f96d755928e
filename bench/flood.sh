#!/usr/bin/env bash
# Does a sign-in and password-reset flood starve the desk? One command:
#   bash bench/flood.sh
#   BENCH_DURATION=5 BENCH_ROUNDS=1 BENCH_BACKENDS=sqlite bash bench/flood.sh   (quick check)
#
# Per backend (SQLite, then PostgreSQL with durable commits): a fresh installation with
# 2,000 tickets (`seed`), `palisade serve` on loopback and an agent of team Support.
# Then, interleaved, BENCH_ROUNDS rounds of:
#   idle   the agent reads random tickets (`wrk`, 127.0.0.1), nothing else running
#   flood  the same reads while `floodload` keeps 50 sign-ins (wrong passwords, so
#          argon2 runs for each one a limit lets through) and 50 password resets in
#          flight, every attempt a new TLS connection from the next of 5,000 addresses in
#          127.1.0.0/16, for 2,000 unknown accounts and, one in ten, the agent's own
# The aim: the agent's p99 under the flood within 2× of idle. The report also counts
# what the flood made the server write: audit entries and queued mail per request.
# Results go to the flood section of bench/RESULTS.md (raw output in bench/last-run/flood/).
#
# Environment: BENCH_DURATION (s per round, 10), BENCH_CONNECTIONS (reads, 32),
# BENCH_THREADS (2), BENCH_ROUNDS (3), BENCH_BACKENDS ("sqlite postgres"),
# BENCH_FLOOD_SIGN_INS (50), BENCH_FLOOD_RESETS (50), BENCH_PERF (1: one more, unmeasured
# flooded round with `perf record` on the server, reports in bench/last-run/flood/), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
SCRIPT_NAME="bench/flood.sh"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

DURATION="${BENCH_DURATION:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
SIGN_INS="${BENCH_FLOOD_SIGN_INS:-50}"
RESETS="${BENCH_FLOOD_RESETS:-50}"
if command -v perf >/dev/null; then PERF="${BENCH_PERF:-0}"; else PERF=0; fi
for v in DURATION CONNECTIONS THREADS ROUNDS SIGN_INS RESETS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number"
done
((DURATION >= 1 && DURATION <= 600)) || die "BENCH_DURATION is 1 to 600 seconds"
PG_OPTS=""
PGBIN=""
PGDATA=""
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
export RUST_LIB_BACKTRACE=0
clear_palisade_env
for tool in wrk curl jq python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing (bash bench/run.sh installs wrk)"
done

STARTED_AT="$(date -u +%s)"
say "building (release)"
cargo build --release --quiet -p palisade -p palisade-bench
PALISADE="$CARGO_TARGET_DIR/release/palisade"

SERVER_PID=""
FLOOD_PID=""
CLEANUP_PIDS="FLOOD_PID SERVER_PID"
start_work palisade-flood-bench

{
    machine_facts
    echo "duration=$DURATION"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "rounds=$ROUNDS"
    echo "backends=$BACKENDS"
    echo "sign_ins=$SIGN_INS"
    echo "resets=$RESETS"
    echo "command=BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_ROUNDS=$ROUNDS BENCH_BACKENDS=\"$BACKENDS\" bash bench/flood.sh"
} >"$OUT/machine.env"

PASSWORD="bench-Quartz-Lantern-Meadow-$RANDOM$RANDOM"

# Rows the server has written that a flood can cause.
written() { # backend data db_url -> "audit outbox"
    local sql="SELECT (SELECT COUNT(*) FROM audit_log), (SELECT COUNT(*) FROM outbox)"
    if [[ "$1" == sqlite ]]; then
        python3 -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' \
            "$2/palisade.db" "$sql"
    else
        psql -XAtq -F ' ' "$3" -c "$sql"
    fi
}

bench_backend() {
    local backend="$1"
    CUR="$OUT/$backend"
    mkdir -p "$CUR"
    local data="$WORK/$backend-data"
    mkdir -p "$data"
    chmod 700 "$data"
    local db_url
    if [[ "$backend" == postgres ]]; then
        find_pgbin
        start_pg "$WORK/pg"
        db_url="$DB_URL"
        export PALISADE_DATABASE_URL="$db_url"
    else
        db_url="sqlite://$data/palisade.db?mode=rwc"
        unset PALISADE_DATABASE_URL
    fi
    PORT="$(free_port 21443)"
    BASE="https://127.0.0.1:$PORT"
    "$PALISADE" --data-dir "$data" admin create --email admin@bench.test --name "Bench Admin" \
        --public-origin "https://localhost:$PORT" >"$CUR/admin-create.txt" 2>&1 ||
        { cat "$CUR/admin-create.txt" >&2; die "admin create failed"; }
    local admin_setup
    admin_setup="$(grep -o '/setup/[A-Za-z0-9_-]*' "$CUR/admin-create.txt" | head -n1)"
    "$CARGO_TARGET_DIR/release/seed" --database-url "$db_url" --master-key-file "$data/master.key" --count 2000 \
        --ids-out "$CUR/ticket-ids.txt" --team-name Support >"$CUR/seed.txt"

    say "$backend: serve on 127.0.0.1:$PORT"
    "$PALISADE" --data-dir "$data" serve --listen "127.0.0.1:$PORT" >"$CUR/serve.log" 2>&1 &
    SERVER_PID=$!
    wait_health "$BASE/health" "$SERVER_PID" "palisade serve"
    local agent_token
    agent_token="$(agent_of_support "$admin_setup")"
    warm_up read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"

    local r before after
    for r in $(seq "$ROUNDS"); do
        run_wrk "idle-$r" read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
        before="$(written "$backend" "$data" "$db_url")"
        "$CARGO_TARGET_DIR/release/floodload" --target "127.0.0.1:$PORT" --cert "$data/tls/cert.pem" \
            --sign-ins "$SIGN_INS" --resets "$RESETS" --real-account agent@bench.test \
            --seconds $((DURATION + 3)) >"$CUR/flood-$r.json" 2>"$CUR/flood-$r.err" &
        FLOOD_PID=$!
        # The flood reaches its pace before the reads are measured.
        sleep 2
        run_wrk "flood-$r" read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
        wait "$FLOOD_PID" || die "floodload failed: $(tail -n 5 "$CUR/flood-$r.err")"
        FLOOD_PID=""
        # Reset requests finish in the background; give them a moment before counting.
        sleep 2
        after="$(written "$backend" "$data" "$db_url")"
        echo "$before $after" >"$CUR/written-$r.txt"
    done
    if [[ "$PERF" == 1 ]]; then
        "$CARGO_TARGET_DIR/release/floodload" --target "127.0.0.1:$PORT" --cert "$data/tls/cert.pem" \
            --sign-ins "$SIGN_INS" --resets "$RESETS" --real-account agent@bench.test \
            --seconds $((DURATION + 3)) >"$CUR/flood-perf.json" 2>/dev/null &
        FLOOD_PID=$!
        sleep 2
        perf_profile "$SERVER_PID" "$CUR" flood read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
        wait "$FLOOD_PID" || true
        FLOOD_PID=""
    fi
    awk '/^VmRSS/ {print "serve_rss_kb=" $2} /^VmHWM/ {print "serve_peak_rss_kb=" $2}' \
        "/proc/$SERVER_PID/status" >"$CUR/db.env" 2>/dev/null || true
    grep -c 'password reset request failed' "$CUR/serve.log" | sed 's/^/reset_failures=/' >>"$CUR/db.env" || true
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    stop_pg
    unset PALISADE_DATABASE_URL
    rm -f "$CUR/ticket-ids.txt" "$CUR/setup.html"
}

for backend in $BACKENDS; do
    case "$backend" in
        sqlite | postgres) bench_backend "$backend" ;;
        *) die "unknown backend '$backend' (sqlite or postgres)" ;;
    esac
done
echo "total_seconds=$(($(date -u +%s) - STARTED_AT))" >>"$OUT/machine.env"

rm -rf "$BENCH/last-run/flood"
mkdir -p "$BENCH/last-run"
cp -r "$OUT" "$BENCH/last-run/flood"
python3 "$BENCH/flood_report.py" "$OUT" "$BENCH/RESULTS.md"
say "results written to bench/RESULTS.md (raw output in bench/last-run/flood/)"
