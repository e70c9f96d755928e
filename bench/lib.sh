# shellcheck shell=bash disable=SC2034  # DB_URL, PGDATA: globals for the caller
# Helpers shared by the bench/*.sh scripts (sourced, not run): messages,
# process and port handling, and a throwaway PostgreSQL cluster on 127.0.0.1.
# The caller sets PGBIN, PGDATA, PG_OPTS and SCRIPT_NAME as globals.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: error: %s\n' "${SCRIPT_NAME:-bench}" "$*" >&2; exit 1; }

# Only the settings a benchmark passes explicitly may reach palisade: drops every
# PALISADE_* variable inherited from the environment.
clear_palisade_env() {
    local v
    while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PALISADE_' || true)
}

stop_pid() {
    local pid="$1"
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_pg() {
    [[ -n "$PGDATA" && -f "$PGDATA/postmaster.pid" ]] || { PGDATA=""; return 0; }
    local pgpid
    pgpid="$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    as_pg "$PGBIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 30 >/dev/null 2>&1 || true
    if [[ "$pgpid" =~ ^[0-9]+$ ]] && kill -0 "$pgpid" 2>/dev/null; then
        kill -KILL "$pgpid" 2>/dev/null || true
    fi
    PGDATA=""
}

if [[ $EUID -eq 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    for p in $(seq "$1" $(($1 + 199))); do
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port in $1-$(($1 + 199))"
}

# --- a run's working directory ----------------------------------------------------
# WORK, a fresh temporary directory with OUT inside, is removed when the run succeeds
# and kept with its logs when it fails. On exit, whatever way, every process whose pid
# is in a variable named in CLEANUP_PIDS is stopped, then CLEANUP_HOOK (a function
# name, optional) runs, then the throwaway cluster stops.
start_work() { # name
    WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
    # The postgres user runs throwaway clusters inside it.
    chmod 755 "$WORK"
    OUT="$WORK/out"
    mkdir -p "$OUT"
    trap finish_work EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# shellcheck disable=SC2317  # invoked by trap
finish_work() {
    local rc=$? v
    trap - EXIT INT TERM HUP
    for v in ${CLEANUP_PIDS:-}; do stop_pid "${!v:-}"; done
    if [[ -n "${CLEANUP_HOOK:-}" ]]; then "$CLEANUP_HOOK" || true; fi
    stop_pg
    if ((rc != 0)); then say "failed (exit $rc); logs kept in $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}

# The machine and the code a report was measured on (key=value lines).
machine_facts() {
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
}

# --- PostgreSQL (as scripts/test.sh, but durable commits unless BENCH_PG_OPTS) ------
find_pgbin() {
    if [[ -n "${PALISADE_PG_BIN:-}" ]]; then
        PGBIN="$PALISADE_PG_BIN"
    else
        local d
        while IFS= read -r d; do
            if [[ -x "$d/initdb" ]]; then PGBIN="$d"; fi
        done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    fi
    [[ -n "$PGBIN" && -x "$PGBIN/initdb" && -x "$PGBIN/pg_ctl" ]] ||
        die "PostgreSQL server binaries not found (set PALISADE_PG_BIN)"
    if [[ $EUID -eq 0 ]]; then id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"; fi
}

start_pg() { # dir -> sets PGDATA and DB_URL
    local dir="$1" log="$1/postgres.log" candidate port=""
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [[ $EUID -eq 0 ]]; then chown postgres: "$dir"; fi
    PGDATA="$dir/data"
    as_pg "$PGBIN/initdb" -D "$PGDATA" --auth=trust --username=palisade -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    for candidate in $(seq 55432 55531); do
        port_in_use "$candidate" && continue
        # shellcheck disable=SC2086  # PG_OPTS is a list of -c options
        if as_pg "$PGBIN/pg_ctl" start -D "$PGDATA" -l "$log" -w -t 60 -o \
            "-p $candidate -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_preload_libraries=pg_stat_statements $PG_OPTS" >/dev/null; then
            port="$candidate"
            break
        fi
        grep -q 'Address already in use' "$log" 2>/dev/null && continue
        tail -n 30 "$log" >&2 || true
        die "PostgreSQL did not start"
    done
    [[ -n "$port" ]] || die "no free port for PostgreSQL in 55432-55531"
    DB_URL="postgres://palisade@127.0.0.1:$port/postgres"
}

# Waits (at most 60 s) until `url` answers, failing early if `pid` exits.
wait_health() { # url pid what
    for _ in $(seq 600); do
        if curl -ksf --max-time 2 "$1" >/dev/null 2>&1; then return 0; fi
        kill -0 "$2" 2>/dev/null || die "$3 exited before answering $1"
        sleep 0.1
    done
    die "$3 did not answer $1 within 60 s"
}

# An extra, unmeasured wrk run while `perf record` samples `pid`; flat, per-library and
# inclusive reports go to `outdir`. Uses DURATION, THREADS, CONNECTIONS, BENCH, WORK.
perf_profile() { # pid outdir name script url [args...]
    local pid="$1" outdir="$2" name="$3" script="$4" url="$5" secs=$((DURATION < 10 ? DURATION : 10))
    shift 5
    say "$name: profiling for $secs s (not measured)"
    timeout $((secs + 30)) perf record -F 99 --call-graph dwarf,16384 -o "$WORK/$name.perf.data" -p "$pid" -- sleep "$secs" \
        >/dev/null 2>&1 &
    local perf_pid=$!
    timeout $((secs + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 10s \
        -s "$BENCH/wrk/$script" "$url" -- "$@" >"$outdir/$name.perf-wrk.log" 2>&1 || true
    wait "$perf_pid" || true
    timeout 300 perf report -i "$WORK/$name.perf.data" --stdio --no-children --sort sym -g none \
        --percent-limit 0.7 >"$outdir/$name.perf.txt" 2>/dev/null || true
    timeout 300 perf report -i "$WORK/$name.perf.data" --stdio --no-children --sort dso -g none \
        >"$outdir/$name.perf-dso.txt" 2>/dev/null || true
    timeout 300 perf report -i "$WORK/$name.perf.data" --stdio --children --no-inline --sort sym -g none \
        --percent-limit 0.5 >"$outdir/$name.perf-incl.txt" 2>/dev/null || true
    rm -f "$WORK/$name.perf.data"
}

# --- measuring over HTTPS (callers set BENCH, CUR, BASE, PORT, PASSWORD, DURATION,
# THREADS, CONNECTIONS) --------------------------------------------------------------
# CPU counters of every process, and of this shell's waited-for children (wrk).
cpu_snapshot() { python3 "$BENCH/report.py" snapshot "$1" "$$"; }

run_wrk() { # name script url [args...]
    local name="$1" script="$2" url="$3"
    shift 3
    cpu_snapshot "$CUR/$name.cpu0.json"
    timeout $((DURATION + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency \
        -s "$BENCH/wrk/$script" "$url" -- "$@" >"$CUR/$name.txt" 2>&1 || {
        cat "$CUR/$name.txt" >&2
        die "wrk failed for $name"
    }
    cpu_snapshot "$CUR/$name.cpu1.json"
    local rps bad
    rps="$(awk '/^Requests\/sec/ {print $2}' "$CUR/$name.txt")"
    bad="$(awk '/^BENCH_BAD_STATUS/ {print $2}' "$CUR/$name.txt")"
    say "$name: ${rps:-?} req/s, unexpected statuses: ${bad:-?}"
}

# PostgreSQL's own account of the statements a scenario ran (pg_stat_statements): calls,
# mean and total execution time, rows; the report quotes the heaviest few.
statements_reset() { # backend db_url
    [[ "$1" == postgres ]] || return 0
    psql -XAtq "$2" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" \
        >/dev/null
}
statements_report() { # backend db_url scenario
    [[ "$1" == postgres ]] || return 0
    psql -XAq --csv "$2" -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, \
        round(mean_exec_time::numeric, 3) AS mean_ms, rows, \
        regexp_replace(query, '\s+', ' ', 'g') AS query FROM pg_stat_statements \
        WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 15" \
        >"$CUR/$3.statements.csv"
    psql -XAtq "$2" -c "SELECT pg_stat_statements_reset()" >/dev/null
}

warm_up() { # script url [args...]
    local script="$1" url="$2"
    shift 2
    timeout 60 wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s --timeout 10s -s "$BENCH/wrk/$script" "$url" -- "$@" \
        >/dev/null 2>&1 || die "warm-up against $url failed"
}

api() { # method path token [json] -> body on stdout, fails on HTTP >= 400
    local method="$1" path="$2" token="$3" data="${4:-}"
    local args=(-ksS --fail-with-body --max-time 30 -X "$method" -H 'Accept: application/json')
    [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
    [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data "$data")
    curl "${args[@]}" "$BASE$path"
}

complete_setup() { # setup path (/setup/<token>)
    local code
    code="$(curl -ks -o "$CUR/setup.html" -w '%{http_code}' --max-time 60 -X POST "$BASE$1" \
        -H "Origin: https://localhost:$PORT" --data-urlencode "password=$PASSWORD")"
    [[ "$code" == 200 ]] || { cat "$CUR/setup.html" >&2; die "setup $1 answered $code"; }
}

totp_now() { # base32 secret -> the current RFC 6238 code (SHA-1, 6 digits, 30 s)
    python3 - "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
off = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}

sign_in() { # email -> token; staff enrol an authenticator app on their first sign-in
    local pending secret
    pending="$(api POST /api/v1/sessions "" "$(jq -nc --arg e "$1" --arg p "$PASSWORD" '{email: $e, password: $p}')" |
        jq -er .token)"
    secret="$(api POST /api/v1/me/mfa/totp "$pending" | jq -er .secret)"
    api POST /api/v1/me/mfa/totp/confirm "$pending" "$(jq -nc --arg c "$(totp_now "$secret")" '{code: $c}')" |
        jq -er .token
}

# The admin's setup link completed, then an agent of team Support created, set up and
# signed in (with an authenticator app): prints the agent's bearer token.
agent_of_support() { # admin setup path [admin address, default admin@bench.test]
    complete_setup "$1"
    local admin_token team agent_setup
    admin_token="$(sign_in "${2:-admin@bench.test}")"
    team="$(api GET /api/v1/teams "$admin_token" | jq -er '.[] | select(.name == "Support") | .id')"
    agent_setup="$(api POST /api/v1/agents "$admin_token" \
        "$(jq -nc --arg t "$team" '{email: "agent@bench.test", name: "Bench Agent", role: "agent", team_ids: [$t]}')" |
        jq -er .setup_path)"
    complete_setup "$agent_setup"
    sign_in agent@bench.test
}
