# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one text-table renderer of the collection (explanations, fleet report, server history).

Two styles over the same column arithmetic:

- ``box`` (prettytable-like, the explanation and history tables)::

      +------+-----+
      | host | fit |
      +------+-----+
      | a    | 2   |
      +------+-----+

- ``plain`` (the fleet report: two spaces between columns, a rule under the headers, no
  trailing blanks).
"""

from __future__ import annotations

BOX = "box"
PLAIN = "plain"


def _text(value, empty, max_width):
    text = empty if value is None or value == "" else str(value).replace("\n", " ")
    if max_width is not None and len(text) > max_width:
        text = text[:max_width - 3] + "..."
    return text


def table_lines(headers, rows, style=BOX, empty="", max_width=None):
    """The table as a list of lines.

    ``empty``: the text of a None or empty cell; ``max_width``: cells longer than that are
    cut, ending in ``...``; line breaks inside a cell become spaces.
    """
    body = [[_text(value, empty, max_width) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    if style == PLAIN:
        out = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip(),
               "  ".join("-" * w for w in widths)]
        out.extend("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip() for row in body)
        return out
    if style != BOX:
        raise ValueError("style must be %s or %s, got %r" % (BOX, PLAIN, style))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, "| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(headers)) + " |", rule]
    out.extend("| " + " | ".join(v.ljust(widths[i]) for i, v in enumerate(row)) + " |" for row in body)
    out.append(rule)
    return out


def table(headers, rows, style=BOX, empty="", max_width=None):
    """The table as one string (lines joined with newlines)."""
    return "\n".join(table_lines(headers, rows, style=style, empty=empty, max_width=max_width))
