# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdict cells and the base class of every check (prefilter, placement, host filter).

A cell is a small read-only mapping ``{"verdict", "kind", "reason"}`` (plus ``"short"`` on
failures: the reason label of the one-line summary). Within one engine pass identical cells
are one object (:func:`Interner`, used by the matrix evaluation), so a matrix of thousands
of hosts costs little memory; nothing is shared between passes, and the report turns the
cells into plain dicts of its own (``engine.report``), so a caller changing a result never
changes another.

verdicts: ``pass``; ``fail`` (kind ``static``: never on this host as configured, or
``dynamic``: full now); ``unknown`` (the snapshot lacks the data); ``error`` (Nova's own
code raises on this input: the whole request fails); ``not_evaluated`` (unknown,
out-of-tree or removed filter); ``skipped`` (Nova does not run it, e.g. forced host).
"""

from __future__ import annotations

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"
ERROR = "error"
NOT_EVALUATED = "not_evaluated"
SKIPPED = "skipped"

STATIC = "static"
DYNAMIC = "dynamic"


class Cell(dict):
    """A verdict cell: a dict that refuses changes (the engine shares it between hosts)."""

    __slots__ = ()

    def _read_only(self, *_args, **_kwargs):
        raise TypeError("a verdict cell is read-only: copy it with dict(cell)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return (Cell, (dict(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, _memo):
        return self

    def key(self):
        return (self["verdict"], self["kind"], self["reason"], self.get("short"))


def cell(verdict, reason, kind=None, short=None):
    """A new read-only verdict cell."""
    value = {"verdict": verdict, "kind": kind, "reason": reason}
    if short is not None:
        value["short"] = short
    return Cell(value)


class Interner:
    """One pass's table of cells: equal cells become one object (never shared across passes)."""

    def __init__(self):
        self.table = {}

    def __call__(self, the_cell):
        key = the_cell.key() if isinstance(the_cell, Cell) else \
            (the_cell["verdict"], the_cell["kind"], the_cell["reason"], the_cell.get("short"))
        found = self.table.get(key)
        if found is None:
            found = the_cell if isinstance(the_cell, Cell) else Cell(the_cell)
            self.table[key] = found
        return found


def ok(reason):
    return cell(PASS, reason)


def fail(kind, reason, short):
    return cell(FAIL, reason, kind, short)


def unknown(reason, short=None):
    return cell(UNKNOWN, reason, None, short or "unknown")


class Check:
    """One column of the host x check matrix.

    ``stage``: prefilter | placement | filter. ``dynamic``: the verdict can change while
    instances of the same request are placed (count > 1). ``key(host, ctx)`` returns a
    hashable value such that hosts with equal keys get the same cell (None: no sharing).
    """

    stage = "filter"
    dynamic = False
    name = ""
    # True for a check that limits how many instances fit (placement resources, instance and
    # I/O counts, anti-affinity): its failing verdict means "full", and capacity() says how full
    counts = False

    def __init__(self, check_id, name=None):
        self.id = check_id
        if name:
            self.name = name

    def key(self, host, ctx):  # pragma: no cover - overridden
        return None

    def evaluate(self, host, ctx, state):  # pragma: no cover - overridden
        raise NotImplementedError

    def capacity(self, host, ctx):
        """How many more instances of the request this check lets onto ``host`` now.

        None: this check sets no bound (the engine's headroom takes the smallest bound of every
        check, :func:`engine.host_capacity`). Only checks with ``counts`` are asked.
        """
        return None

    def limit_name(self, host, ctx):
        """What to call this check's bound in ``limited_by``."""
        return self.name

    def describe(self):
        return {"id": self.id, "stage": self.stage, "name": self.name}


class ConstantCheck(Check):
    """A check whose cell is the same for every host (not evaluated, removed, skipped...)."""

    def __init__(self, check_id, name, the_cell, stage="filter", note=None):
        super().__init__(check_id, name)
        self.stage = stage
        self.the_cell = the_cell
        self.note = note

    def key(self, host, ctx):
        return True

    def evaluate(self, host, ctx, state):
        return self.the_cell

    def describe(self):
        result = super().describe()
        if self.note:
            result["note"] = self.note
        return result
