# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse Nova's oslo.log output into records, and recognise the scheduling events in them.

Private library code of stackops.nova: pure Python over plain data (no Ansible imports),
used by the ``server_history`` module and the ``parse_nova_log`` filter.

Accepted line formats (any mix, one file may contain several):

* oslo.log's default ``logging_context_format_string``
  ``%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [%(global_request_id)s
  %(request_id)s %(user_identity)s] %(instance)s%(message)s`` and the context-less
  ``... %(name)s [-] %(instance)s%(message)s``; the same without the pid (older releases,
  devstack files); DEBUG lines with the ``%(funcName)s %(pathname)s:%(lineno)d`` suffix
  (or devstack's ``{{(pid=N) func path:line}}``), which is split off into ``func``/``source``.
* Tracebacks: oslo.log repeats ``logging_exception_prefix`` (``asctime pid ERROR name
  [instance: X]``, no context bracket; ``TRACE`` in old releases) on every line; those lines
  are joined to the record they belong to (``traceback``). Lines without any prefix
  (a message with embedded newlines) are joined to the record before them (``message``).
* A journald / syslog prefix (``Nov 21 14:20:46 host nova-scheduler[123]: `` in the
  short, short-precise, short-iso and short-iso-precise forms) before either an oslo line
  or devstack's timestamp-less ``LEVEL name [context] message`` form; ANSI colours are removed.
* One JSON object per line from ``oslo_log.formatters.JSONFormatter``.

Big logs: :func:`iter_records` streams, and with ``match`` (request ids, instance uuids)
only lines containing one of those strings (and the lines continuing them) are parsed.
Lines that belong to no record are counted in :class:`ParseStats` and skipped.
"""

from __future__ import annotations

import ast
import json
import re

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "TRACE", "AUDIT", "WARN")
_LEVEL_ALT = "|".join(LEVELS)

# 2026-11-21 14:20:46.123 [pid] LEVEL logger rest
_OSLO_HEAD = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<clock>\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)(?:[.,]\d+)?"
    r"(?:Z|[+-]\d{2}:?\d{2})? +(?:(?P<pid>\d+) +)?(?P<level>" + _LEVEL_ALT + r") +"
    r"(?P<logger>[A-Za-z_][\w.\-]*)(?: +(?P<rest>.*)|$)")
# devstack under journald: LEVEL logger rest (no timestamp of its own)
_BARE_HEAD = re.compile(r"(?P<level>" + _LEVEL_ALT + r") +(?P<logger>[A-Za-z_][\w.\-]*)(?: +(?P<rest>.*)|$)")
_MONTHS = {m: "%02d" % (i + 1) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}
_JOURNAL = re.compile(
    r"(?:(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(?P<day>\d{1,2}) "
    r"(?P<jclock>\d{2}:\d{2}:\d{2}(?:\.\d+)?)"
    r"|(?P<jdate>\d{4}-\d{2}-\d{2})T(?P<jiclock>\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:Z|[+-]\d{2}:?\d{2})?)"
    r" (?P<host>\S+) (?P<ident>[^\s\[:]+)(?:\[(?P<jpid>\d+)\])?: ?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_INSTANCE_TAG = re.compile(r"\[instance: (?P<uuid>[0-9a-fA-F-]{36})\] ?")
_DEBUG_SUFFIX = re.compile(r" (?P<func>[\w<>.]+) (?P<path>\S+\.py):(?P<line>\d+)$")
_DEVSTACK_SUFFIX = re.compile(r" ?\{\{\(pid=(?P<pid>\d+)\) (?P<func>[\w<>.]+) (?P<path>\S+\.py):(?P<line>\d+)\}\}$")
_REQ = re.compile(r"^req-[0-9a-fA-F-]{36}$")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class NovaLogError(Exception):
    """Input that cannot be read at all (an unreadable file, a wrong type)."""


class ParseStats:
    """Counters of one parse: lines read, bytes, records, continuation and skipped lines."""

    __slots__ = ("lines", "bytes", "records", "continuations", "unparsed", "skipped", "json_errors")

    def __init__(self):
        self.lines = 0
        self.bytes = 0
        self.records = 0
        self.continuations = 0
        self.unparsed = 0
        self.skipped = 0
        self.json_errors = 0

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def add(self, other):
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


class Record:
    """One log record (a line plus the lines continuing it)."""

    __slots__ = ("time", "pid", "level", "logger", "global_request_id", "request_id", "user", "project",
                 "instance", "message", "traceback", "func", "source", "host", "service", "origin", "line",
                 "_extra", "_tb", "_debug_suffix")

    def __init__(self, time=None, pid=None, level=None, logger=None, global_request_id=None, request_id=None,
                 user=None, project=None, instance=None, message="", traceback=None, func=None, source=None,
                 host=None, service=None, origin=None, line=None):
        self.time = time
        self.pid = pid
        self.level = level
        self.logger = logger
        self.global_request_id = global_request_id
        self.request_id = request_id
        self.user = user
        self.project = project
        self.instance = instance
        self.message = message
        self.traceback = traceback
        self.func = func
        self.source = source
        self.host = host
        self.service = service
        self.origin = origin
        self.line = line
        self._extra = None
        self._tb = None
        self._debug_suffix = False

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__ if not name.startswith("_")}

    @classmethod
    def from_dict(cls, data):
        rec = cls()
        for name in cls.__slots__:
            if not name.startswith("_") and name in data:
                setattr(rec, name, data[name])
        return rec

    def __repr__(self):
        return "Record(%s %s %s [%s] %r)" % (self.time, self.level, self.logger, self.request_id, self.message[:60])

    # -- building ---------------------------------------------------------------------------
    def _add_message_line(self, text):
        if self._extra is None:
            self._extra = []
        self._extra.append(text)

    def _add_traceback_line(self, text):
        if self._tb is None:
            self._tb = []
        self._tb.append(text)

    def _finish(self):
        if self._extra:
            self.message = "\n".join([self.message] + self._extra)
            self._extra = None
        if self._debug_suffix and self.func is None:
            _split_debug_suffix(self)
        if self._tb:
            lines = self._tb
            while lines and not lines[-1].strip():
                lines.pop()
            self.traceback = "\n".join(lines) if lines else None
            self._tb = None
        return self


def _split_suffix_of(text):
    """(message, func, source, pid) when ``text`` ends with a DEBUG suffix, else None."""
    if text.endswith("}}"):
        m = _DEVSTACK_SUFFIX.search(text)
        if m:
            return text[:m.start()], m.group("func"), "%s:%s" % (m.group("path"), m.group("line")), \
                int(m.group("pid"))
        return None
    parts = text.rsplit(" ", 2)
    if len(parts) == 3:
        path, sep, line = parts[2].rpartition(":")
        if sep and line.isdigit() and path.endswith(".py"):
            return parts[0], parts[1], parts[2], None
    return None


def _split_debug_suffix(rec):
    """Move the DEBUG suffix (end of the message, or of its first line) into func/source."""
    msg = rec.message
    found = _split_suffix_of(msg)
    keep = ""
    if found is None and "\n" in msg:
        first, nl, tail = msg.partition("\n")
        found = _split_suffix_of(first)
        keep = nl + tail
    if found is not None:
        rec.message = found[0] + keep
        rec.func = found[1]
        rec.source = found[2]
        if rec.pid is None and found[3] is not None:
            rec.pid = found[3]


def _parse_context(rec, rest):
    """Fill request ids, user, project, instance and message from what follows the logger."""
    if rest.startswith("[") and not rest.startswith("[instance: "):
        end = rest.find("]")
        if end < 0:
            rec.message = rest
            return True
        ctx = rest[1:end].split()
        rest = rest[end + 1:]
        if rest.startswith(" "):
            rest = rest[1:]
        if ctx and ctx != ["-"]:
            reqs = [i for i, tok in enumerate(ctx) if tok.startswith("req-")]
            if len(reqs) >= 2 and reqs[1] == reqs[0] + 1:
                rec.global_request_id = ctx[reqs[0]]
                rec.request_id = ctx[reqs[1]]
                users = ctx[reqs[1] + 1:]
            elif reqs:
                rec.request_id = ctx[reqs[0]]
                if reqs[0] > 0 and ctx[reqs[0] - 1] not in ("None", "-"):
                    rec.global_request_id = ctx[reqs[0] - 1]
                users = ctx[reqs[0] + 1:]
            else:
                users = []
            if users:
                rec.user = None if users[0] in ("None", "-") else users[0]
            if len(users) > 1:
                rec.project = None if users[1] in ("None", "-") else users[1]
        has_context = True
    else:
        has_context = False
    if rest.startswith("[instance: "):
        m = _INSTANCE_TAG.match(rest)
        if m:
            rec.instance = m.group("uuid")
            rest = rest[m.end():]
    rec.message = rest
    return has_context


def _journal_prefix(line):
    """(time, host, ident, pid, rest) for a journald/syslog line, else None."""
    if not line or not (line[0].isupper() or line[0].isdigit()):
        return None
    m = _JOURNAL.match(line)
    if not m:
        return None
    if m.group("mon"):
        time = "%s-%02d %s" % (_MONTHS[m.group("mon")], int(m.group("day")), m.group("jclock"))
    else:
        time = "%s %s" % (m.group("jdate"), m.group("jiclock"))
    pid = m.group("jpid")
    return time, m.group("host"), m.group("ident"), int(pid) if pid else None, line[m.end():]


def _json_record(line, stats):
    try:
        data = json.loads(line)
    except ValueError:
        stats.json_errors += 1
        return None
    if not isinstance(data, dict) or "message" not in data:
        stats.json_errors += 1
        return None
    ctx = data.get("context") or {}
    extra = data.get("extra") or {}
    rec = Record(level=data.get("levelname"), logger=data.get("name"), message=str(data.get("message", "")))
    asctime = data.get("asctime")
    if isinstance(asctime, str):
        msecs = data.get("msecs")
        time = asctime.replace(",", ".")
        if "." not in time[11:] and isinstance(msecs, (int, float)):
            time = "%s.%03d" % (time, int(msecs))
        rec.time = time
    pid = data.get("process")
    rec.pid = pid if isinstance(pid, int) else None
    if isinstance(ctx, dict):
        rec.request_id = ctx.get("request_id") or None
        rec.global_request_id = ctx.get("global_request_id") or None
        rec.user = ctx.get("user") or ctx.get("user_id") or None
        rec.project = ctx.get("project_id") or ctx.get("project") or ctx.get("tenant") or None
    inst = extra.get("instance_uuid") if isinstance(extra, dict) else None
    if not inst and isinstance(extra, dict):
        tag = extra.get("instance")
        if isinstance(tag, str):
            m = UUID_RE.search(tag)
            inst = m.group(0) if m else None
        elif isinstance(tag, dict):
            inst = tag.get("uuid")
    if not inst and isinstance(ctx, dict):
        inst = ctx.get("instance_uuid") or ctx.get("resource_uuid")
    rec.instance = inst or None
    tb = data.get("traceback")
    if tb:
        rec.traceback = tb if isinstance(tb, str) else "\n".join(str(x) for x in tb)
    summary = data.get("error_summary")
    if summary and summary not in rec.message:
        rec.message = "%s: %s" % (rec.message, summary)
    if data.get("funcname") and data.get("pathname"):
        rec.func = data.get("funcname")
        rec.source = "%s:%s" % (data.get("pathname"), data.get("lineno"))
    rec.host = data.get("hostname")
    return rec


def _head(line):
    """Split one physical line: (journal, body, oslo_match, bare_match); matches may be None."""
    journal = None
    body = line
    if line[10:11] != " " or not line[:4].isdigit():
        # not an oslo timestamp: maybe a journald / syslog prefix
        journal = _journal_prefix(line)
        if journal:
            body = journal[4]
    m = _OSLO_HEAD.match(body)
    if m:
        return journal, body, m, None
    if journal:
        b = _BARE_HEAD.match(body)
        if b:
            return journal, body, None, b
    return journal, body, None, None


def iter_records(lines, match=None, stats=None, origin=None, year=None):
    """Yield :class:`Record` objects from an iterable of text lines (a file object works).

    ``match``: an iterable of strings (request ids, instance uuids); when given, only records
    whose first line contains one of them are parsed and yielded (fast path for big logs).
    ``stats``: a :class:`ParseStats` to update. ``origin``: a label stored on each record
    (the file name). ``year``: for journald's year-less timestamps (kept as ``MM-DD ...`` if None).
    Never raises on bad lines: they are counted in ``stats.unparsed`` / ``stats.json_errors``.
    """
    if stats is None:
        stats = ParseStats()
    tokens = tuple(t for t in (match or ()) if t)
    current = None          # the record being built (yielded when the next one starts)
    skipping = False        # True while the lines continue a record we are not keeping
    lineno = 0
    for raw in lines:
        lineno += 1
        stats.lines += 1
        stats.bytes += len(raw)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        line = raw.rstrip("\r\n")
        if tokens and not (current is not None and not skipping):
            # not continuing a kept record: only lines naming a wanted id can matter
            hit = False
            for tok in tokens:
                if tok in line:
                    hit = True
                    break
            if not hit:
                # either a continuation of a skipped record or a new unwanted record
                stats.skipped += 1
                skipping = True
                continue
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        if line.startswith("{"):
            if current is not None:
                yield current._finish()
                current = None
            rec = _json_record(line, stats)
            skipping = False
            if rec is None:
                stats.unparsed += 1
                continue
            if tokens and not _record_matches(rec, tokens):
                skipping = True
                stats.skipped += 1
                continue
            rec.origin = origin
            rec.line = lineno
            stats.records += 1
            yield rec
            continue
        journal, body, m, bare = _head(line)
        if m is None and bare is None:
            # a line without a header: continues the current record (message with newlines)
            text = body if journal else line
            if current is not None:
                current._add_message_line(text)
                stats.continuations += 1
            elif skipping:
                stats.skipped += 1
            elif line.strip():
                stats.unparsed += 1
            continue
        hm = m or bare
        rest = hm.group("rest") or ""
        level = hm.group("level")
        logger = hm.group("logger")
        pid = m.group("pid") if m else None
        pid = int(pid) if pid else (journal[3] if journal else None)
        time = "%s %s" % (m.group("date"), m.group("clock").replace(",", ".")) if m else None
        has_ctx = rest.startswith("[") and not rest.startswith("[instance: ")
        if not has_ctx and current is not None and level in ("ERROR", "TRACE") and current.logger == logger and \
                (pid is None or current.pid is None or pid == current.pid) and \
                (time is None or current.time == time):
            # logging_exception_prefix: a traceback line of the current record
            tag = _INSTANCE_TAG.match(rest)
            current._add_traceback_line(rest[tag.end():] if tag else rest)
            stats.continuations += 1
            continue
        if current is not None:
            yield current._finish()
            current = None
        skipping = False
        rec = Record(level="WARNING" if level == "WARN" else level, logger=logger, pid=pid, origin=origin,
                     line=lineno)
        if m:
            rec.time = time
        elif journal:
            rec.time = journal[0] if (year is None or journal[0][4:5] == "-") else "%s-%s" % (year, journal[0])
        if journal:
            rec.host = journal[1]
            rec.service = journal[2]
        _parse_context(rec, rest)
        rec._debug_suffix = level == "DEBUG"
        if tokens and not _record_matches(rec, tokens):
            skipping = True
            stats.skipped += 1
            continue
        stats.records += 1
        current = rec
    if current is not None:
        yield current._finish()


def _record_matches(rec, tokens):
    for tok in tokens:
        if tok == rec.request_id or tok == rec.global_request_id or tok == rec.instance or tok in rec.message:
            return True
    return False


def parse_text(text, match=None, stats=None, origin=None, year=None):
    """Parse a whole string; returns a list of :class:`Record`."""
    if not isinstance(text, str):
        raise NovaLogError("log text must be a string, got %s" % type(text).__name__)
    return list(iter_records(text.splitlines(), match=match, stats=stats, origin=origin, year=year))


def parse_file(path, match=None, stats=None, year=None):
    """Parse one file, streaming; ``.gz`` files are decompressed. Raises NovaLogError naming the path."""
    import gzip
    try:
        if str(path).endswith(".gz"):
            handle = gzip.open(path, "rt", encoding="utf-8", errors="replace")
        else:
            handle = open(path, "r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NovaLogError("cannot read log file %s: %s" % (path, exc.strerror or exc)) from None
    try:
        with handle:
            return list(iter_records(handle, match=match, stats=stats, origin=str(path), year=year))
    except (OSError, EOFError) as exc:
        raise NovaLogError("cannot read log file %s: %s" % (path, exc)) from None


# ------------------------------------------------------------------------------------------
# Scheduling events
# ------------------------------------------------------------------------------------------
# Each pattern mirrors one of Nova's own message templates (nova 34 source, cited); the unit
# tests format those templates from the installed nova and check these patterns match.
_EV = [
    # nova/filters.py
    ("hosts_start", re.compile(r"^Starting with (?P<count>\d+) host\(s\)")),
    ("filter_returned", re.compile(r"^Filter (?P<filter>\w+) returned (?P<count>\d+) host\(s\)")),
    ("filter_returned", re.compile(r"^Filter (?P<filter>\w+) returned (?P<count>0) hosts")),
    ("filter_stop", re.compile(r"^Filter (?P<filter>\w+) says to stop filtering")),
    ("filtering_removed_all", re.compile(
        r"^Filtering removed all hosts for the request with instance ID '(?P<instance>[^']*)'\. "
        r"Filter results: (?P<results>.*)", re.S)),
    # nova/scheduler/manager.py
    ("schedule_start", re.compile(r"^Starting to schedule for instances: (?P<instances>.*)")),
    ("no_allocation_candidates", re.compile(r"^Got no allocation candidates from the Placement API")),
    ("filtered", re.compile(r"^Filtered (?P<hosts>\[.*)", re.S)),
    ("weighed", re.compile(r"^Weighed (?P<hosts>\[.*)", re.S)),
    ("conductor_selected", re.compile(
        r"^Selected host: (?P<host>[^;]+); Selected node: (?P<node>[^;]+); Alternates: (?P<alternates>.*)", re.S)),
    ("scheduler_selected", re.compile(r"^Selected host: \((?P<host>[^,]+), (?P<node>[^)]+)\)")),
    ("scheduler_selected", re.compile(r"^Selected host: WeighedHost \[host: \((?P<host>[^,]+), (?P<node>[^)]+)\)")),
    ("not_enough_hosts", re.compile(
        r"^There are (?P<available>\d+) hosts available but (?P<requested>\d+) instances requested to build")),
    ("claim_failed", re.compile(r"^Unable to successfully claim against any host")),
    # nova/scheduler/utils.py
    ("error_from_last_host", re.compile(
        r"^Error from last host: (?P<host>.+?) \(node (?P<node>.*?)\): (?P<exc>.*)", re.S)),
    ("retry_disabled", re.compile(r"^Re-scheduling is disabled due to (?P<reason>.*)")),
    ("task_failed", re.compile(r"^Failed to (?P<task>[\w]+): (?P<error>.*)", re.S)),
    ("error_state", re.compile(r"^Setting instance to (?P<state>\w+) state")),
    # nova/conductor/manager.py
    ("conductor_rescheduling", re.compile(r"^Rescheduling: (?P<flag>True|False)")),
    ("schedule_failed", re.compile(r"^Failed to schedule instances(?:: (?P<error>.*))?", re.S)),
    # nova/compute/manager.py
    ("rescheduled", re.compile(
        r"^Build of instance (?P<instance>[0-9a-fA-F-]{36}) was re-scheduled: (?P<reason>.*)", re.S)),
    ("build_aborted", re.compile(r"^Build of instance (?P<instance>[0-9a-fA-F-]{36}) aborted: (?P<reason>.*)", re.S)),
    ("build_failed", re.compile(r"^Failed to build and run instance(?:: (?P<error>.*))?", re.S)),
    ("build_unexpected", re.compile(r"^Unexpected build failure, not rescheduling build\.(?:: (?P<error>.*))?",
                                    re.S)),
    ("resources_unavailable", re.compile(r"^Insufficient compute resources: (?P<reason>.*)", re.S)),
    ("retry_info_missing", re.compile(r"^Retry info not present, will not reschedule")),
    ("compute_rescheduling", re.compile(r"^Rescheduling, attempt (?P<attempt>\d+)")),
    ("build_took", re.compile(r"^Took (?P<seconds>[\d.]+) seconds to build instance")),
    ("instance_starting", re.compile(r"^Starting instance\.\.\.")),
]
# cheap first-character dispatch: only messages starting with one of these can be events
_EV_FIRST = {}
for _kind, _rx in _EV:
    _first = _rx.pattern[1]
    _EV_FIRST.setdefault(_first, []).append((_kind, _rx))
del _kind, _rx, _first

_HOSTSTATE = re.compile(r"\((?P<host>[^,()]+), (?P<node>[^)]+)\) ram: ")
_WEIGHED = re.compile(r"WeighedHost \[host: \((?P<host>[^,()]+), (?P<node>[^)]+)\)[^\]]*?, weight: (?P<weight>[^\]]+)\]")
_COUNT_ITEM = re.compile(r"(?P<filter>\w+): \(start: (?P<start>\d+), end: (?P<end>\d+)\)")
NO_VALID_HOST = "No valid host was found."
MAX_RETRIES = "Exceeded maximum number of retries."


def _literal(text):
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def parse_filter_results(text):
    """The ``Filter results:`` part of "Filtering removed all hosts": a list of dicts.

    INFO form -> ``[{"filter", "start", "end"}]``; DEBUG form -> ``[{"filter", "hosts"}]`` with
    ``hosts`` a list of ``[host, node]`` or None for the filter that removed every host.
    """
    text = text.strip()
    value = _literal(text)
    out = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                m = _COUNT_ITEM.match(item)
                if m:
                    out.append({"filter": m.group("filter"), "start": int(m.group("start")),
                                "end": int(m.group("end"))})
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                name, hosts = item
                if hosts is None:
                    out.append({"filter": str(name), "hosts": None})
                else:
                    out.append({"filter": str(name),
                                "hosts": [[str(h[0]), str(h[1])] if isinstance(h, (tuple, list)) and len(h) == 2
                                          else [str(h), ""] for h in hosts]})
        return out
    # not a Python literal (truncated line?): fall back to the counts pattern
    for m in _COUNT_ITEM.finditer(text):
        out.append({"filter": m.group("filter"), "start": int(m.group("start")), "end": int(m.group("end"))})
    return out


def exception_line(text):
    """The last 'Module.Exc: message' line of a traceback (str, or a list of lines), else None."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        text = "".join(str(x) for x in text)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    for ln in reversed(lines):
        if not ln.startswith(("File ", "Traceback", "^", "~")) and not ln.startswith("During handling") and \
                not ln.startswith("The above exception"):
            return ln
    return lines[-1] if lines else None


_SUMMARY = re.compile(r":? ?: (?:[A-Za-z_]\w*\.)+[A-Z]\w*: ")


def strip_error_summary(text):
    """Drop the ``: module.Exception: message`` that oslo.log appends to a WARNING+ line logged
    while an exception is active (``error_summary``), when the line says something before it."""
    if not text:
        return text
    m = _SUMMARY.search(text)
    if m and m.start() > 0:
        return text[:m.start()].rstrip()
    return text


def classify_error(text):
    """'max_retries' | 'no_valid_host' | 'rescheduled' | 'build_aborted' | 'error' for an error text."""
    if not text:
        return None
    if MAX_RETRIES in text or "Exceeded max scheduling attempts" in text or "MaxRetriesExceeded" in text:
        return "max_retries"
    if NO_VALID_HOST in text or "NoValidHost" in text:
        return "no_valid_host"
    if "was re-scheduled" in text or "RescheduledException" in text:
        return "rescheduled"
    if "aborted:" in text or "BuildAbortException" in text:
        return "build_aborted"
    return "error"


def classify(record):
    """The scheduling event a record carries, as a dict with ``kind``; None for other lines."""
    msg = record.message if isinstance(record, Record) else record.get("message", "")
    if not msg:
        return None
    cands = _EV_FIRST.get(msg[0])
    if not cands:
        return None
    for kind, rx in cands:
        m = rx.match(msg)
        if not m:
            continue
        ev = {"kind": kind}
        g = m.groupdict()
        if kind in ("hosts_start",):
            ev["count"] = int(g["count"])
        elif kind == "filter_returned":
            ev["filter"] = g["filter"]
            ev["count"] = int(g["count"])
        elif kind == "filter_stop":
            ev["filter"] = g["filter"]
        elif kind == "filtering_removed_all":
            ev["instance"] = g["instance"]
            results = parse_filter_results(g["results"])
            ev["results"] = results
            ev["form"] = "hosts" if any("hosts" in r for r in results) else "counts"
            if results:
                ev["filter"] = results[-1]["filter"]
        elif kind == "schedule_start":
            ev["instances"] = UUID_RE.findall(g["instances"])
        elif kind == "filtered":
            ev["hosts"] = [[h.group("host"), h.group("node")] for h in _HOSTSTATE.finditer(g["hosts"])]
        elif kind == "weighed":
            ev["hosts"] = [{"host": h.group("host"), "node": h.group("node"), "weight": _num(h.group("weight"))}
                           for h in _WEIGHED.finditer(g["hosts"])]
        elif kind in ("conductor_selected", "scheduler_selected"):
            ev["host"] = g["host"].strip()
            ev["node"] = g["node"].strip()
            if kind == "conductor_selected":
                alts = _literal(g["alternates"])
                ev["alternates"] = [[str(a[0]), str(a[1])] for a in alts
                                    if isinstance(a, (list, tuple)) and len(a) == 2] if isinstance(alts, list) else []
        elif kind == "not_enough_hosts":
            ev["available"] = int(g["available"])
            ev["requested"] = int(g["requested"])
        elif kind == "error_from_last_host":
            ev["host"] = g["host"]
            ev["node"] = g["node"]
            exc = g["exc"]
            value = _literal(exc)
            tb = "".join(value) if isinstance(value, list) else exc
            ev["traceback"] = tb
            ev["error"] = exception_line(tb)
            ev["reason"] = _reschedule_reason(ev["error"])
        elif kind == "retry_disabled":
            ev["reason"] = g["reason"]
        elif kind == "task_failed":
            ev["task"] = g["task"]
            ev["error"] = strip_error_summary(g["error"].split("\n")[0])
            ev["error_kind"] = classify_error(ev["error"])
        elif kind == "error_state":
            ev["state"] = g["state"]
        elif kind == "conductor_rescheduling":
            ev["reschedule"] = g["flag"] == "True"
        elif kind in ("schedule_failed", "build_failed", "build_unexpected"):
            err = g.get("error")
            tb = record.traceback if isinstance(record, Record) else record.get("traceback")
            if not err and tb:
                err = exception_line(tb)
            ev["error"] = err.split("\n")[0] if err else None
            ev["error_kind"] = classify_error(ev["error"])
        elif kind in ("rescheduled", "build_aborted"):
            ev["instance"] = g["instance"]
            ev["reason"] = g["reason"].split("\n")[0]
        elif kind == "resources_unavailable":
            ev["reason"] = g["reason"].split("\n")[0]
        elif kind == "compute_rescheduling":
            ev["attempt"] = int(g["attempt"])
        elif kind == "build_took":
            ev["seconds"] = _num(g["seconds"])
        return ev
    return None


def _reschedule_reason(error):
    if not error:
        return None
    m = re.search(r"was re-scheduled: (.*)", error)
    if m:
        return m.group(1)
    return error


def _num(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in text else value


def scheduling_events(records):
    """``[(record, event)]`` for the records that carry a scheduling event, in input order."""
    out = []
    for rec in records:
        ev = classify(rec)
        if ev is not None:
            out.append((rec, ev))
    return out
