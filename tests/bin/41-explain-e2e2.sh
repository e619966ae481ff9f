#!/usr/bin/env bash
# Stage 41: the explain engine end to end on a second minicloud topology
# (tests/e2e/topologies/explain2.yml): forced hosts in and out of the requested AZ, forced
# hosts against server group policies (nova-compute's claim-time check), isolated host/image,
# isolated and tenant aggregates, an aarch64 image, capabilities on data the API may not
# return, IoOps / NumInstances limits, headroom booted server by server, the assumed
# configuration and project names. Each scenario is explained, then booted for real.
# Env: EXPLAIN_E2E2_PORT_BASE (default 23000).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.venv/bin/python"
ctl="$root/tests/minicloud/minicloudctl"
state="$root/.cache/explain/e2e2"
port_base="${EXPLAIN_E2E2_PORT_BASE:-23000}"
report="$root/.cache/explain/e2e2-report.json"

cleanup() { "$py" "$ctl" stop --state-dir "$state" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
cleanup
mkdir -p "$(dirname "$report")"
rm -f "$report"

if ! "$py" "$ctl" start --topology "$root/tests/e2e/topologies/explain2.yml" --state-dir "$state" \
     --port-base "$port_base" --timeout 900; then
  echo "minicloud did not start; logs in $state/logs" >&2
  exit 1
fi

(cd "$root/tests" && EXPLAIN_E2E2_STATE_DIR="$state" EXPLAIN_E2E2_PORT_BASE="$port_base" EXPLAIN_E2E2_KEEP=1 \
   E2E_REPORT="$report" "$py" -m pytest -q -p no:cacheprovider -W ignore e2e/test_explain_e2e2.py "$@")

"$py" - "$report" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
decided = [r for r in rows if r["agree"] is not None]
undecided = [r for r in rows if r["agree"] is None]
agree = sum(bool(r["agree"]) for r in decided)
print("explain e2e2: %d/%d decided scenarios agree with Nova; %d undecided (fits unknown, named: %s)"
      % (agree, len(decided), len(undecided), "; ".join("%s: %s -> Nova %s" % (
          r["scenario"], ",".join(r.get("unknowns") or []), ",".join(r.get("actual_status") or [])) for r in undecided)
         or "none"))
sys.exit(0 if agree == len(decided) else 1)
PY
