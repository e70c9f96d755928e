#!/usr/bin/env bash
# Run Palisade's full test suite on a fresh Debian machine:
#   bash scripts/test.sh [extra cargo-nextest args...]
#
# Installs what is missing (Debian packages, cargo-nextest), starts a throwaway
# PostgreSQL cluster on 127.0.0.1 and a clamd (both removed on exit, whatever happens), exports
# PALISADE_TEST_PG_URL for it and runs `cargo nextest run --workspace --no-fail-fast`.
#
# Environment:
#   CARGO_TARGET_DIR    build directory (default /var/cache/palisade/target)
#   PALISADE_TOOLS      where cargo-installed tools live (default /var/cache/palisade/tools)
#   PALISADE_PG_BIN     PostgreSQL server binaries (default: newest /usr/lib/postgresql/*/bin)
#   PALISADE_SCHEMATHESIS  set by this script: the schemathesis it installs into
#                       $PALISADE_TOOLS/venv (pinned) for the OpenAPI contract test
#   PALISADE_TEST_PYTHON   set by this script: that environment's python, with
#                       standardwebhooks (pinned) for the webhook receiver in the web tests
#   PALISADE_TEST_NPM_DIR  where the npm test peers (oidc-provider, playwright-core) are
#                       installed from crates/testkit/peers (default /var/cache/palisade/npm)
#   PALISADE_TEST_CLAMD set by this script: the socket of the clamd it starts for the run
#                       (crates/testkit/peers/clamd.sh, an EICAR-only signature database)
#   SOFTHSM2_CONF       set by this script: a SoftHSM v2 configuration whose token
#                       directory is the run's own (tests initialise tokens there)
#   PALISADE_TEST_PG_BIN set by this script: the PostgreSQL server binaries, for the
#                       failover test's own primary and standby
#   PALISADE_TEST_PREVIOUS_BIN set by this script: the previous release's binary
#                       (scripts/previous-release.sh builds it once per machine)
#   PALISADE_TEST_OLDER_BINS set by this script: the binaries of the older releases in
#                       upgrade/OLDER, separated by colons (built the same way)
#   PALISADE_TEST_CMD   run this shell command instead of the nextest run (the cluster is
#                       still started; extra args are passed as "$@"), e.g.
#                       PALISADE_TEST_CMD='psql "$PALISADE_TEST_PG_URL" -c "select 1"'
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: error: %s\n' "$*" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"
TOOLS="${PALISADE_TOOLS:-/var/cache/palisade/tools}"
export PATH="$TOOLS/bin:$TOOLS:$PATH"

# Root runs privileged commands directly; anyone else through sudo (checked when needed).
if [[ $EUID -eq 0 ]]; then
    SUDO=()
else
    SUDO=(sudo)
