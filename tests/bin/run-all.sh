#!/usr/bin/env bash
# make test: every stage script tests/bin/NN-*.sh in order; stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
for stage in tests/bin/[0-9][0-9]-*.sh; do
  [ -x "$stage" ] || continue
  echo "=== $(basename "$stage") ==="
  t0=$(date +%s)
  bash "$stage"
  echo "=== $(basename "$stage") passed in $(( $(date +%s) - t0 )) s ==="
done
echo "=== make test: all stages passed in $(( $(date +%s) - start )) s ==="
