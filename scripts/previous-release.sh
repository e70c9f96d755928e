#!/usr/bin/env bash
# Builds the `palisade` binary of the previous release (the commit named in
# upgrade/PREVIOUS), once per machine, into $PALISADE_TOOLS/releases/<commit>/palisade,
# and prints its path. The upgrade tests run it beside this build: a database it made
# must migrate, and a node running it must keep serving while a new node migrates.
#
# The source comes from this repository's own history (`git archive`), so a clone with
# its history is all it needs. It builds in a target directory of its own: cargo names
# a workspace's artifacts by their path inside the workspace, so the old build would
# overwrite this one's in a shared directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS="${PALISADE_TOOLS:-/var/cache/palisade/tools}"
commit="$(head -n1 upgrade/PREVIOUS | tr -d '[:space:]')"
[[ "$commit" =~ ^[0-9a-f]{40}$ ]] || { echo "upgrade/PREVIOUS must hold a full commit id" >&2; exit 1; }
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
echo "building the previous release ${commit:0:12} (once per machine)" >&2
target="$TOOLS/releases/target"
(cd "$src" && CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0 cargo build --locked -p palisade --bin palisade >&2)
mkdir -p "$out"
cp "$target/debug/palisade" "$out/palisade.tmp"
mv "$out/palisade.tmp" "$out/palisade"
echo "$out/palisade"
