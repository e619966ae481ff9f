#!/usr/bin/env bash
# Capacity facts on a real minicloud: hypervisor_info, usage_info and the hypervisors inventory
# (tests/integration/test_facts.py on tests/integration/facts_topology.yml), plus ansible-doc
# rendering of the three plugins. Starts its own cloud (port base 18000, its own state dir)
# and stops it at the end, also on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export FACTS_STATE_DIR="${FACTS_STATE_DIR:-$root/.cache/facts-it}"
export FACTS_PORT_BASE="${FACTS_PORT_BASE:-18000}"

stop_cloud() {
  if [ "${FACTS_KEEP:-0}" != 1 ] && [ -f "$FACTS_STATE_DIR/state.json" ]; then
    .venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$FACTS_STATE_DIR" >/dev/null 2>&1 || true
  fi
}
trap stop_cloud EXIT

for plugin in stackops.nova.hypervisor_info stackops.nova.usage_info; do
  .venv/bin/ansible-doc "$plugin" >/dev/null
done
.venv/bin/ansible-doc -t inventory stackops.nova.hypervisors >/dev/null
echo "ansible-doc renders hypervisor_info, usage_info and the hypervisors inventory"

cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider integration/test_facts.py "$@"
