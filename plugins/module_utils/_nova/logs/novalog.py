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
    r"(?:Z|[+-]\d{2}:?\d{2})? +(?:(?P<pid>\d{1,10}) +)?(?P<level>" + _LEVEL_ALT + r") +"
    r"(?P<logger>[A-Za-z_][\w.\-]*)(?: (?P<rest>.*)|$)")
# devstack under journald: LEVEL logger rest (no timestamp of its own)
_BARE_HEAD = re.compile(r"(?P<level>" + _LEVEL_ALT + r") +(?P<logger>[A-Za-z_][\w.\-]*)(?: (?P<rest>.*)|$)")
# no timestamp at all (pasted without it, or cut): [pid] LEVEL logger [context] message
_NOTIME_HEAD = re.compile(r" *(?:(?P<pid>\d{1,10}) +)?(?P<level>" + _LEVEL_ALT + r") +(?P<logger>[A-Za-z_][\w.\-]*)"
                          r" +(?P<rest>\[.*)")
# grep -n / grep -r / grep -A prefixes: "12345:", "file:", "file:12345:", "file-12345-" before a timestamp
_GREP = re.compile(r"(?P<prefix>\S*?[:-])(?=\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\S{1,12} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? )")
# Abbreviated month names journald/syslog print (strftime %b of the LC_TIME locale), as glibc's
# localedata (LC_TIME abmon) spells them; matched case-insensitively without a final dot. A
# name not in the table is tried by its first three letters, then by the number in it
# ("12月", "12월"); any other word is accepted as an unknown month ("00") when the rest of
# the line has journald's shape.
_MONTH_NAMES = (
    "jan feb mar apr may jun jul aug sep oct nov dec",                      # C, en_*
    "january february march april may june july august september october november december",
    "jan feb mär apr mai jun jul aug sep okt nov dez",                      # de_DE
    "janv févr mars avril mai juin juil août sept oct nov déc",             # fr_FR
    "ene feb mar abr may jun jul ago sep oct nov dic",                      # es_ES
    "gen feb mar apr mag giu lug ago set ott nov dic",                      # it_IT
    "jan fev mar abr mai jun jul ago set out nov dez",                      # pt_BR, pt_PT
    "jan feb mrt apr mei jun jul aug sep okt nov dec",                      # nl_NL
    "jan feb mar apr maj jun jul aug sep okt nov dec",                      # sv_SE, da_DK
    "jan feb mar apr mai jun jul aug sep okt nov des",                      # nb_NO
    "sty lut mar kwi maj cze lip sie wrz paź lis gru",                      # pl_PL
    "led úno bře dub kvě čen čec srp zář říj lis pro",                      # cs_CZ
    "oca şub mar nis may haz tem ağu eyl eki kas ara",                      # tr_TR
    "ian feb mar apr mai iun iul aug sep oct noi dec",                      # ro_RO
    "jan febr márc ápr máj jún júl aug szept okt nov dec",                  # hu_HU
    "tammi helmi maalis huhti touko kesä heinä elo syys loka marras joulu",  # fi_FI
    "янв фев мар апр мая июн июл авг сен окт ноя дек",                      # ru_RU
    "янв фев мар апр май июн июл авг сен окт ноя дек",                      # ru_RU (nominative)
    "січ лют бер кві тра чер лип сер вер жов лис гру",                      # uk_UA
    "ιαν φεβ μάρ απρ μάι ιούν ιούλ αύγ σεπ οκτ νοέ δεκ",                    # el_GR
)
_MONTHS = {}
for _names in _MONTH_NAMES:
    for _i, _name in enumerate(_names.split()):
        _MONTHS.setdefault(_name, "%02d" % (_i + 1))
del _names, _i, _name
_DIGITS = re.compile(r"\d{1,2}")


def month_number(name):
    """'01'..'12' for a month name or abbreviation of any locale in the table, else '00'."""
    key = name.casefold().rstrip(".")
    found = _MONTHS.get(key) or _MONTHS.get(key[:3])
    if found:
        return found
    m = _DIGITS.search(key)
    if m and 1 <= int(m.group(0)) <= 12:
        return "%02d" % int(m.group(0))
    return "00"


