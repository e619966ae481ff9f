#!/usr/bin/env bash
# Stage 43: one headroom (issue 9). On tests/e2e/topologies/headroom.yml, for a plain flavor, a
# pinned one (PCPU with Nova's VCPU fallback), one that max_unit / step_size keep off some hosts,
# one under NumInstancesFilter and one in an anti-affinity group (max_server_per_host 2): both
# scheduling_explain's and hypervisor_info's headroom, then servers booted one by one until
# NoValidHost; each module's prediction must equal what Nova placed, host by host.
# Env: HEADROOM_E2E_PORT_BASE (default 27000).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
py="$root/.venv/bin/python"
ctl="$root/tests/minicloud/minicloudctl"
state="$root/.cache/headroom/cloud"
port_base="${HEADROOM_E2E_PORT_BASE:-27000}"
report="$root/.cache/headroom/e2e-report.json"

cleanup() { [ "${HEADROOM_E2E_KEEP:-0}" = 1 ] || "$py" "$ctl" stop --state-dir "$state" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
mkdir -p "$(dirname "$report")"
rm -f "$report"

(cd tests && HEADROOM_E2E_STATE_DIR="$state" HEADROOM_E2E_PORT_BASE="$port_base" HEADROOM_E2E_KEEP=1 \
   E2E_REPORT="$report" "$py" -m pytest -q -p no:cacheprovider -W ignore e2e/test_headroom_e2e.py "$@")

"$py" - "$report" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
both = sum(1 for r in rows if r["agree_explain"] and r["agree_hypervisor_info"])
hosts = sum(len(set(r["placed"]) | set(r["explain_per_host"]) | set(r["hypervisor_info_per_host"])) for r in rows)
servers = sum(sum(r["placed"].values()) for r in rows)
print("headroom: %d/%d flavor kinds where scheduling_explain and hypervisor_info both equal what Nova placed "
      "(%d servers on %d hosts): %s" % (both, len(rows), servers, hosts,
      "; ".join("%s %s" % (r["kind"], r["placed"]) for r in rows)))
sys.exit(0 if both == len(rows) else 1)
PY
