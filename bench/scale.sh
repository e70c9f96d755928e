#!/usr/bin/env bash
# Palisade at scale, one command:
#   bash bench/scale.sh            (10,000 and then 1,000,000 tickets, on PostgreSQL)
#   BENCH_SCALE_SIZES="10000 100000" BENCH_DURATION=5 BENCH_ROUNDS=1 bash bench/scale.sh   (quick check)
#
# For each size, from scratch: a throwaway PostgreSQL cluster on 127.0.0.1 (durable
# commits), `palisade admin create`, the tickets written through the store's bulk path
# (`seed --bulk`: authorised, sealed, audited, 5,000 per transaction, their words
# merged into the term index), BENCH_SCALE_ARTICLES published help articles (`helpseed`),
# `palisade serve` on loopback and an agent of team Support. Then `wrk` measures,
# BENCH_ROUNDS rounds each, with p50 and p99:
#   read    GET /api/v1/tickets/<random seeded id>
#   search  GET /api/v1/tickets/search: two common words (many hits) or one reference
#   create  POST /api/v1/tickets
# After the rounds: one short, unmeasured run of each scenario with auto_explain logging
# the plans (ANALYZE, BUFFERS) of a sample of statements; the plans of each scenario's
# heaviest statements (pg_stat_statements, measured rounds) go to RESULTS.md, with
# the database's size and `serve`'s resident memory. The smallest size is the baseline:
# the aim is each scenario's p99 at the largest size within 1.5× of it.
#
# Environment: BENCH_SCALE_SIZES (default "10000 1000000"), BENCH_SCALE_ARTICLES (10000),
# BENCH_DURATION (s per wrk run, 10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_ROUNDS (3), CARGO_TARGET_DIR. About 45 minutes on 2 cores with the defaults:
# the million tickets take 5 minutes to write and about 30 more to merge their words
# into the term index.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
SCRIPT_NAME="bench/scale.sh"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