_JOURNAL = re.compile(
    r"(?:(?P<mon>[^\s\d][^\s]{0,11}|\d{1,2}[^\s\d]{1,2}) +(?P<day>\d{1,2}) "
    r"(?P<jclock>\d{2}:\d{2}:\d{2}(?:\.\d+)?)"
    r"|(?P<jdate>\d{4}-\d{2}-\d{2})T(?P<jiclock>\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:Z|[+-]\d{2}:?\d{2})?)"
    r" (?P<host>\S+) (?P<ident>[^\s\[:]+)(?:\[(?P<jpid>\d+)\])?: ?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A line whose timestamp lost its first characters (a selection that missed them, a cut
# excerpt): "023-11-28 17:02:11.853 1109 ERROR ...", "11-28 17:02:11.853 ...", "17:02:11.853 ...".
# The clock's fraction and the pid are required, so that a message text is not taken for it.
_CUT_HEAD = re.compile(
    r"(?:(?P<date>(?:\d{1,3}-)?\d{2}-\d{2}) )?(?P<clock>\d{1,2}:\d{2}:\d{2}[.,]\d+) +(?P<pid>\d{1,10}) +"
    r"(?P<level>" + _LEVEL_ALT + r") +(?P<logger>[A-Za-z_][\w.\-]*)(?: (?P<rest>.*)|$)")
# Another oslo record starting inside a line (a paste whose line breaks were lost): its full
# header - date, clock, pid, level, logger and the context bracket - after a blank.
_INNER_HEAD = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[.,]\d{3} \d{1,10} (?:" + _LEVEL_ALT +
                         r") [A-Za-z_][\w.\-]* \[")
# docker's json-file log driver: {"log": "<line>\n", "stream": "stderr", "time": "..."}
_DOCKER_JSON = re.compile(r'^\{\s*"log"\s*:')
_TRACEBACK_START = "Traceback (most recent call last):"
# what a terminal paste puts between log lines: a table row or border of the openstack / nova
# clients, a shell prompt
_FOREIGN = re.compile(r"(?:\| |\+-|\[[\w.-]+@[\w.-]+ [^\]]*\][#$] |[\w.-]+@[\w.-]+:[^ ]*[#$] )")
_INSTANCE_TAG = re.compile(r"\[instance: (?P<uuid>[0-9a-fA-F-]{36})\] ?")
_DEBUG_SUFFIX = re.compile(r" (?P<func>[\w<>.]+) (?P<path>\S+\.py):(?P<line>\d+)$")
# Havana..Liberty devstack: "message from (pid=11395) get_filtered_objects /opt/stack/nova/nova/filters.py:129"
_OLD_DEVSTACK_SUFFIX = re.compile(r" from \(pid=(?P<pid>\d+)\) (?P<func>[\w<>.]+) (?P<path>\S+\.py):(?P<line>\d+)$")
_DEVSTACK_SUFFIX = re.compile(r" ?\{\{\(pid=(?P<pid>\d+)\) (?P<func>[\w<>.]+) (?P<path>\S+\.py):(?P<line>\d+)\}\}$")
_REQ = re.compile(r"^req-[0-9a-fA-F-]{36}$")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class NovaLogError(Exception):
    """Input that cannot be read at all (an unreadable file, a wrong type)."""


class ParseStats:
    """Counters of one parse: lines read, bytes, records, continuation and skipped lines."""

    __slots__ = ("lines", "bytes", "records", "continuations", "unparsed", "skipped", "json_errors",
                 "unparsed_lines")
    SAMPLES = 5             # unparsed lines kept as text (the first ones, cut to 200 characters)

    def __init__(self):
        self.lines = 0
        self.bytes = 0
        self.records = 0
        self.continuations = 0
        self.unparsed = 0
        self.skipped = 0
        self.json_errors = 0
        self.unparsed_lines = []

    def to_dict(self):
        out = {name: getattr(self, name) for name in self.__slots__}
        out["unparsed_lines"] = [dict(item) for item in self.unparsed_lines]
        return out

    def add(self, other):
        for name in self.__slots__:
            if name == "unparsed_lines":
                self.unparsed_lines = (self.unparsed_lines + other.unparsed_lines)[:self.SAMPLES]
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def note_unparsed(self, lineno, text):
        """Count a line that belongs to no record, and keep the first few as raw text."""
        self.unparsed += 1
        if len(self.unparsed_lines) < self.SAMPLES:
            self.unparsed_lines.append({"line": lineno, "text": _text(text)[:200]})


def _text(value):
    """str(value) that never raises and never builds a huge string (numbers of any size)."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:   # pylint: disable=broad-except  # str() of odd values (int limit, recursion)
        return "<%s>" % type(value).__name__
    return text


def _traceback_text(value):
    """A traceback field as text: a string, a list of lines, or None for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(x).rstrip("\n") for x in value) or None
    return None


def _str_or_none(value):
    return value if isinstance(value, str) and value else None


