#!/usr/bin/env bash
# The main job end to end on this node, no registry needed:
# describe a binary, index the node's libraries, and ask whether the binary will run here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --npm-only
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
target="${1:-/usr/bin/xz}"

echo "\$ compat gen $target -o app.compat.json"
./bin/run.js gen "$target" -o "$work/app.compat.json"
echo "\$ compat host scan"
./bin/run.js host scan
echo "\$ compat check app.compat.json"
./bin/run.js check "$work/app.compat.json"
