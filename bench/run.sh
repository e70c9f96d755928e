#!/usr/bin/env bash
# Palisade's ticket benchmark, one command:
#   bash bench/run.sh [N]          (N tickets to load first, default 100000)
#
# For each backend (SQLite, then PostgreSQL): a fresh data directory (and a throwaway
# PostgreSQL cluster on 127.0.0.1), N tickets loaded straight through the store
# (`seed`), `palisade serve` on loopback, an administrator and an agent in team Support
# set up through the real setup links and API. Then `wrk` measures, on 127.0.0.1 only:
#   bare   GET /ticket on `bare`, a bare axum handler on the same TLS setup (baseline)
#   read   GET /api/v1/tickets/<random seeded id> as the agent
#   create POST /api/v1/tickets as the agent
# bare and read run interleaved (bare, read, bare, read, ...), then create; medians of
# BENCH_ROUNDS rounds go to bench/RESULTS.md (raw wrk output in bench/last-run/).
#
# Environment:
#   BENCH_DURATION     seconds per wrk run (default 15)
#   BENCH_CONNECTIONS  wrk connections (default 32)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_ROUNDS       rounds per scenario (default 3)
#   BENCH_BACKENDS     "sqlite postgres" (default), or one of them
#   BENCH_PG_OPTS      extra postgres -c options (default: none, i.e. durable commits;
#                      scripts/test.sh uses "-c fsync=off -c synchronous_commit=off")
#   BENCH_FSYNC_PROBE  1 (default) runs pg_test_fsync briefly to record the disk's sync rate
#   BENCH_PERF         1 (default when `perf` exists) profiles one extra, unmeasured read and
#                      create run of the server with `perf record` (99 Hz) for RESULTS.md
#   CARGO_TARGET_DIR   build directory (default /var/cache/palisade/target)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
SCRIPT_NAME="bench/run.sh"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

N="${1:-100000}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
DURATION="${BENCH_DURATION:-15}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_OPTS="${BENCH_PG_OPTS:-}"
FSYNC_PROBE="${BENCH_FSYNC_PROBE:-1}"
if command -v perf >/dev/null; then PERF="${BENCH_PERF:-1}"; else PERF=0; fi
for v in DURATION CONNECTIONS THREADS ROUNDS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer"
done
((DURATION <= 600)) || die "BENCH_DURATION is capped at 600 seconds"
COMMAND="bash bench/run.sh${*:+ $*}"
ENV_USED="BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_ROUNDS=$ROUNDS"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
export RUST_LIB_BACKTRACE=0 # short anyhow errors from seed/bare
# Only the settings this script passes explicitly may reach palisade.
clear_palisade_env

