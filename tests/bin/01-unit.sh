#!/usr/bin/env bash
# Unit tests of the private library, modules and plugins (pure code, fakes only for edge cases).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/tests"
# A runaway test (a generated input that makes Nova build a huge set) fails with MemoryError
# instead of calling the OOM killer on the whole machine.
ulimit -v 12000000
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider unit "$@"
