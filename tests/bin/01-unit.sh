#!/usr/bin/env bash
# Unit tests of the private library, modules and plugins (pure code, fakes only for edge cases).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/tests"
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider unit "$@"
