#!/usr/bin/env bash
# service_info on a real minicloud (its own cloud: port base 14000, state dir .cache/services-it).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections" ANSIBLE_CONFIG="$root/tests/ansible.cfg"
trap '.venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$root/.cache/services-it" >/dev/null 2>&1 || true' EXIT
.venv/bin/ansible-doc stackops.nova.service_info >/dev/null
cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider integration/services "$@"