class Record:
    """One log record (a line plus the lines continuing it)."""

    __slots__ = ("time", "pid", "level", "logger", "global_request_id", "request_id", "user", "project",
                 "instance", "message", "traceback", "func", "source", "host", "service", "origin", "line",
                 "_extra", "_tb", "_debug_suffix", "_open", "_await", "_lens")

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
        self._open = None
        self._await = None      # "ctx"/"msg": the header ended there, the next line holds the rest
        self._lens = None       # lengths of the physical lines (a terminal's fixed-width wrap)

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__ if not name.startswith("_")}

    @classmethod
    def from_dict(cls, data):
        """A record from its dict (``to_dict``, or a user's); fields of the wrong type are
        dropped (text fields must be strings, ``pid``/``line`` integers), never raised on."""
        rec = cls()
        if not isinstance(data, dict):
            return rec
        for name in cls.__slots__:
            if name.startswith("_") or name not in data:
                continue
            value = data[name]
            if name in ("pid", "line"):
                value = value if isinstance(value, int) and not isinstance(value, bool) else None
            elif name == "message":
                value = value if isinstance(value, str) else ("" if value is None else _text(value))
            elif name == "traceback":
                value = _traceback_text(value)
            elif not isinstance(value, str):
                value = None
            setattr(rec, name, value)
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

    def _reopen(self, text):
        """The next physical line of a context bracket that a terminal wrapped."""
        joined = self._open + text
        if "]" in joined or len(joined) > 4096:
            self._open = None
            self.message = ""
            _parse_context(self, joined)
        else:
            self._open = joined
            self.message = joined

    def _wrapped_at_fixed_width(self):
        """True when the physical lines look cut by a terminal at one width: every line but
        the first and the last has the same length (60 or more), the first and the last are
        not longer (a first line may have lost characters to the selection)."""
        lens = self._lens
        if not lens or len(lens) < 3:
            return False
        width = lens[1]
        return width >= 60 and all(n == width for n in lens[1:-1]) and lens[0] <= width and lens[-1] <= width

    def _finish(self):
        self._open = None
        self._await = None
        if self._extra:
            extra = self._extra
            while extra and not extra[-1].strip():
                extra.pop()        # blank lines after a record (a paste's spacing) are not its message
            if extra:
                sep = "" if self._wrapped_at_fixed_width() else "\n"
                self.message = sep.join([self.message] + extra)
            self._extra = None
        self._lens = None
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
                _int(m.group("pid"))
        return None
    if " from (pid=" in text:
        m = _OLD_DEVSTACK_SUFFIX.search(text)
        if m:
            return text[:m.start()], m.group("func"), "%s:%s" % (m.group("path"), m.group("line")), \
                _int(m.group("pid"))
    parts = text.rsplit(" ", 2)
    if len(parts) == 3:
        path, sep, line = parts[2].rpartition(":")
        if sep and line.isdigit() and path.endswith(".py"):
            if "\n" in parts[1]:
                # the suffix on a line of its own (a paste that broke the line before it)
                head, _nl, func = parts[1].rpartition("\n")
                return (parts[0] + " " + head).rstrip(" \n") if head else parts[0].rstrip(" \n"), \
                    func, parts[2], None
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
            # cut inside the bracket (a terminal's hard wrap): the next line completes it
            rec.message = rest
            rec._open = rest
            return True
        ctx = rest[1:end].split()
        rest = rest[end + 1:]
        if rest.startswith(" "):
            rest = rest[1:]
            if rest.startswith(" ") and rest.lstrip(" ").startswith("[instance: "):
                rest = rest.lstrip(" ")     # "]  [instance: ...]": an empty field before it
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
    if not line or line[0] in " \t{[":
        return None
    m = _JOURNAL.match(line)
    if not m:
        return None
    if m.group("mon"):
        time = "%s-%02d %s" % (month_number(m.group("mon")), int(m.group("day")), m.group("jclock"))
    else:
        time = "%s %s" % (m.group("jdate"), m.group("jiclock"))
    pid = m.group("jpid")
    return time, m.group("host"), m.group("ident"), int(pid) if pid else None, line[m.end():]


