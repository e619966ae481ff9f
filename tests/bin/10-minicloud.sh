#!/usr/bin/env bash
# Stage 10: minicloud self-test. Starts tests/minicloud/topologies/test.yml (real keystone,
# placement and nova with fake computes on 127.0.0.1), runs tests/minicloud/test_minicloud.py,
# (and the topology loader tests), prints start time and peak RSS per process, and always stops the cloud (trap).
# Env: MINICLOUD_PORT_BASE (default 15100, away from the demo cloud's default ports).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.venv/bin/python"
ctl="$root/tests/minicloud/minicloudctl"
state="$root/.cache/minicloud/selftest"
port_base="${MINICLOUD_PORT_BASE:-15100}"

cleanup() { "$py" "$ctl" stop --state-dir "$state" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

# A previous run killed hard may have left this cloud running: start fresh.
"$py" "$ctl" stop --state-dir "$state" >/dev/null 2>&1 || true

t0=$(date +%s%N)
if ! "$py" "$ctl" start --topology "$root/tests/minicloud/topologies/test.yml" \
     --state-dir "$state" --port-base "$port_base"; then
  echo "minicloud did not start; logs in $state/logs" >&2
  tail -n 30 "$state"/logs/*.stdout.log >&2 || true
  exit 1
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "minicloud start (test topology): $((ms / 1000)).$(( (ms % 1000) / 100 )) s wall"

rc=0
(cd "$root/tests" && MINICLOUD_STATE_DIR="$state" MINICLOUD_PORT_BASE="$port_base" \
   MINICLOUD_KEEP=1 "$py" -m pytest -q -p no:cacheprovider minicloud/test_paths.py minicloud/test_topology.py minicloud/test_minicloud.py "$@") || rc=$?

# Memory after the tests (peak = VmHWM of each process since it started).
"$py" "$ctl" status --state-dir "$state" | "$py" -c '
import json, sys
s = json.load(sys.stdin)
tot = 0.0
for name, p in sorted(s["processes"].items()):
    print("minicloud %-9s pid %-7s rss %6.1f MB  peak %6.1f MB" % (
        name, p.get("pid"), p.get("rss_mb", 0), p.get("peak_rss_mb", 0)))
    tot += p.get("peak_rss_mb", 0)
print("minicloud total peak RSS: %.1f MB; start phases: %s" % (tot, json.dumps(
    json.load(open(s["state_dir"] + "/state.json")).get("phases"))))
' || true
exit $rc
