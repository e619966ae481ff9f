"""docs/snapshot.md's field table is the schema's: every field, no other, the same types."""

import copy
import os

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot_fields as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".."))
DOC = os.path.join(ROOT, "docs", "snapshot.md")


def _doc():
    with open(DOC, encoding="utf-8") as handle:
        return handle.read()


def _problems(text, schema):
    documented = F.parse_table(text)
    wanted = {path: kinds for path, kinds, _d in F.fields(schema)}
    out = ["not documented: %s (add it: .venv/bin/python tests/bin/snapshot_fields.py docs/snapshot.md)"
           % p for p in wanted if p not in documented]
    out += ["documented but not in SCHEMA: %s" % p for p in documented if p not in wanted]
    out += ["%s: the table says %s, SCHEMA %s" % (p, documented[p][0], k) for p, k in wanted.items()
            if p in documented and documented[p][0] != k]
    out += ["%s has no meaning" % p for p, (_k, meaning) in documented.items() if not meaning]
    if not out and F.regenerate(text, schema) != text:
        out.append("the table is not the one snapshot_fields.py makes (order or a description changed): run it")
    return out


def test_the_field_table_is_the_schema():
    problems = _problems(_doc(), snapshot.SCHEMA)
    assert not problems, "\n".join(problems)


def test_a_new_schema_field_or_a_stale_row_is_caught():
    text = _doc()
    schema = copy.deepcopy(snapshot.SCHEMA)
    host = schema["properties"]["hosts"]["items"]["properties"]
    host["example_field"] = {"type": ["object", "null"], "description": "an example"}
    assert any("not documented: hosts[].example_field" in p for p in _problems(text, schema))
    fixed = F.regenerate(text, schema)
    assert "| `hosts[].example_field` | object or null | an example |" in fixed and not _problems(fixed, schema)
    del schema["properties"]["hosts"]["items"]["properties"]["failed_builds"]
    assert any("documented but not in SCHEMA: hosts[].failed_builds" in p for p in _problems(fixed, schema))
    wrong = text.replace("| `hosts[].num_io_ops` | integer or null |", "| `hosts[].num_io_ops` | string |")
    assert any("num_io_ops: the table says string" in p for p in _problems(wrong, snapshot.SCHEMA))
