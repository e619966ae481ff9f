# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The placement stage: GET /allocation_candidates, one column per resource class and trait set.

A provider fits a resource class when ``used + amount <= (total - reserved) x ratio``
and ``min_unit <= amount <= max_unit`` and ``amount % step_size == 0``
(``capacity.check_amount``); required traits must all be on the provider, forbidden
ones absent. Granular groups are merged onto the compute node provider (nested
providers are not modelled).
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C


class ResourceClass(C.Check):
    stage = "placement"
    dynamic = True

    def __init__(self, rc, amount, fallback=None):
        super().__init__("placement:%s" % rc, rc)
        self.rc = rc
        self.amount = amount
        # (rc, amount) of Nova's PCPU -> VCPU fallback query, or None
        self.fallback = fallback

    def key(self, host, ctx):
        view = host.resources.get(self.rc)
        if self.fallback is not None:
            return None
        if view is None:
            return (None, bool(host.resources))
        return (view["total"], view["reserved"], view["allocation_ratio"], view["used"], view["min_unit"],
                view["max_unit"], view["step_size"])

    def evaluate(self, host, ctx, state):
        view = host.resources.get(self.rc)
        if view is None:
            if not host.resources:
                return C.unknown("placement inventory unknown")
            the_cell = C.fail(C.STATIC, "needs %d; the provider has no %s inventory" % (self.amount, self.rc),
                              "no %s inventory" % self.rc)
        else:
            the_cell = self.cell_for(view)
        if the_cell["verdict"] == C.FAIL and self.fallback is not None:
            rc, amount = self.fallback
            alt = host.resources.get(rc)
            if alt is not None:
                fits, _kind, reason = capacity.check_amount(alt, amount)
                if fits:
                    return C.ok("%s; but Nova's fallback query for %s fits: %s %s (set [workarounds] "
                                "disable_fallback_pcpu_query to stop it)" % (the_cell["reason"], rc, rc, reason))
        return the_cell

    def cell_for(self, view):
        fits, kind, reason = capacity.check_amount(view, self.amount)
        if fits:
            return C.ok(reason)
        if kind == C.DYNAMIC:
            return C.fail(kind, reason, "insufficient %s" % self.rc)
        return C.fail(kind, reason, "%s never fits (max_unit/capacity)" % self.rc)

    def fits_with(self, host, extra_used):
        """Does one more allocation fit when ``extra_used`` is already claimed by this request?"""
        view = host.resources.get(self.rc)
        if view is not None and view["used"] + extra_used + self.amount <= view["capacity"]:
            return True
        if self.fallback is not None:
            alt = host.resources.get(self.fallback[0])
            return alt is not None and alt["used"] + self.fallback[1] <= alt["capacity"]
        return False

    def evaluate_with(self, host, extra_used):
        view = host.resources.get(self.rc)
        if view is None or not extra_used:
            return self.evaluate(host, None, None)
        shifted = dict(view, used=view["used"] + extra_used, free=view["free"] - extra_used)
        the_cell = self.cell_for(shifted)
        if the_cell["verdict"] == C.FAIL:
            return C.cell(C.FAIL, the_cell["reason"] + " (after %d claimed by earlier instances of this request)"
                          % extra_used, the_cell["kind"], the_cell.get("short"))
        return the_cell


class Traits(C.Check):
    stage = "placement"

    def __init__(self, traits, forbidden=False):
        super().__init__("placement:%s_traits" % ("forbidden" if forbidden else "required"),
                         "forbidden traits" if forbidden else "required traits")
        self.traits = tuple(sorted(traits))
        self.forbidden = forbidden

    def key(self, host, ctx):
        return host.traits

    def evaluate(self, host, ctx, state):
        if host.traits is None:
            return C.unknown("provider traits unknown")
        if self.forbidden:
            present = [t for t in self.traits if t in host.traits]
            if present:
                return C.fail(C.STATIC, "provider has forbidden trait(s) %s" % ", ".join(present),
                              "has forbidden trait %s" % present[0])
            return C.ok("none of %s" % ", ".join(self.traits))
        missing = [t for t in self.traits if t not in host.traits]
        if missing:
            return C.fail(C.STATIC, "provider lacks required trait(s) %s" % ", ".join(missing),
                          "missing trait %s" % missing[0])
        return C.ok("has %s" % ", ".join(self.traits))


def build(ctx):
    placement = ctx.req["placement"]
    fallback = placement.get("fallback")
    alt = None
    if fallback and not ctx.conf.get("disable_fallback_pcpu_query") and "PCPU" in placement["resources"]:
        vcpu = (fallback.get("resources") or {}).get("VCPU")
        if vcpu:
            alt = ("VCPU", vcpu)
    result = [ResourceClass(rc, amount, alt if rc == "PCPU" else None)
              for rc, amount in sorted(placement["resources"].items())]
    if placement["required_traits"]:
        result.append(Traits(placement["required_traits"]))
    if placement["forbidden_traits"]:
        result.append(Traits(placement["forbidden_traits"], forbidden=True))
    return result
