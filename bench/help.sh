#!/usr/bin/env bash
# Palisade's help-centre and assistant benchmark, one command:
#   bash bench/help.sh [N]          (N articles, default 10000)
#
# A fresh SQLite installation with N published articles (`helpseed`, through the
# store), `palisade serve` on loopback with the public-surface limits raised out of the
# way, and `helpbare` — the same articles in the same in-memory tantivy index, queried
# directly behind one axum route on the same TLS setup (the baseline). `wrk` measures,
# interleaved, BENCH_ROUNDS rounds of:
#   bare       GET /search?q=<two words> on helpbare
#   search     GET /api/v1/help/articles?q=<two words> on Palisade, as a visitor
#   assistant  POST /api/v1/assistant/conversations/<id>/messages, anonymous
# Medians go to the help section of bench/RESULTS.md (raw output in bench/last-run/help).
#
# Environment: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32),
# BENCH_THREADS (default 2), BENCH_ROUNDS (default 3), BENCH_BACKEND (sqlite, the
# default, or postgres: a throwaway cluster, durable commits), BENCH_PROFILE (1: after
# the rounds, unmeasured runs of search and the assistant under `perf record`, reports in
# bench/last-run/help-<backend>/), CARGO_TARGET_DIR.
# Each backend has its own section in bench/RESULTS.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
SCRIPT_NAME="bench/help.sh"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

N="${1:-10000}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
DURATION="${BENCH_DURATION:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
BACKEND="${BENCH_BACKEND:-sqlite}"
[[ "$BACKEND" == sqlite || "$BACKEND" == postgres ]] || die "BENCH_BACKEND is sqlite or postgres, got '$BACKEND'"
PG_OPTS=""
PGBIN=""
PGDATA=""
for v in DURATION CONNECTIONS THREADS ROUNDS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer"
done
((DURATION <= 600)) || die "BENCH_DURATION is capped at 600 seconds"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
clear_palisade_env
for tool in wrk curl jq python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing (bash bench/run.sh installs wrk)"
done

STARTED_AT="$(date -u +%s)"
say "building (release)"
cargo build --release --quiet -p palisade -p palisade-bench
PALISADE="$CARGO_TARGET_DIR/release/palisade"

SERVER_PID=""
BARE_PID=""
CLEANUP_PIDS="BARE_PID SERVER_PID"
start_work palisade-help-bench

{
    machine_facts
    echo "n=$N"
    echo "duration=$DURATION"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "rounds=$ROUNDS"
    echo "backend=$BACKEND"
    echo "command=BENCH_BACKEND=$BACKEND BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_ROUNDS=$ROUNDS bash bench/help.sh${*:+ $*}"
} >"$OUT/machine.env"

DATA="$WORK/data"
mkdir -p "$DATA"
chmod 700 "$DATA"
if [[ "$BACKEND" == postgres ]]; then
    find_pgbin
    say "postgres: starting a throwaway cluster"
    start_pg "$WORK/pg"
    echo "pg_version=$("$PGBIN/postgres" --version)" >>"$OUT/machine.env"
    export PALISADE_DATABASE_URL="$DB_URL"
else
    DB_URL="sqlite://$DATA/palisade.db?mode=rwc"
fi
PORT="$(free_port 19443)"
BASE="https://127.0.0.1:$PORT"
cat >"$WORK/palisade.toml" <<TOML
[limits]
help_searches_per_minute = 1000000
conversations_per_10_minutes = 1000000
assistant_messages_per_minute = 1000000
messages_per_conversation_per_minute = 1000000
TOML

say "admin create (creates the team that receives handovers)"
"$PALISADE" --data-dir "$DATA" admin create --email admin@bench.test --name "Bench Admin" \
    --public-origin "https://localhost:$PORT" >"$OUT/admin-create.txt" 2>&1 ||
    { cat "$OUT/admin-create.txt" >&2; die "admin create failed"; }