if [[ $EUID -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi

# --- tools -------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    say "installing wrk"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk ||
        { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }
fi
for tool in wrk curl jq python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

STARTED_AT="$(date -u +%s)"
say "building (release)"
cargo build --release --quiet -p palisade -p palisade-bench
PALISADE="$CARGO_TARGET_DIR/release/palisade"
SEED="$CARGO_TARGET_DIR/release/seed"
BARE="$CARGO_TARGET_DIR/release/bare"

# --- state and cleanup ---------------------------------------------------------
SERVER_PID=""
BARE_PID=""
PGBIN=""
PGDATA=""
CLEANUP_PIDS="BARE_PID SERVER_PID"
start_work palisade-bench

# --- machine --------------------------------------------------------------------
{
    machine_facts
    echo "wrk=$(wrk -v 2>&1 | head -n1)"
    echo "rustc=$(rustc --version 2>/dev/null || true)"
    echo "n=$N"
    echo "duration=$DURATION"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "rounds=$ROUNDS"
    echo "command=$ENV_USED $COMMAND"
    echo "sqlite_sync=$(grep -o 'PRAGMA synchronous = [A-Z]*' "$ROOT/crates/store/src/db.rs" | head -n1 | awk '{print $4}')"
} >"$OUT/machine.env"

if [[ "$FSYNC_PROBE" == 1 ]]; then
    probe="$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_test_fsync | sort -V | tail -n1)"
    if [[ -x "$probe" ]]; then
        say "measuring this disk's sync rate (pg_test_fsync, about 20 s)"
        timeout 120 "$probe" -s 1 -f "$WORK/fsync.probe" >"$OUT/pg_test_fsync.txt" 2>&1 || true
        rm -f "$WORK/fsync.probe"
    fi
fi

profile() { perf_profile "$SERVER_PID" "$CUR" "$@"; }

PASSWORD="bench-Quartz-Lantern-Meadow-$RANDOM$RANDOM"

# --- one backend -------------------------------------------------------------------
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
        say "postgres: starting a throwaway cluster"
        start_pg "$WORK/pg"
        db_url="$DB_URL"
        {
            echo "pg_version=$("$PGBIN/postgres" --version)"
            for s in fsync synchronous_commit wal_sync_method full_page_writes shared_buffers; do
                echo "pg_$s=$(psql -XAtq "$db_url" -c "SHOW $s")"
            done
        } >"$CUR/db.env"
        export PALISADE_DATABASE_URL="$db_url"
    else
        db_url="sqlite://$data/palisade.db?mode=rwc"
        unset PALISADE_DATABASE_URL
        echo "sqlite_version=$(sqlite3 --version 2>/dev/null | awk '{print $1}')" >"$CUR/db.env"
    fi

    PORT="$(free_port 18443)"
    BASE="https://127.0.0.1:$PORT"

    say "$backend: admin create"
    "$PALISADE" --data-dir "$data" admin create --email admin@bench.test --name "Bench Admin" \
        --public-origin "https://localhost:$PORT" >"$CUR/admin-create.txt" 2>&1 ||
        { cat "$CUR/admin-create.txt" >&2; die "admin create failed"; }
    local admin_setup
    admin_setup="$(grep -o '/setup/[A-Za-z0-9_-]*' "$CUR/admin-create.txt" | head -n1)"
    [[ -n "$admin_setup" ]] || die "no setup link in: $(cat "$CUR/admin-create.txt")"

    say "$backend: seeding $N tickets"
    local t0 t1
    t0="$(date +%s.%N)"
    "$SEED" --database-url "$db_url" --master-key-file "$data/master.key" --count "$N" \
        --ids-out "$CUR/ticket-ids.txt" --customers-out "$CUR/customer-ids.txt" --team-name Support |
        tee "$CUR/seed.txt" >&2
    t1="$(date +%s.%N)"
    echo "seed_seconds=$(python3 -c "print(round($t1 - $t0, 1))")" >>"$CUR/db.env"

    say "$backend: serve on 127.0.0.1:$PORT"
    "$PALISADE" --data-dir "$data" serve --listen "127.0.0.1:$PORT" >"$CUR/serve.log" 2>&1 &
    SERVER_PID=$!
    wait_health "$BASE/health" "$SERVER_PID" "palisade serve"

    local agent_token
    agent_token="$(agent_of_support "$admin_setup")"
    # Sanity: the agent reads a seeded ticket.
    api GET "/api/v1/tickets/$(head -n1 "$CUR/ticket-ids.txt")" "$agent_token" >"$CUR/sample-ticket.json"
    echo "ticket_view_bytes=$(wc -c <"$CUR/sample-ticket.json")" >>"$CUR/db.env"

    local bare_port
    bare_port="$(free_port $((PORT + 1000)))"
    "$BARE" --listen "127.0.0.1:$bare_port" --cert "$data/tls/cert.pem" --key "$data/tls/key.pem" \
        >"$CUR/bare.log" 2>&1 &
    BARE_PID=$!
    wait_health "https://127.0.0.1:$bare_port/ticket" "$BARE_PID" "bare"
    curl -ks "https://127.0.0.1:$bare_port/ticket" >"$CUR/sample-bare.json"
    echo "bare_view_bytes=$(wc -c <"$CUR/sample-bare.json")" >>"$CUR/db.env"

    local bare_url="https://127.0.0.1:$bare_port/ticket"
    echo "server_pid=$SERVER_PID" >>"$CUR/db.env"
    echo "bare_pid=$BARE_PID" >>"$CUR/db.env"
    if [[ "$backend" == postgres ]]; then
        echo "pg_pid=$(head -n1 "$PGDATA/postmaster.pid")" >>"$CUR/db.env"
    fi

    say "$backend: warm-up"
    warm_up bare.lua "$bare_url"
    warm_up read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
    local r
    statements_reset "$backend" "$db_url"
    for r in $(seq "$ROUNDS"); do
        run_wrk "bare-$r" bare.lua "$bare_url"
        run_wrk "read-$r" read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
    done
    statements_report "$backend" "$db_url" read
    for r in $(seq "$ROUNDS"); do
        run_wrk "create-$r" create.lua "$BASE" "$CUR/customer-ids.txt" "$agent_token"
    done
    statements_report "$backend" "$db_url" create
    if [[ "$PERF" == 1 ]]; then
        profile read read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
        profile create create.lua "$BASE" "$CUR/customer-ids.txt" "$agent_token"
    fi
    local stats_sql="SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM search_terms), (SELECT COUNT(*) FROM audit_log), (SELECT COUNT(*) FROM search_pending)"
    local stats
    if [[ "$backend" == sqlite ]]; then
        echo "sqlite_journal_mode=$(sqlite3 "$data/palisade.db" 'PRAGMA journal_mode' 2>/dev/null || echo '?')" >>"$CUR/db.env"
        echo "wal_bytes=$(stat -c %s "$data/palisade.db-wal" 2>/dev/null || echo 0)" >>"$CUR/db.env"
        stats="$(sqlite3 -separator ' ' "$data/palisade.db" "$stats_sql" 2>/dev/null || echo '? ? ? ?')"
    else
        stats="$(psql -XAtq -F ' ' "$db_url" -c "$stats_sql" 2>/dev/null || echo '? ? ? ?')"
    fi
    local n_tickets n_terms n_audit n_pending
    read -r n_tickets n_terms n_audit n_pending <<<"$stats"
    {
        echo "pending_texts=$n_pending"
        echo "tickets_after=$n_tickets"
        echo "audit_rows=$n_audit"
        echo "terms_per_ticket=$(python3 -c "print(round($n_terms / $n_tickets, 1))" 2>/dev/null || echo '?')"
    } >>"$CUR/db.env"

    # Memory of `serve` after every scenario: resident now and the peak (kB).
    awk '/^VmRSS/ {print "serve_rss_kb=" $2} /^VmHWM/ {print "serve_peak_rss_kb=" $2}' \
        "/proc/$SERVER_PID/status" >>"$CUR/db.env" 2>/dev/null || true
    stop_pid "$BARE_PID"
    BARE_PID=""
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    stop_pg
    unset PALISADE_DATABASE_URL
    rm -f "$CUR/ticket-ids.txt" "$CUR/customer-ids.txt" "$CUR/setup.html"
}

for backend in $BACKENDS; do
    case "$backend" in
        sqlite | postgres) bench_backend "$backend" ;;
        *) die "unknown backend '$backend' (sqlite or postgres)" ;;
    esac
done

echo "total_seconds=$(($(date -u +%s) - STARTED_AT))" >>"$OUT/machine.env"
python3 "$BENCH/report.py" report "$OUT" "$BENCH/RESULTS.md"
rm -rf "$BENCH/last-run"
cp -r "$OUT" "$BENCH/last-run"
say "results written to bench/RESULTS.md (raw output in bench/last-run/)"
