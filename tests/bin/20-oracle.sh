#!/usr/bin/env bash
# Stage 20: the explain engine's unit tests, then its oracle: every modelled host filter
# against Nova's own filter classes (installed in .venv) on ORACLE_EXAMPLES random cases
# (default 1000; each case = 3 hosts x 19 filters), the weighers against Nova's
# HostWeightHandler with all_weighers, the NUMA fitting (explain/numa.py) against
# nova.virt.hardware and NUMATopologyFilter, PCI passthrough against PciDeviceStats /
# PciPassthroughFilter, the NUMA fit with PCI devices (explain/numa_pci.py) against
# numa_fit_instance_to_host with a real PciDeviceStats, and the request filters against
# nova.scheduler.request_filter (ORACLE_EXAMPLES cases each), and the whole pipeline (prefilters,
# placement, filters, weighers, multi-create, claim, headroom, relaxations) against Nova's
# request filters, HostManager and scheduler loop on ORACLE_PIPELINE_EXAMPLES random clouds
# (default 1000: 25 s on an idle 2-core machine, 60-70 s at load 6). Prints the per-filter counts.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.venv/bin/python"
report="$root/.cache/oracle/explain-filters.json"
wreport="$root/.cache/oracle/explain-weighers.json"
preport="$root/.cache/oracle/explain-pci.json"
rreport="$root/.cache/oracle/explain-request-filters.json"
nreport="$root/.cache/oracle/explain-numa.json"
npreport="$root/.cache/oracle/explain-numa-pci.json"
pipreport="$root/.cache/oracle/explain-pipeline.json"
mkdir -p "$(dirname "$report")"
rm -f "$report" "$wreport" "$preport" "$rreport" "$nreport" "$npreport" "$pipreport"
cd "$root/tests"
"$py" -m pytest -q -p no:cacheprovider unit/plugins/module_utils/_nova/explain
ORACLE_EXAMPLES="${ORACLE_EXAMPLES:-1000}" ORACLE_REPORT="$report" ORACLE_REPORT_WEIGHERS="$wreport" \
  ORACLE_REPORT_PCI="$preport" ORACLE_REPORT_REQUEST_FILTERS="$rreport" ORACLE_REPORT_NUMA="$nreport" \
  ORACLE_REPORT_NUMA_PCI="$npreport" ORACLE_REPORT_PIPELINE="$pipreport" \
  ORACLE_PIPELINE_EXAMPLES="${ORACLE_PIPELINE_EXAMPLES:-1000}" \
  OS_NOVA_DISABLE_EVENTLET_PATCHING=1 \
  "$py" -m pytest -q -p no:cacheprovider -p no:logging -W ignore oracle/test_filters_oracle.py oracle/test_weighers_oracle.py \
  oracle/test_pci_oracle.py oracle/test_request_filters_oracle.py oracle/test_numa_oracle.py oracle/test_numa_pci_oracle.py \
  oracle/test_pipeline_oracle.py oracle/test_coverage.py "$@"
"$py" - "$report" "$wreport" "$preport" "$rreport" "$nreport" "$npreport" "$pipreport" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
w = json.load(open(sys.argv[2]))
p = json.load(open(sys.argv[3]))
r = json.load(open(sys.argv[4]))
n = json.load(open(sys.argv[5]))
np_ = json.load(open(sys.argv[6]))
pl = json.load(open(sys.argv[7]))
print("oracle pipeline: %d random clouds (4 hosts, hidden data) x requests, %d refused by Nova's API or request "
      "filters; %d host verdicts (fits %d, does not %d, unknown %d); request fits %d, does not fit %d, unknown %d; "
      "%d multi-create counts, %d headrooms booted one by one (%d unknown), %d relaxations applied and booted; "
      "%d disagreements"
      % (pl["cases"], pl["nova_api_refused"], pl["host_verdicts"], pl["host_pass"], pl["host_fail"],
         pl["host_unknown"], pl["fits"], pl["does_not_fit"], pl["fit_unknown"], pl["placed_compared"],
         pl["headroom_compared"], pl["headroom_unknown"], pl["relaxations_verified"], pl["disagreements"]))