def _json_record(line, stats):
    """A record from one line of oslo.log's JSONFormatter; fields of unexpected types are
    dropped or turned to text, never raised on."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        stats.json_errors += 1
        return None
    if not isinstance(data, dict) or "message" not in data:
        stats.json_errors += 1
        return None
    ctx = data.get("context")
    ctx = ctx if isinstance(ctx, dict) else {}
    extra = data.get("extra")
    extra = extra if isinstance(extra, dict) else {}
    message = data.get("message")
    rec = Record(level=_str_or_none(data.get("levelname")), logger=_str_or_none(data.get("name")),
                 message="" if message is None else _text(message))
    asctime = data.get("asctime")
    if isinstance(asctime, str):
        msecs = data.get("msecs")
        time = asctime.replace(",", ".")
        if "." not in time[11:] and isinstance(msecs, (int, float)) and not isinstance(msecs, bool) and \
                0 <= msecs < 1000:
            time = "%s.%03d" % (time, int(msecs))
        rec.time = time
    pid = data.get("process")
    rec.pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else None
    rec.request_id = _str_or_none(ctx.get("request_id"))
    rec.global_request_id = _str_or_none(ctx.get("global_request_id"))
    rec.user = _str_or_none(ctx.get("user")) or _str_or_none(ctx.get("user_id"))
    rec.project = _str_or_none(ctx.get("project_id")) or _str_or_none(ctx.get("project")) or \
        _str_or_none(ctx.get("tenant"))
    inst = _str_or_none(extra.get("instance_uuid"))
    if not inst:
        tag = extra.get("instance")
        if isinstance(tag, str):
            m = UUID_RE.search(tag)
            inst = m.group(0) if m else None
        elif isinstance(tag, dict):
            inst = _str_or_none(tag.get("uuid"))
    if not inst:
        inst = _str_or_none(ctx.get("instance_uuid")) or _str_or_none(ctx.get("resource_uuid"))
    rec.instance = inst
    rec.traceback = _traceback_text(data.get("traceback"))
    summary = data.get("error_summary")
    if isinstance(summary, str) and summary and summary not in rec.message:
        rec.message = "%s: %s" % (rec.message, summary)
    func, path = _str_or_none(data.get("funcname")), _str_or_none(data.get("pathname"))
    if func and path:
        lineno = data.get("lineno")
        rec.func = func
        rec.source = "%s:%s" % (path, lineno if isinstance(lineno, int) and not isinstance(lineno, bool) else "?")
    rec.host = _str_or_none(data.get("hostname"))
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


def _grep_ends(line, start, limit=3):
    """Positions of the next ``limit`` ':' / '-' after ``start`` in the first 200 characters."""
    out = []
    for i in range(start, min(len(line), 200)):
        if line[i] in ":-":
            out.append(i)
            if len(out) >= limit:
                break
    return out


def _grep_stripper(prefix):
    """A regex removing the same kind of grep prefix from the lines after (context lines too)."""
    m = re.match(r"^(?P<file>.*?)(?:[:-](?P<num>\d+))?[:-]$", prefix)
    name = m.group("file") if m else ""
    if name.isdigit() and not (m and m.group("num")):
        return re.compile(r"\d+[:-]")                       # grep -n: "12345:" / "12345-"
    if m and m.group("num"):
        return re.compile(re.escape(name) + r"[:-]\d+[:-]")  # grep -rn: "file:12:" / "file-12-"
    return re.compile(re.escape(name) + r"[:-]")             # grep -r: "file:" / "file-"


def _event_start(text, loose=False):
    """True when ``text`` begins with one of Nova's scheduling messages (a pasted bare message);
    ``loose``: its literal beginning is enough (the rest may be wrapped onto the next lines)."""
    if not text:
        return False
    for _kind, rx in _EV_FIRST.get(text[0], ()):
        if rx.match(text):
            return True
    if loose:
        for prefix in _EV_PREFIXES.get(text[0], ()):
            if text.startswith(prefix) or (len(text) < len(prefix) and prefix.startswith(text) and len(text) > 8):
                return True
    return False


def _int(text):
    """int() that never raises (numbers of thousands of digits, odd types): None instead."""
    try:
        return int(text)
    except (TypeError, ValueError, OverflowError):
        return None


def _docker_log(line):
    """The text of one line of docker's json-file log driver, None when it is not one."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("log"), str):
        return None
    return data["log"].rstrip("\r\n")


def _inner_heads(line):
    """Where other oslo records start inside ``line`` (after a blank, years 2000-2099); found
    with str.find first, so an ordinary line costs almost nothing."""
    cuts = []
    i = line.find(" 20", 1)
    while i >= 0:
        if _INNER_HEAD.match(line, i + 1):
            cuts.append(i + 1)
        i = line.find(" 20", i + 3)
    return cuts


