#!/usr/bin/env bash
# server_history ("why did my server fail"): log parser + history unit tests on output from
# oslo.log and Nova's own code paths, ansible-doc rendering of the module and the two filters,
# then tests/integration/test_server_history.py on a real minicloud
# (tests/integration/history_topology.yml: reschedules to MaxRetriesExceeded, a filter and a
# placement NoValidHost) including playbooks/why_failed.yml end to end. Starts its own cloud
# (port base 16000, its own state dir) and stops it at the end, also on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export HISTORY_STATE_DIR="${HISTORY_STATE_DIR:-$root/.cache/history-it}"
export HISTORY_PORT_BASE="${HISTORY_PORT_BASE:-16000}"

stop_cloud() {
  if [ "${HISTORY_KEEP:-0}" != 1 ] && [ -f "$HISTORY_STATE_DIR/state.json" ]; then
    .venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$HISTORY_STATE_DIR" >/dev/null 2>&1 || true
  fi
}
trap stop_cloud EXIT

.venv/bin/ansible-doc stackops.nova.server_history >/dev/null
.venv/bin/ansible-doc -t filter stackops.nova.parse_nova_log >/dev/null
.venv/bin/ansible-doc -t filter stackops.nova.scheduling_attempts >/dev/null
.venv/bin/ansible-playbook --syntax-check playbooks/why_failed.yml >/dev/null
echo "ansible-doc renders server_history, parse_nova_log and scheduling_attempts; why_failed.yml parses"

cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider \
  unit/plugins/module_utils/_nova/logs/test_novalog.py unit/plugins/module_utils/_nova/logs/test_history.py \
  unit/plugins/filter/test_nova_log.py integration/test_server_history.py "$@"