print("oracle NUMA: %d cases (flavor + image x 3 hosts): %d refused by Nova's API (same refusals), %d without a "
      "guest topology, %d topologies; %d fits compared with numa_fit_instance_to_host (%d fit, %d no fit, up to 3 "
      "guests per host consumed one by one), %d chosen cells/pinning compared; NUMATopologyFilter %d host "
      "verdicts (pass %d, fail %d); %d disagreements"
      % (n["cases"], n["request_errors"], n["no_topology"], n["topologies"], n["fits_compared"], n["fit"],
         n["no_fit"], n["chosen_cells_compared"], n["filter_verdicts"], n["filter_pass"], n["filter_fail"],
         n["disagreements"]))
print("oracle NUMA+PCI: %d cases (NUMA guest + PCI alias x 2 hosts with PCI pools per NUMA node): %d refused by "
      "Nova's API (same refusals); %d fits compared with numa_fit_instance_to_host + PciDeviceStats (%d fit, %d no "
      "fit; in %d fits the PCI NUMA affinity refused a candidate cell set; policies %s), %d pool states compared after "
      "consumption; NUMATopologyFilter %d host verdicts (pass %d, fail %d); %d disagreements"
      % (np_["cases"], np_["request_errors"], np_["fits_compared"], np_["fit"], np_["no_fit"],
         np_["pci_refused_a_numa_fit"], np_["policies"], np_["pools_compared"], np_["filter_verdicts"],
         np_["filter_pass"], np_["filter_fail"], np_["disagreements"]))
print("oracle NUMA+PCI count>1: %d host runs of up to 4 instances through Nova's PciPassthroughFilter, NUMATopologyFilter "
      "and HostState.consume_from_request (%d verdicts compared, %d instances placed, %d PCI failures after "
      "consumption; %d cases skipped: any/large pages), %d runs with aliases sharing devices; known gap left open: "
      "%d NUMATopologyFilter differences after shared-device consumption"
      % (np_["multi_cases"], np_["multi_verdicts"], np_["multi_placed"], np_["multi_pci_fail_after_consumption"],
         np_["multi_skipped_any_large_pages"], np_["overlap_cases"], np_["overlap_numa_filter_known_gap"]))
print("oracle PciPassthroughFilter: %d cases, %d host verdicts (pass %d, fail %d, Nova refuses %d, unknown pools %d), "
      "%d support_requests with guest NUMA cells (pass %d, fail %d; policies %s), %d consumption steps, "
      "%d disagreements"
      % (p["cases"], p["filter_host_verdicts"], p["pass"], p["fail"], p["error"], p.get("unknown", 0),
         p["numa_verdicts"], p.get("numa_pass", 0), p.get("numa_fail", 0), p["policies"], p["consume_verdicts"],
         p["disagreements"]))
m = p.get("metrics", {})
print("oracle MetricsFilter: %d host verdicts (pass %d, fail %d) against Nova's class, 0 disagreements or the test fails"
      % (m.get("pass", 0) + m.get("fail", 0), m.get("pass", 0), m.get("fail", 0)))
for name, v in sorted(r.items()):
    print("oracle request filter %-30s cases %5d  adds %4d  nothing %4d  Nova raises %4d  unknown %4d  disagreements %d"
          % (name, v["cases"], v["added"], v["none"], v["error"], v["unknown"], v["disagreements"]))
bad_extra = pl["disagreements"] + p["disagreements"] + n["disagreements"] + np_["disagreements"] + sum(v["disagreements"] for v in r.values())
print("oracle weighers: %d cases, %d host weights compared with Nova's HostWeightHandler, %d disagreements"
      % (w["cases"], w["host_weights"], w["disagreements"]))
total = sum(v["host_verdicts"] for v in data.values())
bad = sum(v["disagreements"] for v in data.values())
for name, v in sorted(data.items()):
    print("oracle %-34s cases %5d  host verdicts %5d  pass %5d fail %5d nova-raises %4d  unknown (data absent) %4d"
          "  disagreements %d" % (name, v["cases"], v["host_verdicts"], v["pass"], v["fail"], v["error"],
                                  v.get("unknown", 0), v["disagreements"]))
print("oracle total: %d host verdicts over %d filters, %d unknown where the snapshot lacks the data Nova reads, "
      "%d disagreements" % (total, len(data), sum(v.get("unknown", 0) for v in data.values()), bad))
sys.exit(1 if bad or w["disagreements"] or bad_extra else 0)
PY
