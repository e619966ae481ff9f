"""The one text-table renderer, and that every text table of the collection goes through it."""

import os
import re

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import table

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".."))


def test_box_table():
    assert table.table(["host", "n"], [["a", "12"], ["bbbbbb", None]]).splitlines() == [
        "+--------+----+",
        "| host   | n  |",
        "+--------+----+",
        "| a      | 12 |",
        "| bbbbbb |    |",
        "+--------+----+",
    ]


def test_plain_table_has_no_trailing_blanks():
    assert table.table_lines(["host", "state"], [["a", None], ["b", "up"]], style=table.PLAIN) == [
        "host  state", "----  -----", "a", "b     up"]


def test_cells_are_cut_and_kept_on_one_line():
    lines = table.table_lines(["a"], [["x" * 20 + "\ny"], [""]], empty="-", max_width=10)
    assert lines[3] == "| xxxxxxx... |" and lines[4] == "| -          |"


def test_bad_style():
    with pytest.raises(ValueError, match="style must be box or plain"):
        table.table(["a"], [], style="fancy")


def test_no_other_table_renderer_in_the_library():
    # the box rule ("+---+") and ljust-padded columns are drawn in common/table.py only
    drawn = []
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or path.endswith(os.path.join("common", "table.py")):
                continue
            with open(path) as handle:
                text = handle.read()
            if re.search(r"\.ljust\(|\"\+\" \+ \"\+\"\.join", text):
                drawn.append(os.path.relpath(path, ROOT))
    assert not drawn