def _physical_lines(lines, stats, tokens=()):
    """(line number, text) of each line, decoded and cleaned of what is not the log's: line
    ends, a byte order mark, ANSI colours, docker's json-file wrapper, a Markdown quote
    ("> ") before a header; a line holding several records (a paste that lost its line
    breaks) is split at each record's header (with ``tokens``, only a line naming one of them:
    the other pieces could not be kept anyway)."""
    lineno = 0
    for raw in lines:
        lineno += 1
        stats.lines += 1
        stats.bytes += len(raw)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        try:
            line = raw.rstrip("\r\n")
        except AttributeError:      # not text at all
            line = str(raw)
        if lineno == 1 and line[:1] == "\ufeff":
            line = line[1:]
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        first = line[:1]
        if first == "{" and _DOCKER_JSON.match(line):
            inner = _docker_log(line)
            if inner is not None:
                line = _ANSI.sub("", inner) if "\x1b" in inner else inner
                first = line[:1]
        if first == ">":
            unquoted = line.lstrip("> ")
            if unquoted[:1].isdigit() and (_OSLO_HEAD.match(unquoted) or _CUT_HEAD.match(unquoted)):
                line = unquoted
        if tokens:
            for tok in tokens:
                if tok in line:
                    break
            else:
                yield lineno, line, False       # names no wanted id: never split
                continue
        if len(line) > 80:
            cuts = _inner_heads(line)
            if cuts:
                # not the header behind a journald / syslog prefix (that is one record)
                jm = _JOURNAL.match(line)
                if jm is not None:
                    cuts = [c for c in cuts if c > jm.end()]
            if cuts:
                start = 0
                for cut in cuts:
                    piece = line[start:cut].rstrip(" ")
                    yield lineno, piece, not tokens or any(tok in piece for tok in tokens)
                    start = cut
                piece = line[start:]
                yield lineno, piece, not tokens or any(tok in piece for tok in tokens)
                continue
        yield lineno, line, True


def _cut_time(m, year):
    """The time of a header whose timestamp lost its first characters: ``MM-DD clock`` (with
    ``year`` when given) when the month and day survived, else None."""
    date = m.group("date")
    if not date:
        return None
    month_day = date[-5:]
    clock = m.group("clock").replace(",", ".")
    return "%s-%s %s" % (year, month_day, clock) if year else "%s %s" % (month_day, clock)


def iter_records(lines, match=None, stats=None, origin=None, year=None):
    """Yield :class:`Record` objects from an iterable of text lines (a file object works).

    ``match``: an iterable of strings (request ids, instance uuids); when given, only records
    whose first line contains one of them are parsed and yielded (fast path for big logs).
    ``stats``: a :class:`ParseStats` to update. ``origin``: a label stored on each record
    (the file name). ``year``: for journald's year-less timestamps (kept as ``MM-DD ...`` if None).
    Never raises on bad lines: they are counted in ``stats.unparsed`` / ``stats.json_errors``.

    Also read: ``grep -n``/``grep -r``/``grep -A`` prefixes (``12345:``, ``file:``,
    ``file-12-``), lines without a timestamp (``[pid] LEVEL logger [context] message``), a bare
    scheduling message pasted without its header, and a context bracket hard-wrapped by a
    terminal over several lines (rejoined).
    """
    if stats is None:
        stats = ParseStats()
    tokens = tuple(t for t in (match or ()) if isinstance(t, str) and t)
    current = None          # the record being built (yielded when the next one starts)
    skipping = False        # True while the lines continue a record we are not keeping
    grep = None             # regex stripping the grep prefix seen on the lines so far
    for lineno, line, named in _physical_lines(lines, stats, tokens):
        if not named and not (current is not None and not skipping):
            # not continuing a kept record: only lines naming a wanted id can matter (a wanted
            # id that a terminal's wrap cut in two is not found on this path; parse without
            # ``match`` for such text); either a continuation of a skipped record or a new
            # unwanted record
            stats.skipped += 1
            skipping = True
            continue
        try:
            if line[:1] == "{":
                journal = body = m = bare = None
            else:
                journal, body, m, bare = _head(line)
            new_grep = None
            if m is None and bare is None:
                # the rare lines: JSON, continuations, and headers behind a grep prefix,
                # an indentation, or without a timestamp
                res = _read_other(line, journal, body, lineno, tokens, stats, origin, current, skipping, grep)
                if res is None:
                    continue
                action, rec, new_grep = res
                if new_grep is not None:
                    grep = new_grep
                if action == "head":
                    # rec is (journal, oslo_match, bare_match) for "head"
                    journal, m, bare = rec  # pylint: disable=unpacking-non-sequence
                else:
                    if action == "cont":
                        continue
                    if current is not None:
                        yield current._finish()
                        current = None
                    skipping = action == "skip"
                    if action == "yield":
                        yield rec
                    elif action == "new":
                        current = rec
                    continue
            if m is not None:
                rest = m.group("rest") or ""
                level = m.group("level")
                logger = m.group("logger")
                pid = m.group("pid")
                pid = int(pid) if pid else (journal[3] if journal else None)
                if m.re is _CUT_HEAD:
                    time = _cut_time(m, year)
                else:
                    time = "%s %s" % (m.group("date"), m.group("clock").replace(",", "."))
            else:
                rest = bare.group("rest") or ""
                level = bare.group("level")
                logger = bare.group("logger")
                pid = bare.group("pid") if bare.re is _NOTIME_HEAD else None
                pid = int(pid) if pid else (journal[3] if journal else None)
                time = None
            if current is not None and level in ("ERROR", "TRACE") and current.logger == logger and \
                    not (rest.startswith("[") and not rest.startswith("[instance: ")) and \
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
            rest = rest.lstrip(" ")
            rec = Record(level="WARNING" if level == "WARN" else level, logger=logger, pid=pid, origin=origin,
                         line=lineno)
            rec._lens = [len(line)]
            if m is not None:
                rec.time = time
            elif journal:
                rec.time = journal[0] if (year is None or journal[0][4:5] == "-") else \
                    "%s-%s" % (year, journal[0])
            if journal:
                rec.host = journal[1]
                rec.service = journal[2]
            has_context = _parse_context(rec, rest)
            if not rec.message and rec._open is None:
                # the header ends here: its context or message is on the next line
                rec._await = "msg" if has_context or rec.instance else "ctx"
            rec._debug_suffix = level == "DEBUG"
            if tokens and not _record_matches(rec, tokens):
                skipping = True
                stats.skipped += 1
                continue
            skipping = False
            stats.records += 1
            current = rec
        except Exception:   # pylint: disable=broad-except  # a bad line never stops the parse
            stats.note_unparsed(lineno, line)
    if current is not None:
        yield current._finish()


