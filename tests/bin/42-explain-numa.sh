#!/usr/bin/env bash
# Stage 42: NUMA, CPU pinning, huge pages and PCI end to end (issue 11) on minicloud
# (tests/minicloud/topologies/numa.yml: the fake driver reports NUMA cells and PCI devices, Nova's
# own NUMATopologyFilter and PciPassthroughFilter run). Each scenario is explained, then booted
# for real; the snapshot's "capacity + compute API" NUMA state is checked against Nova's DB.
# Scenarios marked "numa"/"pci" need the NUMA engine / PCI filter of the explain engine.
# Env: EXPLAIN_NUMA_PORT_BASE (default 28000).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.venv/bin/python"
ctl="$root/tests/minicloud/minicloudctl"
state="$root/.cache/explain/numa"
port_base="${EXPLAIN_NUMA_PORT_BASE:-28000}"
report="$root/.cache/explain/numa-report.json"

cleanup() { "$py" "$ctl" stop --state-dir "$state" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
cleanup
mkdir -p "$(dirname "$report")"
rm -f "$report"

if ! "$py" "$ctl" start --topology "$root/tests/minicloud/topologies/numa.yml" --state-dir "$state" \
     --port-base "$port_base" --timeout 600; then
  echo "minicloud did not start; logs in $state/logs" >&2
  exit 1
fi

rc=0
(cd "$root/tests" && EXPLAIN_NUMA_STATE_DIR="$state" EXPLAIN_NUMA_PORT_BASE="$port_base" EXPLAIN_NUMA_KEEP=1 \
   E2E_REPORT="$report" "$py" -m pytest -q -p no:cacheprovider -W ignore e2e/test_explain_numa_e2e.py "$@") || rc=$?

"$py" - "$report" <<'PY' || rc=1
import json, os, sys
if not os.path.exists(sys.argv[1]):
    sys.exit("explain numa: no scenario ran")
rows = json.load(open(sys.argv[1]))
decided = [r for r in rows if r["agree"] is not None]
undecided = [r for r in rows if r["agree"] is None]
agree = sum(bool(r["agree"]) for r in decided)
print("explain numa: %d scenarios booted; %d/%d decided predictions agree with Nova; %d undecided (%s)"
      % (len(rows), agree, len(decided), len(undecided),
         "; ".join("%s [%s]" % (r["scenario"], r["engine_part"]) for r in undecided) or "none"))
sys.exit(0 if agree == len(decided) and not undecided else 1)
PY
exit $rc