SIZES="${BENCH_SCALE_SIZES:-10000 1000000}"
ARTICLES="${BENCH_SCALE_ARTICLES:-10000}"
DURATION="${BENCH_DURATION:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
for v in DURATION CONNECTIONS THREADS ROUNDS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer"
done
for n in $SIZES; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] && ((n > 1000)) || die "sizes are integers above 1,000, got '$n'"
done
[[ "$ARTICLES" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE_ARTICLES must be a positive integer"
((DURATION <= 600)) || die "BENCH_DURATION is capped at 600 seconds"
# auto_explain is loaded but silent (its default) until the plan run switches it on
# with ALTER SYSTEM, which a -c option here would override.
# Memory as an operator sizes it for a database of gigabytes (a sixth of this machine's
# RAM for buffers, the rest counted as the OS's cache), the same at every size: the
# default 128 MB of buffers is for a desk of a few thousand tickets.
PG_OPTS="-c shared_preload_libraries=pg_stat_statements,auto_explain -c shared_buffers=4GB \
-c effective_cache_size=16GB -c maintenance_work_mem=512MB -c max_wal_size=8GB"
PGBIN=""
PGDATA=""
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
export RUST_LIB_BACKTRACE=0
clear_palisade_env
for tool in wrk curl jq python3 psql cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing (bash bench/run.sh installs wrk)"
done

STARTED_AT="$(date -u +%s)"
say "building (release)"
cargo build --release --quiet -p palisade -p palisade-bench
PALISADE="$CARGO_TARGET_DIR/release/palisade"

SERVER_PID=""
CLEANUP_PIDS="SERVER_PID"
start_work palisade-scale-bench

{
    machine_facts
    echo "sizes=$SIZES"
    echo "articles=$ARTICLES"
    echo "duration=$DURATION"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "rounds=$ROUNDS"
    echo "command=BENCH_SCALE_SIZES=\"$SIZES\" BENCH_SCALE_ARTICLES=$ARTICLES BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_ROUNDS=$ROUNDS bash bench/scale.sh"
} >"$OUT/machine.env"

PASSWORD="bench-Quartz-Lantern-Meadow-$RANDOM$RANDOM"

# auto_explain on for every new plan, sampled, with real row counts and buffers.
plans_on() { # db_url
    psql -XAtq "$1" -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" \
        -c "ALTER SYSTEM SET auto_explain.sample_rate = 0.05" \
        -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
        -c "ALTER SYSTEM SET auto_explain.log_buffers = on" \
        -c "ALTER SYSTEM SET auto_explain.log_timing = on" \
        -c "SELECT pg_reload_conf()" >/dev/null
}
plans_off() { # db_url
    psql -XAtq "$1" -c "ALTER SYSTEM SET auto_explain.log_min_duration = -1" -c "SELECT pg_reload_conf()" >/dev/null
}

# A short wrk run whose statements' plans auto_explain logs; not measured.
sample_plans() { # scenario script url [args...]
    local scenario="$1" script="$2" url="$3" log="$WORK/pg/postgres.log"
    shift 3
    local from
    from="$(stat -c %s "$log")"
    timeout 60 wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s --timeout 10s -s "$BENCH/wrk/$script" "$url" -- "$@" \
        >"$CUR/$scenario.plans-wrk.log" 2>&1 || true
    sleep 0.5
    tail -c +"$((from + 1))" "$log" >"$CUR/$scenario.plans.log"
}

bench_size() {
    local n="$1"
    CUR="$OUT/size-$n"
    mkdir -p "$CUR"
    local data="$WORK/data-$n"
    mkdir -p "$data"
    chmod 700 "$data"
    rm -rf "$WORK/pg"
    find_pgbin
    say "$n tickets: starting a throwaway PostgreSQL cluster"
    start_pg "$WORK/pg"
    local db_url="$DB_URL"
    export PALISADE_DATABASE_URL="$db_url"
    echo "pg_version=$("$PGBIN/postgres" --version)" >"$CUR/db.env"
    echo "n=$n" >>"$CUR/db.env"
    echo "pg_memory=$(psql -XAtq "$db_url" -c "SELECT string_agg(name || ' ' || current_setting(name), ', ' ORDER BY name) \
        FROM pg_settings WHERE name IN ('shared_buffers', 'effective_cache_size', 'max_wal_size')")" >>"$CUR/db.env"

    PORT="$(free_port 20443)"
    BASE="https://127.0.0.1:$PORT"
    "$PALISADE" --data-dir "$data" admin create --email admin@bench.test --name "Bench Admin" \
        --public-origin "https://localhost:$PORT" >"$CUR/admin-create.txt" 2>&1 ||
        { cat "$CUR/admin-create.txt" >&2; die "admin create failed"; }
    local admin_setup
    admin_setup="$(grep -o '/setup/[A-Za-z0-9_-]*' "$CUR/admin-create.txt" | head -n1)"
    [[ -n "$admin_setup" ]] || die "no setup link in: $(cat "$CUR/admin-create.txt")"

    say "$n tickets: loading them through the store's bulk path"
    local t0
    t0="$(date +%s)"
    "$CARGO_TARGET_DIR/release/seed" --database-url "$db_url" --master-key-file "$data/master.key" --count "$n" \
        --bulk --batch 5000 --ids-out "$CUR/ticket-ids.txt" --customers-out "$CUR/customer-ids.txt" \
        --team-name Support | tee "$CUR/seed.txt" >&2
    echo "seed_seconds=$(($(date +%s) - t0))" >>"$CUR/db.env"
    t0="$(date +%s)"
    "$CARGO_TARGET_DIR/release/helpseed" --database-url "$db_url" --master-key-file "$data/master.key" \
        --count "$ARTICLES" 2>&1 | tee "$CUR/helpseed.txt" >&2
    echo "article_seed_seconds=$(($(date +%s) - t0))" >>"$CUR/db.env"
    # The load's dead rows and unwritten pages are settled before measuring, as on a
    # desk that has been running: no autovacuum or checkpoint of the load mid-round.
    psql -XAtq "$db_url" -c "VACUUM ANALYZE" >/dev/null
    psql -XAtq "$db_url" -c "CHECKPOINT" >/dev/null

    say "$n tickets: serve on 127.0.0.1:$PORT"
    # One agent stands in for a whole team here: their per-account search limit (60 a
    # minute) is raised out of the way; each search still counts against it.
    printf '[limits]\nticket_searches_per_minute = 1000000\n' >"$WORK/palisade.toml"
    "$PALISADE" --config "$WORK/palisade.toml" --data-dir "$data" serve --listen "127.0.0.1:$PORT" \
        >"$CUR/serve.log" 2>&1 &
    SERVER_PID=$!
    wait_health "$BASE/health" "$SERVER_PID" "palisade serve"
    # Loading a million tickets outlasts a setup link (30 minutes): the administrator
    # who sets up the agent gets a fresh one now.
    "$PALISADE" --data-dir "$data" admin create --email setup@bench.test --name "Bench Setup" \
        --public-origin "https://localhost:$PORT" >"$CUR/admin-create-2.txt" 2>&1 ||
        { cat "$CUR/admin-create-2.txt" >&2; die "admin create failed"; }
    admin_setup="$(grep -o '/setup/[A-Za-z0-9_-]*' "$CUR/admin-create-2.txt" | head -n1)"
    local agent_token
    agent_token="$(agent_of_support "$admin_setup" setup@bench.test)"
    api GET "/api/v1/tickets/$(tail -n1 "$CUR/ticket-ids.txt")" "$agent_token" >/dev/null
    api GET "/api/v1/tickets/search?q=reference+$((n - 1))" "$agent_token" >"$CUR/sample-search.json"
    [[ "$(jq '.items | length' "$CUR/sample-search.json")" == 1 ]] ||
        die "searching for the last seeded ticket's reference did not find exactly it: $(head -c 600 "$CUR/sample-search.json")"

    say "$n tickets: warm-up"
    warm_up read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
    warm_up search.lua "$BASE" "$n" "$agent_token"
    local r
    statements_reset postgres "$db_url"
    for r in $(seq "$ROUNDS"); do run_wrk "read-$r" read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"; done
    statements_report postgres "$db_url" read
    for r in $(seq "$ROUNDS"); do run_wrk "search-$r" search.lua "$BASE" "$n" "$agent_token"; done
    statements_report postgres "$db_url" search
    for r in $(seq "$ROUNDS"); do run_wrk "create-$r" create.lua "$BASE" "$CUR/customer-ids.txt" "$agent_token"; done
    statements_report postgres "$db_url" create

    say "$n tickets: sampling query plans (unmeasured)"
    plans_on "$db_url"
    sample_plans read read.lua "$BASE" "$CUR/ticket-ids.txt" "$agent_token"
    sample_plans search search.lua "$BASE" "$n" "$agent_token"
    sample_plans create create.lua "$BASE" "$CUR/customer-ids.txt" "$agent_token"
    plans_off "$db_url"

    {
        psql -XAtq "$db_url" -c "SELECT 'database_bytes=' || pg_database_size(current_database())"
        psql -XAtq "$db_url" -c "SELECT 'tickets_after=' || COUNT(*) FROM tickets"
        psql -XAtq "$db_url" -c "SELECT 'search_terms_rows=' || COUNT(*) FROM search_terms"
        psql -XAtq "$db_url" -c "SELECT 'articles=' || COUNT(*) FROM articles"
        awk '/^VmRSS/ {print "serve_rss_kb=" $2} /^VmHWM/ {print "serve_peak_rss_kb=" $2}' "/proc/$SERVER_PID/status"
    } >>"$CUR/db.env" 2>/dev/null || true
    psql -XAq --csv "$db_url" -c "SELECT relname AS relation, pg_total_relation_size(c.oid) AS bytes \
        FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
        WHERE s.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 8" >"$CUR/relations.csv"
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    stop_pg
    unset PALISADE_DATABASE_URL
    rm -f "$CUR/ticket-ids.txt" "$CUR/customer-ids.txt" "$CUR/setup.html"
    rm -rf "$data"
}

for n in $SIZES; do bench_size "$n"; done
echo "total_seconds=$(($(date -u +%s) - STARTED_AT))" >>"$OUT/machine.env"

rm -rf "$BENCH/last-run/scale"
mkdir -p "$BENCH/last-run"
cp -r "$OUT" "$BENCH/last-run/scale"
python3 "$BENCH/scale_report.py" "$OUT" "$BENCH/RESULTS.md"
say "results written to bench/RESULTS.md (raw output and full plans in bench/last-run/scale/)"