def _read_other(line, journal, body, lineno, tokens, stats, origin, current, skipping, grep):
    """A line without a header of its own: None (consumed), or (action, value, grep) with action
    ``cont`` (joined to ``current``), ``skip`` (a record not wanted), ``yield`` (a complete
    record: JSON), ``new`` (a record later lines may continue), or ``head`` with value
    ``(journal, oslo_match, bare_match)`` for a header found behind a grep prefix, an
    indentation, or without a timestamp."""
    if line[:1] == "{":
        rec = _json_record(line, stats)
        if rec is None:
            stats.note_unparsed(lineno, line)
            return ("skip", None, None) if current is not None else None
        if tokens and not _record_matches(rec, tokens):
            stats.skipped += 1
            return "skip", None, None
        rec.origin = origin
        rec.line = lineno
        stats.records += 1
        return "yield", rec, None
    if line[:1] in " \t" and line[-1:] != " ":
        # indented by a document (a code block in a blog post, a bug comment)
        stripped = line.lstrip()
        if stripped[:1].isdigit() or stripped[:1].isupper():
            j, _b, m, bare = _head(stripped)
            if m is not None or bare is not None:
                return "head", (j, m, bare), None
    g = _GREP.match(line)
    if g is not None:
        # the shortest prefix first, then longer ones ("hash:12345:May 29 ..." from a log
        # search tool: "hash:" alone leaves "12345:May" where the month should be)
        ends = [g.end()] + [i + 1 for i in _grep_ends(line, g.end())]
        for end in ends:
            j, _b, m, bare = _head(line[end:])
            if m is not None or bare is not None:
                return "head", (j, m, bare), _grep_stripper(line[:end])
    text = body if journal else line
    if grep is not None:
        gm = grep.match(text)
        if gm is not None:
            text = text[gm.end():]
        elif text == "--":
            return None         # grep's separator between context groups
    if text[:1].isdigit():
        ch = _CUT_HEAD.match(text)
        if ch is not None:
            return "head", (journal, ch, None), None
    nt = _NOTIME_HEAD.match(text) if text[:1] in " DEIWCTA0123456789" else None
    if nt is not None:
        return "head", (journal, None, nt), None
    if current is not None and current._lens is not None:
        current._lens.append(len(line))
    if current is not None and current._open is not None:
        # a context bracket wrapped by the terminal: the line goes on where it was cut
        current._reopen(text)
        stats.continuations += 1
        return "cont", None, None
    if current is not None and current._await is not None and text.strip():
        # the header ended at its logger or its context: this line holds the rest
        stripped = text.strip()
        if current._await == "ctx" and stripped.startswith("["):
            current._await = None
            has_context = _parse_context(current, stripped)
            if not current.message and current._open is None:
                current._await = "msg" if has_context else None
        else:
            current._await = None
            current.message = stripped
        stats.continuations += 1
        return "cont", None, None
    if current is None and not skipping and text.startswith(_TRACEBACK_START):
        # a Python traceback printed without any log header (a service's stderr, docker logs)
        rec = Record(origin=origin, line=lineno, message=text)
        if tokens and not _record_matches(rec, tokens):
            stats.skipped += 1
            return "skip", None, None
        stats.records += 1
        return "new", rec, None
    if not skipping and _event_start(text, loose=current is None):
        # a scheduling message pasted without its header
        rec = Record(origin=origin, line=lineno, message=text)
        rec._debug_suffix = True
        if tokens and not _record_matches(rec, tokens):
            stats.skipped += 1
            return "skip", None, None
        stats.records += 1
        return "new", rec, None
    if current is not None and current._extra and not current._extra[-1].strip() and _FOREIGN.match(text):
        # after a blank line, a table row or a shell prompt: command output pasted between
        # log lines, not this record's message (the record ends here)
        stats.note_unparsed(lineno, line)
        return "skip", None, None
    if current is not None:
        # a line without a header: continues the current record (message with newlines)
        current._add_message_line(text)
        stats.continuations += 1
        return "cont", None, None
    if skipping:
        stats.skipped += 1
    elif text.strip():
        stats.note_unparsed(lineno, line)
    return None


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
# the literal beginning of each message (up to its first variable part), for pasted messages
# whose end a terminal wrapped onto the next lines
_EV_PREFIXES = {}
for _kind, _rx in _EV:
    _first = _rx.pattern[1]
    _EV_FIRST.setdefault(_first, []).append((_kind, _rx))
    _lit = re.match(r"\^((?:[^\\()\[\]{}.*+?|$^]|\\[.()\[\]])+)", _rx.pattern).group(1).replace("\\", "")
    if len(_lit) >= 12:
        _EV_PREFIXES.setdefault(_first, []).append(_lit)
