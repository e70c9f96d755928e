# shellcheck shell=bash disable=SC2034  # DB_URL, PGDATA: globals for the caller
# Helpers shared by bench/run.sh and bench/smtp.sh (sourced, not run): messages,
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
