#!/usr/bin/env bash
# Everything the test suite needs, then the suite: type-check and jest against real parts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run typecheck
npm test -- --ci
