#!/usr/bin/env bash
# Placement audit on a real minicloud: tests/integration/test_placement_audit.py on
# tests/integration/audit_topology.yml (clean and busy cloud, every kind of drift injected,
# nova-manage placement audit as the oracle, the repair playbook), plus ansible-doc rendering of
# placement_audit. Starts its own cloud (port base 26000, its own state dir) and stops it at the
# end, also on failure. nova-manage comes from the project's virtualenv (nova is a dependency);
# the cell database is edited with Python's sqlite3: no Debian package is needed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export AUDIT_STATE_DIR="${AUDIT_STATE_DIR:-$root/.cache/audit-it}"
export AUDIT_PORT_BASE="${AUDIT_PORT_BASE:-26000}"

stop_cloud() {
  if [ "${AUDIT_KEEP:-0}" != 1 ] && [ -f "$AUDIT_STATE_DIR/state.json" ]; then
    .venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$AUDIT_STATE_DIR" >/dev/null 2>&1 || true
  fi
}
trap stop_cloud EXIT

.venv/bin/ansible-doc stackops.nova.placement_audit >/dev/null
.venv/bin/ansible-playbook --syntax-check playbooks/placement_repair.yml >/dev/null
echo "ansible-doc renders placement_audit; placement_repair.yml parses"

cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider integration/test_placement_audit.py "$@"
