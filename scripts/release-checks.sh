#!/usr/bin/env bash
# What a release carries besides the binary, checked in CI:
#   bash scripts/release-checks.sh ADVISORY_DB OUT_DIR
# - the systemd unit passes `systemd-analyze verify` with no warning at all, and its
#   exposure score (`systemd-analyze security`) stays at or under 2.0;
# - the CycloneDX SBOM of the binary (`palisade version --sbom`) is written to OUT_DIR
#   and is well formed;
# - the binary's own advisory check passes on ADVISORY_DB (it reads the same reviewed
#   acceptances as `cargo audit`, which .ci/run runs just before).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ADVISORY_DB="${1:?usage: release-checks.sh ADVISORY_DB OUT_DIR}"
OUT_DIR="${2:?usage: release-checks.sh ADVISORY_DB OUT_DIR}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/palisade/target}"

say() { printf '==> %s\n' "$*" >&2; }

if ! command -v systemd-analyze >/dev/null; then
    say "installing systemd (for systemd-analyze)"
    if [[ $EUID -eq 0 ]]; then
        apt-get install -y --no-install-recommends systemd >/dev/null
    else
        sudo apt-get install -y --no-install-recommends systemd >/dev/null
    fi
fi

# The binary the test run built (CI runs the tests first); built here only if absent,
# since building it alone resolves features differently and compiles much again.
BIN="$CARGO_TARGET_DIR/debug/palisade"
if [[ ! -x "$BIN" ]]; then
    cargo build -q --bin palisade
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The unit names the installed path; verify it against the binary just built.
sed "s|/usr/local/bin/palisade|$BIN|" deploy/systemd/palisade.service > "$work/palisade.service"
say "systemd-analyze verify deploy/systemd/palisade.service"
if ! systemd-analyze verify "$work/palisade.service" > "$work/verify.log" 2>&1 || [[ -s "$work/verify.log" ]]; then
    cat "$work/verify.log" >&2
    echo "release-checks: the systemd unit has problems (above)" >&2
    exit 1
fi
say "systemd-analyze security (exposure must stay at or under 2.0)"
systemd-analyze security --offline=true --threshold=20 "$work/palisade.service" | tail -1

mkdir -p "$OUT_DIR"
say "SBOM: $OUT_DIR/palisade.cdx.json"
"$BIN" version --sbom > "$OUT_DIR/palisade.cdx.json"
python3 - "$OUT_DIR/palisade.cdx.json" <<'PY'
import json, sys
document = json.load(open(sys.argv[1]))
assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.5", "not CycloneDX 1.5"
components = document["components"]
assert len(components) > 100, f"only {len(components)} components"
for c in components:
    assert c["purl"] == f"pkg:cargo/{c['name']}@{c['version']}", c
print(f"{len(components)} components", file=sys.stderr)
PY

say "palisade advisories check --db $ADVISORY_DB"
"$BIN" advisories check --db "$ADVISORY_DB" --no-record