fi
need_sudo() {
    ((${#SUDO[@]} == 0)) || command -v sudo >/dev/null || die "$1 needs root, and sudo is missing"
}

mkdir -p "$CARGO_TARGET_DIR" "$TOOLS" 2>/dev/null || {
    need_sudo "creating $CARGO_TARGET_DIR and $TOOLS"
    "${SUDO[@]}" install -d -o "$(id -u)" -g "$(id -g)" "$CARGO_TARGET_DIR" "$TOOLS"
}

# --- Debian packages ---------------------------------------------------------
installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

missing=()
if ! installed postgresql-15 && ! installed postgresql; then
    if apt-cache show postgresql-15 >/dev/null 2>&1; then
        missing+=(postgresql-15)
    else
        missing+=(postgresql)
    fi
fi
for pkg in libssl-dev pkg-config curl openssl wrk chromium dnsmasq-base swaks libnet-ssleay-perl clamav-daemon dovecot-imapd rsyslog rsyslog-gnutls softhsm2; do
    installed "$pkg" || missing+=("$pkg")
done
# Node runs the OpenID provider and drives the browser in tests; a machine that already
# has a newer Node (e.g. from another repository) keeps it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
# Python runs schemathesis (below); a machine that has its own Python keeps it.
if ! command -v python3 >/dev/null; then
    missing+=(python3 python3-venv)
fi
if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    need_sudo "installing ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # The cached package lists may not have known postgresql-15 before the update.
    if apt-cache show postgresql-15 >/dev/null 2>&1; then
        for i in "${!missing[@]}"; do
            if [[ "${missing[$i]}" == postgresql ]]; then missing[i]=postgresql-15; fi
        done
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    say "Debian packages present"
fi

# --- cargo + cargo-nextest ---------------------------------------------------
if ! command -v cargo >/dev/null && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || die "cargo not found; install Rust (rustup) first"

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest into $TOOLS"
    # Own target dir for the install, so it does not contend with the workspace build.
    env -u CARGO_TARGET_DIR cargo install --locked cargo-nextest --root "$TOOLS"
fi

# --- PyPI test tools --------------------------------------------------------------
# schemathesis checks the served OpenAPI document (crates/cli/tests/binary.rs), and
# standardwebhooks verifies the desk's webhooks as an independent receiver (the web
# tests' receiver, testkit's webhook module); from a virtual environment of their own,
# pinned, and installed again only when a pin moves.
SCHEMATHESIS_VERSION="4.32.5"
STANDARDWEBHOOKS_VERSION="1.3.0"
PYPI_PINS="schemathesis==$SCHEMATHESIS_VERSION standardwebhooks==$STANDARDWEBHOOKS_VERSION"
VENV="$TOOLS/venv"
if [[ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PYPI_PINS" ]]; then
    say "installing $PYPI_PINS into $VENV"
    if ! python3 -m venv --clear "$VENV" 2>/dev/null; then
        need_sudo "installing python3-venv"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip
        python3 -m venv --clear "$VENV"
    fi
    # shellcheck disable=SC2086 # the pins are words
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PYPI_PINS
    echo "$PYPI_PINS" >"$VENV/.installed"
else
    say "PyPI test tools present"
fi
export PALISADE_SCHEMATHESIS="$VENV/bin/schemathesis"
export PALISADE_TEST_PYTHON="$VENV/bin/python"

# --- npm test peers --------------------------------------------------------------
# Installed from the committed lock file, and again only when it changes.
export PALISADE_TEST_NPM_DIR="${PALISADE_TEST_NPM_DIR:-/var/cache/palisade/npm}"
PEERS_SRC="crates/testkit/peers"
mkdir -p "$PALISADE_TEST_NPM_DIR"
lock_sum="$(sha256sum "$PEERS_SRC/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$PALISADE_TEST_NPM_DIR/.installed-lock" 2>/dev/null)" != "$lock_sum" ]]; then
    say "installing npm test peers into $PALISADE_TEST_NPM_DIR"
    cp "$PEERS_SRC/package.json" "$PEERS_SRC/package-lock.json" "$PALISADE_TEST_NPM_DIR/"
    (cd "$PALISADE_TEST_NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" >"$PALISADE_TEST_NPM_DIR/.installed-lock"
else
    say "npm test peers present"
fi

# --- throwaway PostgreSQL cluster ---------------------------------------------
if [[ -n "${PALISADE_PG_BIN:-}" ]]; then
    PGBIN="$PALISADE_PG_BIN"
else
    PGBIN=""
    while IFS= read -r d; do
        if [[ -x "$d/initdb" ]]; then PGBIN="$d"; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
fi
[[ -n "$PGBIN" && -x "$PGBIN/initdb" && -x "$PGBIN/pg_ctl" ]] ||
    die "PostgreSQL server binaries not found (set PALISADE_PG_BIN)"

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

PGDIR="$(mktemp -d /tmp/palisade-pg.XXXXXX)"
PGDATA="$PGDIR/data"
PGLOG="$PGDIR/postgres.log"
PGPID=""
TEST_PID=""
CLAMD_PID=""
CLAMD_DIR=""

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    # Interrupted while the tests run: stop them first (they run in the background so
    # that a signal reaches this trap at once instead of after the tests finish).
    if [[ -n "$TEST_PID" ]] && kill -0 "$TEST_PID" 2>/dev/null; then
        say "stopping the tests"
        kill -TERM "$TEST_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$TEST_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$TEST_PID" 2>/dev/null || true
    fi
    if [[ -f "$PGDATA/postmaster.pid" ]]; then
        PGPID="$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
        say "stopping PostgreSQL"
        as_pg "$PGBIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    if [[ "$PGPID" =~ ^[0-9]+$ ]] && kill -0 "$PGPID" 2>/dev/null; then
        kill -KILL "$PGPID" 2>/dev/null || true
    fi
    rm -rf "$PGDIR"
    if [[ -n "$CLAMD_PID" ]]; then
        kill -TERM "$CLAMD_PID" 2>/dev/null || true
        wait "$CLAMD_PID" 2>/dev/null || true
    fi
    if [[ -n "$CLAMD_DIR" ]]; then rm -rf "$CLAMD_DIR"; fi
    if [[ -n "${SOFTHSM_DIR:-}" ]]; then rm -rf "$SOFTHSM_DIR"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

chmod 755 "$PGDIR"
if [[ $EUID -eq 0 ]]; then chown postgres: "$PGDIR"; fi

say "initdb in $PGDATA ($PGBIN)"
as_pg "$PGBIN/initdb" -D "$PGDATA" --auth=trust --username=palisade -E UTF8 --locale=C.UTF-8 \
    >"$PGDIR/initdb.log" 2>&1 || {
    cat "$PGDIR/initdb.log" >&2
    die "initdb failed"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PORT=""
for candidate in $(seq 55432 55531); do
    port_in_use "$candidate" && continue
    if as_pg "$PGBIN/pg_ctl" start -D "$PGDATA" -l "$PGLOG" -w -t 60 -o \
        "-p $candidate -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        >/dev/null; then
        PORT="$candidate"
        break
    fi
    # Lost a race for the port: try the next one. Anything else is fatal.
    if grep -q 'Address already in use' "$PGLOG" 2>/dev/null; then
        continue
    fi
    tail -n 30 "$PGLOG" >&2 || true
    die "PostgreSQL did not start"
done
[[ -n "$PORT" ]] || die "no free port for PostgreSQL in 55432-55531"

export PALISADE_TEST_PG_URL="postgres://palisade@127.0.0.1:$PORT/postgres"
# The failover test starts a primary and a synchronous standby of its own from these.
export PALISADE_TEST_PG_BIN="$PGBIN"
say "PostgreSQL running: PALISADE_TEST_PG_URL=$PALISADE_TEST_PG_URL"

# --- ClamAV's daemon, once for the run ----------------------------------------------
CLAMD_DIR="$(mktemp -d /tmp/palisade-clamd.XXXXXX)"
bash crates/testkit/peers/clamd.sh "$CLAMD_DIR" >/dev/null &
CLAMD_PID=$!
for _ in $(seq 600); do
    [[ -S "$CLAMD_DIR/clamd.sock" ]] && break
    kill -0 "$CLAMD_PID" 2>/dev/null || { cat "$CLAMD_DIR/clamd.log" >&2 || true; die "clamd did not start"; }
    sleep 0.1
done
[[ -S "$CLAMD_DIR/clamd.sock" ]] || die "clamd did not open its socket within 60 s"
export PALISADE_TEST_CLAMD="unix:$CLAMD_DIR/clamd.sock"
say "clamd running: PALISADE_TEST_CLAMD=$PALISADE_TEST_CLAMD"

# --- SoftHSM v2 tokens, in a directory of the run's own ------------------------------
SOFTHSM_DIR="$(mktemp -d /tmp/palisade-softhsm.XXXXXX)"
mkdir -p "$SOFTHSM_DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$SOFTHSM_DIR" \
    >"$SOFTHSM_DIR/softhsm2.conf"
export SOFTHSM2_CONF="$SOFTHSM_DIR/softhsm2.conf"
say "SoftHSM tokens in $SOFTHSM_DIR"

# --- the previous release, for the upgrade tests ---------------------------------
PALISADE_TEST_PREVIOUS_BIN="$(bash scripts/previous-release.sh)"
export PALISADE_TEST_PREVIOUS_BIN
say "previous release: $PALISADE_TEST_PREVIOUS_BIN"
PALISADE_TEST_OLDER_BINS=""
while read -r older; do
    [[ -z "$older" || "$older" == \#* ]] && continue
    PALISADE_TEST_OLDER_BINS+="${PALISADE_TEST_OLDER_BINS:+:}$(bash scripts/previous-release.sh "$older")"
done <upgrade/OLDER
export PALISADE_TEST_OLDER_BINS
say "older releases: $PALISADE_TEST_OLDER_BINS"

# --- tests ---------------------------------------------------------------------
if [[ -n "${PALISADE_TEST_CMD:-}" ]]; then
    say "running PALISADE_TEST_CMD: $PALISADE_TEST_CMD"
    bash -c "$PALISADE_TEST_CMD" palisade-test "$@" &
else
    say "cargo nextest run --workspace --no-fail-fast $*"
    cargo nextest run --workspace --no-fail-fast "$@" &
fi
TEST_PID=$!
rc=0
wait "$TEST_PID" || rc=$?
TEST_PID=""

if ((rc == 0)); then say "tests passed"; else say "tests FAILED (exit $rc)"; fi
exit "$rc"