del _kind, _rx, _first, _lit

_HOSTSTATE = re.compile(r"\((?P<host>[^,()]+), (?P<node>[^)]+)\) ram: ")
_WEIGHED = re.compile(r"WeighedHost \[host: \((?P<host>[^,()]+), (?P<node>[^)]+)\)[^\]]*?, weight: (?P<weight>[^\]]+)\]")
_COUNT_ITEM = re.compile(r"(?P<filter>\w+): \(start: (?P<start>\d+), end: (?P<end>\d+)\)")
NO_VALID_HOST = "No valid host was found."
MAX_RETRIES = "Exceeded maximum number of retries."


def _literal(text):
    """A Python literal from log text, or None; a tail after the literal (a DEBUG suffix, a
    wrapped line) is cut at the last closing bracket and tried again."""
    text = text.strip()
    if len(text) > 1000000:
        return None
    for candidate in (text, text[:text.rfind("]") + 1] if "]" in text else None):
        if not candidate:
            continue
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError, OverflowError):
            continue
    return None


def _host_pair(item):
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return [_text(item[0]), _text(item[1])]
    return [_text(item), ""]


def parse_filter_results(text):
    """The ``Filter results:`` part of "Filtering removed all hosts": a list of dicts.

    INFO form -> ``[{"filter", "start", "end"}]``; DEBUG form -> ``[{"filter", "hosts"}]`` with
    ``hosts`` a list of ``[host, node]`` or None for the filter that removed every host.
    Items of any other shape are left out; never raises.
    """
    if not isinstance(text, str):
        return []
    text = text.strip()
    value = _literal(text)
    if value is None and "\n" in text:
        # hard-wrapped by a terminal: the pieces go back together without the line breaks
        text = text.replace("\n", "")
        value = _literal(text)
    out = []
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, str):
                m = _COUNT_ITEM.match(item)
                if m:
                    out.append({"filter": m.group("filter"), "start": _int(m.group("start")),
                                "end": _int(m.group("end"))})
            elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
                name, hosts = item
                if hosts is None:
                    out.append({"filter": name, "hosts": None})
                elif isinstance(hosts, (list, tuple)):
                    out.append({"filter": name, "hosts": [_host_pair(h) for h in hosts]})
        if out or value:
            return out
    # not a Python literal (truncated line?): fall back to the counts pattern
    for m in _COUNT_ITEM.finditer(text):
        out.append({"filter": m.group("filter"), "start": _int(m.group("start")), "end": _int(m.group("end"))})
    return out


