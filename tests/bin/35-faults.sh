#!/usr/bin/env bash
# Faults and secrets (issue 17): no credential in any -vvv output whatever argument error comes
# first (tests/integration/test_secret_masking.py, no cloud needed), and every API module
# answers within its documented time bound, naming the service, while keystone, placement or
# nova is hung (SIGSTOP) or dead (SIGKILL) on a real minicloud (tests/integration/test_faults.py;
# its own cloud: port base 22000, state dir .cache/faults-it, stopped at the end, also on failure).
# Also without a cloud: scheduling_explain's action plugin gives the module's result and errors
# (tests/integration/test_explain_action.py).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections" ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export FAULTS_STATE_DIR="${FAULTS_STATE_DIR:-$root/.cache/faults-it}"
export FAULTS_PORT_BASE="${FAULTS_PORT_BASE:-22000}"
stop_cloud() {
  if [ "${FAULTS_KEEP:-0}" != 1 ] && [ -f "$FAULTS_STATE_DIR/state.json" ]; then
    .venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$FAULTS_STATE_DIR" >/dev/null 2>&1 || true
  fi
}
trap stop_cloud EXIT
cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider -rA integration/test_secret_masking.py \
  integration/test_explain_action.py integration/test_faults.py "$@"
