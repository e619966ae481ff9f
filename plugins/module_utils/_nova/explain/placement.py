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


def traits_ok(host, required, forbidden):
    """Does the provider satisfy a trait request? None when its traits are unknown."""
    if host.traits is None:
        return None
    return all(t in host.traits for t in required) and not any(t in host.traits for t in forbidden)


class ResourceClass(C.Check):
    stage = "placement"
    dynamic = True
    counts = True

    def __init__(self, rc, amount, fallback=None, traits=((), ()), fallback_traits=((), ())):
        super().__init__("placement:%s" % rc, rc)
        self.rc = rc
        self.amount = amount
        # (rc, amount) of Nova's PCPU -> VCPU fallback query, or None; with the (required,
        # forbidden) traits of the main query and of the fallback query (which drops the
        # HW_CPU_HYPERTHREADING trait of hw:cpu_thread_policy)
        self.fallback = fallback
        self.traits = traits
        self.fallback_traits = fallback_traits

    def key(self, host, ctx):
        view = host.resources.get(self.rc)
        if self.fallback is not None or not capacity.usage_known(host.resources):
            return None
        if view is None:
            return (None, bool(host.resources))
        return (view["total"], view["reserved"], view["allocation_ratio"], view["used"], view["min_unit"],
                view["max_unit"], view["step_size"])

    def evaluate(self, host, ctx, state):
        view = host.resources.get(self.rc)
        if not capacity.usage_known(host.resources):
            return C.unknown("placement inventory unknown" if not host.resources else "placement usage unknown")
        if view is None:
            the_cell = C.fail(C.STATIC, "needs %d; the provider has no %s inventory" % (self.amount, self.rc),
                              "no %s inventory" % self.rc)
        else:
            the_cell = self.cell_for(view)
        if the_cell["verdict"] == C.FAIL and self.fallback is not None:
            rc, amount = self.fallback
            alt = host.resources.get(rc)
            if alt is not None and traits_ok(host, *self.fallback_traits) is not False:
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

    def _primary_usable(self, host):
        return self.fallback is None or traits_ok(host, *self.traits) is not False

    def _fallback_usable(self, host):
        return self.fallback is not None and traits_ok(host, *self.fallback_traits) is not False

    def primary_fits(self, host, extra_used):
        """Does the main query (this class) hold one more, with ``extra_used`` claimed already?"""
        view = host.resources.get(self.rc)
        return (view is not None and self._primary_usable(host)
                and capacity.max_allocations(dict(view, used=view["used"] + extra_used), self.amount) > 0)

    def fits_with(self, host, extra_used, claimed=None):
        """Does one more allocation fit when ``extra_used`` of this class (and ``claimed``, every
        class) is already claimed by this request? Nova's fallback query counts too."""
        if self.primary_fits(host, extra_used):
            return True
        if self._fallback_usable(host):
            rc, amount = self.fallback
            alt = host.resources.get(rc)
            extra = (claimed or {}).get(rc, 0)
            return alt is not None and capacity.max_allocations(dict(alt, used=alt["used"] + extra), amount) > 0
        return False

    def _counts(self, host):
        view = host.resources.get(self.rc)
        primary = capacity.max_allocations(view, self.amount) if view is not None and self._primary_usable(host) else 0
        extra = 0
        if self._fallback_usable(host):
            rc, amount = self.fallback
            alt = host.resources.get(rc)
            extra = capacity.max_allocations(alt, amount) if alt is not None else 0
        return primary or 0, extra or 0

    def capacity(self, host, ctx):
        """Allocations of this class that still fit; for PCPU with Nova's fallback query, the PCPU
        ones plus the VCPU ones (each instance takes one or the other; the classes both queries
        share, memory and disk, bound the sum through their own checks)."""
        if not capacity.usage_known(host.resources):
            return None
        primary, extra = self._counts(host)
        return primary + extra

    def limit_name(self, host, ctx):
        if self.fallback is not None and capacity.usage_known(host.resources) and self._counts(host)[0] == 0:
            return self.fallback[0]
        return self.rc

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

    def __init__(self, traits, forbidden=False, fallback=None):
        super().__init__("placement:%s_traits" % ("forbidden" if forbidden else "required"),
                         "forbidden traits" if forbidden else "required traits")
        self.traits = tuple(sorted(traits))
        self.forbidden = forbidden
        # the PCPU check whose VCPU fallback query asks for other traits, or None
        self.fallback = fallback

    def key(self, host, ctx):
        return host.traits

    def evaluate(self, host, ctx, state):
        the_cell = self._evaluate(host)
        if the_cell["verdict"] == C.FAIL and self.fallback is not None \
                and traits_ok(host, *self.fallback.fallback_traits):
            return C.ok("%s; but Nova's fallback query for VCPU does not ask for it (set [workarounds] "
                        "disable_fallback_pcpu_query to stop it)" % the_cell["reason"])
        return the_cell

    def _evaluate(self, host):
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
    traits = (tuple(placement["required_traits"]), tuple(placement["forbidden_traits"]))
    fallback_traits = ((tuple(fallback.get("required_traits") or ()), tuple(fallback.get("forbidden_traits") or ()))
                       if alt else ((), ()))
    result = [ResourceClass(rc, amount, alt if rc == "PCPU" else None, traits, fallback_traits)
              for rc, amount in sorted(placement["resources"].items())]
    pcpu = next((c for c in result if c.fallback is not None), None)
    if placement["required_traits"]:
        result.append(Traits(placement["required_traits"], fallback=pcpu))
    if placement["forbidden_traits"]:
        result.append(Traits(placement["forbidden_traits"], forbidden=True, fallback=pcpu))
    return result