def exception_line(text):
    """The exception of a traceback (str, or a list of lines): the first line of the last
    exception raised (``Module.Exc: message``; a message may go on over several lines), else the
    last line that is not part of a stack frame; None when there is nothing."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        text = "".join(_text(x) for x in text)
    elif not isinstance(text, str):
        text = _text(text)
    # the last stack frame: a line 'File "...' (after blanks only)
    pos = text.rfind('File "')
    while pos >= 0 and text[text.rfind("\n", 0, pos) + 1:pos].strip():
        pos = text.rfind('File "', 0, pos)
    if pos >= 0:
        # Python prints the exception at column 0 after the last frame (its source line and
        # carets are indented); a message may continue on the lines after it
        end = text.find("\n", pos)
        after = [ln for ln in text[end + 1:].splitlines() if ln.strip()] if end >= 0 else []
        for ln in after:
            if ln[:1] not in " \t" and ln.strip()[0] not in "^~":
                return ln.strip()
        if len(after) > 1:
            return after[1].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
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


# Nova's exception classes (RPC adds "_Remote" to an exception raised in another service); the
# class names are English whatever the locale the messages were translated into.
_EXC_CLASS = re.compile(r"\b(?:nova\.exception\.)?(?P<cls>MaxRetriesExceeded|NoValidHost|RescheduledException|"
                        r"BuildAbortException)(?:_Remote)?\b")
_CLASS_KIND = {"MaxRetriesExceeded": "max_retries", "NoValidHost": "no_valid_host",
               "RescheduledException": "rescheduled", "BuildAbortException": "build_aborted"}
# when a text names several classes (MaxRetriesExceeded ... Last exception: RescheduledException)
_CLASS_ORDER = {"max_retries": 0, "no_valid_host": 1, "build_aborted": 2, "rescheduled": 3}


def _class_kind(text):
    """The error kind named by a Nova exception class anywhere in ``text``, else None."""
    if not text or not isinstance(text, str) or ("NoValidHost" not in text and "Exce" not in text):
        return None
    best = None
    for m in _EXC_CLASS.finditer(text):
        kind = _CLASS_KIND[m.group("cls")]
        if best is None or _CLASS_ORDER[kind] < _CLASS_ORDER[best]:
            best = kind
    return best


def classify_error(text):
    """'max_retries' | 'no_valid_host' | 'rescheduled' | 'build_aborted' | 'error' for an error text.

    By the exception class first (any language: ``NoValidHost_Remote: 找不到有效主机``), then by
    Nova's English messages."""
    if not text:
        return None
    if not isinstance(text, str):
        text = _text(text)
    kind = _class_kind(text)
    if kind:
        return kind
    if MAX_RETRIES in text or "Exceeded max scheduling attempts" in text:
        return "max_retries"
    if NO_VALID_HOST in text:
        return "no_valid_host"
    if "was re-scheduled" in text:
        return "rescheduled"
    if "aborted:" in text:
        return "build_aborted"
    return "error"


def classify(record):
    """The scheduling event a record carries, as a dict with ``kind``; None for other lines."""
    if isinstance(record, Record):
        msg = record.message
        if not msg:
            return None
    elif isinstance(record, dict):
        msg = record.get("message")
        if not msg or not isinstance(msg, str):
            return None
    else:
        return None
    cands = _EV_FIRST.get(msg[0])
    if not cands:
        return None
    m = None
    for kind, rx in cands:
        m = rx.match(msg)
        if m:
            break
    if m is None and "\n" in msg:
        # a message a terminal hard-wrapped: its pieces go back together without line breaks
        msg = msg.replace("\n", "")
        for kind, rx in cands:
            m = rx.match(msg)
            if m:
                break
    if m is not None:
        ev = {"kind": kind}
        g = m.groupdict()
        if kind in ("hosts_start",):
            ev["count"] = _int(g["count"])
        elif kind == "filter_returned":
            ev["filter"] = g["filter"]
            ev["count"] = _int(g["count"])
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
            ev["available"] = _int(g["available"])
            ev["requested"] = _int(g["requested"])
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
            first = g["error"].split("\n")[0]
            ev["error"] = strip_error_summary(first)
            ev["error_kind"] = classify_error(first)
            if ev["error_kind"] == "error":
                # a translated message: the exception class further on (the traceback) says it
                ev["error_kind"] = _class_kind(g["error"]) or _class_kind(_record_traceback(record)) or "error"
        elif kind == "error_state":
            ev["state"] = g["state"]
        elif kind == "conductor_rescheduling":
            ev["reschedule"] = g["flag"] == "True"
        elif kind in ("schedule_failed", "build_failed", "build_unexpected"):
            err = g.get("error")
            tb = _record_traceback(record)
            if not err and tb:
                err = exception_line(tb)
            ev["error"] = err.split("\n")[0] if err else None
            ev["error_kind"] = classify_error(ev["error"])
            if ev["error_kind"] in (None, "error"):
                ev["error_kind"] = _class_kind(g.get("error")) or _class_kind(tb) or ev["error_kind"]
        elif kind in ("rescheduled", "build_aborted"):
            ev["instance"] = g["instance"]
            ev["reason"] = g["reason"].split("\n")[0]
        elif kind == "resources_unavailable":
            ev["reason"] = g["reason"].split("\n")[0]
        elif kind == "compute_rescheduling":
            ev["attempt"] = _int(g["attempt"])
        elif kind == "build_took":
            ev["seconds"] = _num(g["seconds"])
        return ev
    return None


def _record_traceback(record):
    return record.traceback if isinstance(record, Record) else _traceback_text(record.get("traceback"))


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
