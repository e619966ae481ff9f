"""Benchmark: how fast novalog parses big Nova logs (MB/s, lines/s), whole and filtered.

The log is built from real lines: oslo.log's formatter fed by Nova's own code paths
(tests/unit/plugins/module_utils/novalog_oracle.py), repeated with fresh request ids and
instance uuids until it reaches the wanted size. Then, on that file:

* full parse: every record (``parse_file``), then the scheduling events of every record;
* filtered parse: only the records of one request id and instance uuid (``match=``), the
  path ``server_history`` takes;
* the history of that one server from the filtered records.

With ``--source FILE...`` the lines of those files (for example a minicloud's
``logs/nova-*.log``, real nova output with all its noise) are repeated instead, with their
request ids and uuids renewed per copy; the needle is a request id taken from them.

Usage: python benchmarks/history_parse.py [--mb 200] [--variant default|json|journald] [--source FILE...] [--keep FILE]
Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".build" / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "module_utils" / "_nova" / "logs"))

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history, novalog  # noqa: E402


def build_log(path, megabytes, variant, sources=None):
    if sources:
        return build_from_sources(path, megabytes, sources)
    import novalog_oracle as oracle
    text, facts = oracle.generate(variant)
    ids = [oracle.REQ_RESCHEDULE, oracle.REQ_PLACEMENT, oracle.REQ_FILTER, oracle.GLOBAL_REQ,
           oracle.INST_RESCHEDULE, oracle.INST_PLACEMENT, oracle.INST_FILTER]
    target = megabytes * 1024 * 1024
    written = 0
    copies = 0
    needle = None
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            chunk = text
            fresh = {}
            for old in ids:
                new = ("req-%s" % uuid.uuid4()) if old.startswith("req-") else str(uuid.uuid4())
                fresh[old] = new
                chunk = chunk.replace(old, new)
            if needle is None and written >= target // 2:
                needle = (fresh[oracle.REQ_RESCHEDULE], fresh[oracle.INST_RESCHEDULE], facts)
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            copies += 1
    return copies, needle, len(text.splitlines())


CPU = {}


def build_from_sources(path, megabytes, sources):
    """Repeat real log files, renewing every request id / uuid per copy (one regex pass)."""
    import re
    text = "".join(open(src, encoding="utf-8", errors="replace").read() for src in sources)
    failing = None
    for rec in novalog.parse_text(text):
        ev = novalog.classify(rec)
        if ev and ev["kind"] == "error_from_last_host" and rec.request_id and rec.instance:
            failing = (rec.request_id, rec.instance)
            break
    # every request id and uuid, renewed per copy (one compiled pattern, a dict per copy)
    pattern = re.compile(r"(?:req-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    target = megabytes * 1024 * 1024
    written = copies = 0
    needle = None
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            fresh = {}
            chunk = pattern.sub(lambda m: fresh.setdefault(m.group(0), ("req-%s" % uuid.uuid4())
                                                           if m.group(0).startswith("req-") else str(uuid.uuid4())),
                                text)
            if needle is None and written >= target // 2 and failing:
                needle = (fresh.get(failing[0], failing[0]), fresh.get(failing[1], failing[1]),
                          {"reschedule_fault": "Exceeded maximum number of retries."})
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            copies += 1
    return copies, needle, len(text.splitlines())


def timed(func):
    """(value, wall seconds); the CPU seconds of the last call are kept in CPU['last']."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    value = func()
    CPU["last"] = time.process_time() - c0
    return value, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--variant", default="default")
    parser.add_argument("--keep", help="write the generated log here and keep it")
    parser.add_argument("--source", nargs="+", help="repeat these real log files instead of the oracle")
    args = parser.parse_args(argv)
    tmpdir = tempfile.mkdtemp(prefix="history-bench-")
    path = args.keep or os.path.join(tmpdir, "nova-big.log")
    (copies, needle, lines_per_copy), gen_s = timed(lambda: build_log(path, args.mb, args.variant, args.source))
    size = os.path.getsize(path)
    mb = size / 1e6

    stats = novalog.ParseStats()
    records, full_s = timed(lambda: novalog.parse_file(path, stats=stats))
    full_cpu = CPU["last"]
    nrec = len(records)
    events, ev_s = timed(lambda: sum(1 for r in records if novalog.classify(r) is not None))
    ev_cpu = CPU["last"]
    del records
    rss_full = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    req, inst, facts = needle
    fstats = novalog.ParseStats()
    subset, match_s = timed(lambda: novalog.parse_file(path, match=[req, inst], stats=fstats))
    match_cpu = CPU["last"]
    server = {"id": inst, "name": "bench", "status": "ERROR",
              "fault": {"message": facts["reschedule_fault"], "code": 500}}
    action = {"action": "create", "request_id": req, "start_time": subset[0].time if subset else None,
              "events": []}
    hist, hist_s = timed(lambda: history.build_history(server, [action], subset))
    result = {
        "source": "real files: %s" % ", ".join(os.path.basename(p) for p in args.source) if args.source
        else "oracle variant %s" % args.variant,
        "file_mb": round(mb, 1),
        "lines": stats.lines,
        "copies_of_the_real_scenario": copies,
        "generate_s": round(gen_s, 2),
        "full_parse": {"seconds": round(full_s, 2), "cpu_seconds": round(full_cpu, 2),
                       "mb_per_cpu_s": round(mb / full_cpu, 1), "mb_per_s": round(mb / full_s, 1),
                       "lines_per_s": int(stats.lines / full_s), "records": nrec,
                       "unparsed": stats.unparsed},
        "classify_all_records": {"seconds": round(ev_s, 2), "cpu_seconds": round(ev_cpu, 2),
                                 "records_per_cpu_s": int(nrec / ev_cpu) if ev_cpu else None,
                                 "records_per_s": int(nrec / ev_s) if ev_s else None,
                                 "events": events},
        "filtered_parse": {"seconds": round(match_s, 2), "cpu_seconds": round(match_cpu, 2),
                           "mb_per_cpu_s": round(mb / match_cpu, 1), "mb_per_s": round(mb / match_s, 1),
                           "lines_per_s": int(fstats.lines / match_s), "records_kept": len(subset),
                           "lines_skipped": fstats.skipped},
        "history_of_one_server_s": round(hist_s, 4),
        "history_outcome": hist["outcome"],
        "history_attempts": len(hist["requests"][0]["attempts"]) if hist["requests"] else 0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_full_parse_mb": round(rss_full, 1),
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    if not args.keep:
        os.unlink(path)
        os.rmdir(tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
