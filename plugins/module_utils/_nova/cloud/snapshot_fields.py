# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The field table of docs/snapshot.md, made from ``snapshot.SCHEMA``.

Every property the schema names, at any depth, is one row: its path
(``hosts[].resources.<class>.total``: ``[]`` an item of a list, ``<class>`` any key of a
mapping), its JSON types and what it means. The meaning is the property's ``description``
in the schema when it has one, else the one already written in the document. A unit test
(tests/unit/plugins/module_utils/_nova/cloud/test_snapshot_doc.py) fails when the document's
table differs from the one made here: a field of the schema missing from the document, a
documented field that the schema does not have, a wrong type, a field with no meaning.

Regenerate the table in place after adding a field to the schema (with a description)::

    .venv/bin/python tests/bin/snapshot_fields.py docs/snapshot.md
"""

from __future__ import annotations

BEGIN = "<!-- snapshot-fields: made from snapshot.SCHEMA by snapshot_fields.py; do not edit the first two columns -->"
END = "<!-- /snapshot-fields -->"
HEADER = ["| field | type | meaning |", "|---|---|---|"]
# what a mapping's free keys are called in a path, by the path of the mapping
KEY_NAMES = {"hosts[].resources": "<class>", "aggregates[].metadata": "<key>"}


def fields(schema, path=""):
    """``(path, types, description)`` of every property of ``schema``, in the schema's order."""
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        here = path + ("." if path else "") + name
        out.append((here, _types(sub), sub.get("description") or ""))
        out.extend(fields(sub, here))
        out.extend(_children(sub, here))
    return out


def _children(schema, path):
    out = []
    items = schema.get("items")
    if isinstance(items, dict):
        out.extend(fields(items, path + "[]"))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        key = KEY_NAMES.get(path, "<key>")
        out.extend(fields(extra, path + "." + key))
    return out


def _types(schema):
    kinds = schema.get("type")
    if kinds is None:
        return "any"
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    return " or ".join(kinds)


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ").strip()


def parse_table(text):
    """``{path: (types, meaning)}`` of the field table in ``text`` (empty when it has none)."""
    if BEGIN not in text or END not in text:
        return {}
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = {}
    for line in body.splitlines():
        line = line.strip()
        if not line.startswith("|") or line in HEADER:
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) < 3:
            continue
        rows[cells[0].strip("`")] = (cells[1], " | ".join(cells[2:]).strip())
    return rows


def table(schema, documented=None):
    """The markdown table (lines): meanings from the schema, else from ``documented``."""
    documented = documented or {}
    lines = list(HEADER)
    for path, kinds, description in fields(schema):
        meaning = _cell(description) or documented.get(path, ("", ""))[1]
        lines.append("| `%s` | %s | %s |" % (path, kinds, meaning))
    return lines


def regenerate(text, schema):
    """``text`` with its field table made again from ``schema`` (appended when it has none)."""
    lines = [BEGIN] + table(schema, parse_table(text)) + [END]
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + "\n".join(lines) + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