say "seeding $N articles"
"$CARGO_TARGET_DIR/release/helpseed" --database-url "$DB_URL" --master-key-file "$DATA/master.key" \
    --count "$N" 2>&1 | tee "$OUT/seed.txt" >&2

say "serve on 127.0.0.1:$PORT"
"$PALISADE" --config "$WORK/palisade.toml" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" \
    >"$OUT/serve.log" 2>&1 &
SERVER_PID=$!
wait_health "$BASE/health" "$SERVER_PID" "palisade serve"
BARE_PORT="$(free_port $((PORT + 1000)))"
"$CARGO_TARGET_DIR/release/helpbare" --listen "127.0.0.1:$BARE_PORT" --cert "$DATA/tls/cert.pem" \
    --key "$DATA/tls/key.pem" --database-url "$DB_URL" --master-key-file "$DATA/master.key" \
    >"$OUT/bare.log" 2>&1 &
BARE_PID=$!
wait_health "https://127.0.0.1:$BARE_PORT/search?q=refund" "$BARE_PID" "helpbare"

# Sanity: both answer the same search with the same articles (equal scores may come
# back in either order).
curl -ksf "$BASE/api/v1/help/articles?q=refund+printer&limit=20" | jq -c '[.total, ([.items[].id] | sort)]' >"$OUT/check-palisade.json"
curl -ksf "https://127.0.0.1:$BARE_PORT/search?q=refund+printer" | jq -c '[.total, ([.items[].id] | sort)]' >"$OUT/check-bare.json"
cmp -s "$OUT/check-palisade.json" "$OUT/check-bare.json" ||
    die "Palisade and the baseline disagree: $(cat "$OUT/check-palisade.json") vs $(cat "$OUT/check-bare.json")"

say "starting 400 anonymous conversations"
NOTICE="$(curl -ksf "$BASE/api/v1/assistant/notice" | jq -er .version)"
for _ in $(seq 400); do
    curl -ksf -X POST "$BASE/api/v1/assistant/conversations" -H 'Content-Type: application/json' \
        --data "{\"consent\": true, \"notice_version\": \"$NOTICE\"}" | jq -er '"\(.id) \(.secret)"'
done >"$WORK/conversations.txt"

# The rounds' raw output goes straight into OUT.
CUR="$OUT"

say "warming up"
timeout 60 wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -s "$BENCH/wrk/help.lua" "https://127.0.0.1:$BARE_PORT" -- /search >/dev/null
timeout 60 wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -s "$BENCH/wrk/help.lua" "$BASE" -- /api/v1/help/articles >/dev/null
for round in $(seq "$ROUNDS"); do
    run_wrk "bare.$round" help.lua "https://127.0.0.1:$BARE_PORT" /search
    run_wrk "search.$round" help.lua "$BASE" /api/v1/help/articles
    run_wrk "assistant.$round" assistant.lua "$BASE" "$WORK/conversations.txt"
done
if [[ "${BENCH_PROFILE:-0}" == 1 ]]; then
    command -v perf >/dev/null || die "BENCH_PROFILE=1 needs perf (Debian package linux-perf)"
    perf_profile "$SERVER_PID" "$OUT" search help.lua "$BASE" /api/v1/help/articles
    perf_profile "$SERVER_PID" "$OUT" assistant assistant.lua "$BASE" "$WORK/conversations.txt"
fi
echo "whole_run_seconds=$(($(date -u +%s) - STARTED_AT))" >>"$OUT/machine.env"

rm -rf "$BENCH/last-run/help-$BACKEND"
mkdir -p "$BENCH/last-run/help-$BACKEND"
cp "$OUT"/*.txt "$OUT"/*.env "$BENCH/last-run/help-$BACKEND/"
cp "$OUT"/*.log "$BENCH/last-run/help-$BACKEND/" 2>/dev/null || true
python3 "$BENCH/help_report.py" "$OUT" "$BENCH/RESULTS.md"
say "results written to bench/RESULTS.md"
