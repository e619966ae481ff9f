# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over Nova's log text: parse_nova_log and scheduling_attempts (docs in the .yml sidecars)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import filter_args as _args
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history as _history
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as _novalog


def _texts(data, name):
    if isinstance(data, str):
        return [data]
    if isinstance(data, (list, tuple)) and all(isinstance(t, str) for t in data):
        return list(data)
    raise AnsibleFilterError("%s: the input must be log text (a string) or a list of strings, got %s"
                             % (name, type(data).__name__))


def _match(match, name):
    if match is None:
        return None
    if isinstance(match, str):
        return [match]
    if isinstance(match, (list, tuple)) and all(isinstance(m, str) for m in match):
        return list(match)
    raise AnsibleFilterError("%s: match must be a string or a list of strings (request ids, instance uuids)" % name)


def parse_nova_log(data, match=None, events=False, year=None):
    """Log text -> list of record dicts (optionally with the scheduling event of each)."""
    tokens = _match(match, "parse_nova_log")
    try:
        events = _args.boolean(events, "events")
        if year is not None:
            year = _args.whole_number(year, "year", minimum=1970, maximum=9999)
    except ValueError as exc:
        raise AnsibleFilterError("parse_nova_log: %s" % exc) from None
    out = []
    for i, text in enumerate(_texts(data, "parse_nova_log")):
        for rec in _novalog.iter_records(text.splitlines(), match=tokens, origin=None if isinstance(data, str)
                                         else "item[%d]" % i, year=year):
            item = rec.to_dict()
            if events:
                item["event"] = _novalog.classify(rec)
            out.append(item)
    return out


def scheduling_attempts(data, instance_uuid=None, request_id=None):
    """Log text or parsed records -> per request id, the attempts and the failing scheduling pass."""
    for name, value in (("instance_uuid", instance_uuid), ("request_id", request_id)):
        if value is not None and not isinstance(value, str):
            raise AnsibleFilterError("scheduling_attempts: %s must be a string" % name)
    if isinstance(data, (list, tuple)) and data and all(isinstance(r, dict) for r in data):
        records = [_novalog.Record.from_dict(r) for r in data]
    elif isinstance(data, (list, tuple)) and not data:
        records = []
    else:
        # every line is parsed (no ``match`` fast path): pasted text is small, and a request id
        # that a terminal's wrap cut in two is only found once its lines are joined
        records = []
        for text in _texts(data, "scheduling_attempts"):
            records.extend(_novalog.iter_records(text.splitlines()))
    return _history.attempts_from_log(records, instance_uuid=instance_uuid, request_id=request_id)


class FilterModule:
    def filters(self):
        return {"parse_nova_log": parse_nova_log, "scheduling_attempts": scheduling_attempts}
