#!/usr/bin/env bash
# Builds the `palisade` binary of an earlier release, once per machine, into
# $PALISADE_TOOLS/releases/<commit>/palisade, and prints its path: the commit given as
# the argument, or by default the previous release (upgrade/PREVIOUS). The upgrade
# tests run these beside this build: a database each made must migrate, and a node
# running the previous release must keep serving while a new node migrates.
#
# The source comes from this repository's own history (`git archive`), so a clone with
# its history is all it needs. It builds in a target directory of its own: cargo names
# a workspace's artifacts by their path inside the workspace, so the old build would
# overwrite this one's in a shared directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS="${PALISADE_TOOLS:-/var/cache/palisade/tools}"
commit="${1:-$(head -n1 upgrade/PREVIOUS | tr -d '[:space:]')}"
[[ "$commit" =~ ^[0-9a-f]{40}$ ]] || { echo "a release is named by its full commit id, not \"$commit\"" >&2; exit 1; }
out="$TOOLS/releases/$commit"
if [[ -x "$out/palisade" ]]; then
    echo "$out/palisade"
    exit 0
fi
git cat-file -e "$commit^{commit}" 2>/dev/null ||
    { echo "commit $commit is not in this clone's history" >&2; exit 1; }
src="$(mktemp -d /tmp/palisade-previous.XXXXXX)"
trap 'rm -rf "$src"' EXIT
git archive "$commit" | tar -x -C "$src"
echo "building the release ${commit:0:12} (once per machine)" >&2
target="$TOOLS/releases/target"
# Releases share the target directory (and so their dependencies' builds): a build and
# the copy of its binary happen under one lock, so another run building another
# release in between cannot swap the binary.
mkdir -p "$TOOLS/releases"
exec 9>"$TOOLS/releases/.build.lock"
flock 9
if [[ ! -x "$out/palisade" ]]; then
    # The supply crate's build script reads the whole resolve offline (`cargo metadata
    # --frozen`), dev-dependencies included, which building one binary never downloads.
    (cd "$src" && cargo fetch --locked >&2)
    (cd "$src" && CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0 cargo build --locked -p palisade --bin palisade >&2)
    mkdir -p "$out"
    cp "$target/debug/palisade" "$out/palisade.tmp"
    mv "$out/palisade.tmp" "$out/palisade"
fi
flock -u 9
echo "$out/palisade"
