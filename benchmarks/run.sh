#!/usr/bin/env bash
# make benchmarks: every benchmark, each measuring us against the alternative in the same run.
# Results go to benchmarks/results/ (not committed); docs/performance.md holds the reported figures.
# Not part of make test: benchmarks measure, they do not pass or fail on timings.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/benchmarks/results"
mkdir -p "$out"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections" ANSIBLE_CONFIG="$root/tests/ansible.cfg"
export OS_NOVA_DISABLE_EVENTLET_PATCHING=1

echo "== explain engine vs Nova's filter pass (1,000 and 10,000 hosts)"
.venv/bin/python benchmarks/explain_bench.py --hosts 1000,10000 --repeat 5 --json "$out/explain.json"

echo "== log parsing (200 MB generated from real formatter output)"
.venv/bin/python benchmarks/history_parse.py --mb 200 > "$out/history.txt"
cat "$out/history.txt"

echo "== hypervisor_info vs the sequential openstack CLI on a 200-hypervisor minicloud"
.venv/bin/python benchmarks/facts_bench.py --port-base 19000 | tee "$out/facts.txt"

echo "== hypervisor_info: hosts once vs twice (and the code before the change) on a 200-hypervisor minicloud"
.venv/bin/python benchmarks/hosts_once_bench.py --port-base 27200 --repeat 5 --json "$out/hosts_once.json"

echo "== the HTML report at 1,000 and 10,000 hosts vs a naive table, in headless Chromium"
.venv/bin/python benchmarks/report_bench.py --hosts 1000,10000 --repeat 3 --json "$out/report.json"
echo "== placement_audit vs nova-manage placement audit on a 200-hypervisor minicloud"
.venv/bin/python benchmarks/audit_bench.py --port-base 26500 --json "$out/audit.json"
echo "== relaxation search growth, no-fit count 2 (1,000 to 10,000 hosts)"
.venv/bin/python benchmarks/relax_scaling.py --hosts 1000,2000,4000,10000 --json "$out/relax_scaling.json"

echo "== offline scheduling_explain on a 2,000-host snapshot vs the engine call and Ansible's start-up"
.venv/bin/python benchmarks/offline_explain_bench.py --hosts 2000 --json "$out/offline_explain.json"

echo "== placement read, per provider vs bulk, 1,000 providers"
.venv/bin/python benchmarks/placement_scale_bench.py --providers 1000 --port-base 19200 --json "$out/placement_scale.json"
# Before/after of the whole cloud read needs the previous code unpacked (git archive) in DIR:
#   .venv/bin/python benchmarks/facts_scale_bench.py --before DIR --nodes 200 --inventory --port-base 19100
