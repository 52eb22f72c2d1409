#!/usr/bin/env bash
# The main job end to end on this node, no registry needed (a local OCI image layout stands in):
# describe a binary, push the artifact, list it by tag, pull it into the node's store, and ask
# whether the binary will run here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --npm-only
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/data"
target="${1:-/usr/bin/xz}"
bin="$PWD/bin/compat"
cd "$work"
run() { "$bin" "$@"; }
compat() { echo "\$ compat $*"; run "$@"; }
compat gen "$target" -o app.compat.json
compat push --oci-layout ./layout:app app.compat.json
compat list --oci-layout ./layout
compat pull --oci-layout ./layout:app -o ./pulled
compat host scan
compat check --oci-layout ./layout:app
