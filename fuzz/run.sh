#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 300 s each) and reports findings.
#   bash fuzz/run.sh [seconds-per-target]
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (installed into $PALISADE_TOOLS if missing). Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_PER_TARGET="${1:-300}"
TOOLS="${PALISADE_TOOLS:-/var/cache/palisade/tools}"
export PATH="$TOOLS/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-/var/cache/palisade/fuzz-target}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    env -u CARGO_TARGET_DIR cargo install --locked cargo-fuzz --root "$TOOLS"
fi
status=0
for target in $(cargo +nightly fuzz list); do
    echo "==> $target for ${SECONDS_PER_TARGET}s"
    mkdir -p "corpus/$target"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 -rss_limit_mb=2048; then
        echo "==> $target FOUND A PROBLEM (see artifacts/$target)"
        status=1
    fi
done
exit "$status"
