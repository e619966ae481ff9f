#!/usr/bin/env bash
# make demo: start minicloud (demo topology) and run the collection's main playbooks against it.
# The cloud keeps running afterwards so you can explore it; `make cloud-stop` stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
topology="${TOPOLOGY:-tests/minicloud/topologies/demo.yml}"
state="${CLOUD_STATE:-$root/.cache/minicloud/demo}"
# DEMO_PORT_BASE=N: the cloud on ports N..N+3 instead of the defaults (5000, 8778, 8774, 8775).
port_args=()
[[ -n "${DEMO_PORT_BASE:-}" ]] && port_args=(--port-base "$DEMO_PORT_BASE")
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections" ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"

echo "== starting minicloud ($topology) =="
clouds_yaml=$(.venv/bin/python tests/minicloud/minicloudctl start --topology "$topology" --state-dir "$state" \
    ${port_args[@]+"${port_args[@]}"} | tail -n 1)
export OS_CLIENT_CONFIG_FILE="$clouds_yaml"

echo
echo "== the fleet: services, compute nodes with their placement capacity, headroom for m1.large =="
report_dir="${REPORT_DIR:-$root/.cache/report}"
mkdir -p "$report_dir"
.venv/bin/ansible-playbook playbooks/fleet_report.yml -e fleet_cloud=minicloud -e fleet_flavor=m1.large \
    -e fleet_html_report="$report_dir/fleet.html"

echo
echo "== why would a request not fit, and where does one fit? =="
.venv/bin/ansible-playbook playbooks/explain.yml -e explain_cloud=minicloud -e @tests/e2e/explain-demo-vars.yml \
    -e explain_nova_db="sqlite:///$state/nova_cell1.db" -e explain_html_report="$report_dir/demo.html"

cat <<MSG

The HTML report (fleet and explanations, one self-contained file; docs/report.md):
  $report_dir/demo.html
and the fleet alone: $report_dir/fleet.html

minicloud is still running. Try it yourself:
  export OS_CLIENT_CONFIG_FILE=$clouds_yaml ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH
  .venv/bin/openstack --os-cloud minicloud compute service list
  .venv/bin/ansible-playbook playbooks/explain.yml -e explain_cloud=minicloud \\
      -e '{"explain_requests": [{"flavor": "m1.xlarge", "availability_zone": "az2"}]}'
Stop it with: make cloud-stop CLOUD_STATE=$state
MSG
