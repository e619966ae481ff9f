# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CPU set specifications as Nova reads them (``4-12,^8,15``), and their checks.

Private library code: plain Python, no Ansible imports. ``parse_cpu_spec`` follows
``nova.virt.hardware.parse_cpu_spec`` rule for rule (tests compare the two on many inputs),
including what it accepts (``int()`` semantics: surrounding blanks, ``+3``) and what it rejects.
"""

from __future__ import annotations


class CpuSpecError(ValueError):
    """A CPU set specification Nova would refuse, or one that does not fit the host."""


# Nova itself has no bound and builds the whole set, so "0-9999999999" costs it (and would
# cost us) tens of GB. No host has this many CPUs: refuse larger indexes before building sets.
MAX_CPU_INDEX = 65535


def _bounded(value, rule):
    if value > MAX_CPU_INDEX:
        raise CpuSpecError("CPU index %d in %r is beyond any host (the largest accepted is %d)"
                           % (value, rule, MAX_CPU_INDEX))
    return value


def parse_cpu_spec(spec):
    """Return the set of CPU indexes of ``spec`` as Nova computes it; raise CpuSpecError."""
    if not isinstance(spec, str):
        raise CpuSpecError("a CPU set specification must be a string, got %r" % (spec,))
    include = set()
    exclude = set()
    for rule in spec.split(","):
        rule = rule.strip()
        if not rule:
            continue
        parts = rule.split("-", 1)
        if len(parts) > 1:
            reject = False
            if parts[0] and parts[0][0] == "^":
                reject = True
                parts[0] = parts[0][1:]
            try:
                start, end = [int(p.strip()) for p in parts]
            except ValueError:
                raise CpuSpecError("Invalid range expression %r" % rule) from None
            if start > end:
                raise CpuSpecError("Invalid range expression %r" % rule)
            _bounded(end, rule)
            (exclude if reject else include).update(range(start, end + 1))
        elif rule[0] == "^":
            try:
                index = int(rule[1:].strip())
            except ValueError:
                raise CpuSpecError("Invalid exclusion expression %r" % rule) from None
            exclude.add(_bounded(index, rule))
        else:
            try:
                index = int(rule)
            except ValueError:
                raise CpuSpecError("Invalid inclusion expression %r" % rule) from None
            include.add(_bounded(index, rule))
    return include - exclude


def format_cpu_set(cpus):
    """Render a set of indexes compactly: {0,1,2,5} -> '0-2,5'."""
    ordered = sorted(set(cpus))
    out = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else "%d-%d" % (ordered[i], ordered[j]))
        i = j + 1
    return ",".join(out)


def check_cpu_sets(host_cpus, dedicated=None, shared=None, vcpu_pin_set=None):
    """Check Nova's CPU set options against the host's CPUs, before anything is written.

    ``host_cpus`` is a set of indexes (from /sys/devices/system/cpu/present) or a spec string.
    Each option is None (not set) or a spec string. Returns a dict option -> parsed set.
    Raises CpuSpecError naming the option for: bad syntax, an empty set, an index the host does
    not have, dedicated and shared overlapping, and vcpu_pin_set combined with
    cpu_dedicated_set (nova-compute refuses to start with either).
    """
    if isinstance(host_cpus, str):
        host_cpus = parse_cpu_spec(host_cpus)
    host_cpus = set(host_cpus)
    parsed = {}
    for name, spec in (("cpu_dedicated_set", dedicated), ("cpu_shared_set", shared),
                       ("vcpu_pin_set", vcpu_pin_set)):
        if spec is None:
            continue
        try:
            cpus = parse_cpu_spec(spec)
        except CpuSpecError as exc:
            raise CpuSpecError("%s %r: %s" % (name, spec, exc)) from None
        if not cpus:
            raise CpuSpecError("%s %r selects no CPU at all" % (name, spec))
        beyond = cpus - host_cpus
        if beyond:
            raise CpuSpecError(
                "%s %r names CPU(s) %s that this host does not have (host CPUs: %s)"
                % (name, spec, format_cpu_set(beyond), format_cpu_set(host_cpus) or "none"))
        parsed[name] = cpus
    if "cpu_dedicated_set" in parsed and "cpu_shared_set" in parsed:
        both = parsed["cpu_dedicated_set"] & parsed["cpu_shared_set"]
        if both:
            raise CpuSpecError("cpu_dedicated_set and cpu_shared_set overlap on CPU(s) %s"
                               % format_cpu_set(both))
    if "vcpu_pin_set" in parsed and "cpu_dedicated_set" in parsed:
        raise CpuSpecError("vcpu_pin_set cannot be combined with cpu_dedicated_set "
                           "(nova-compute refuses to start); use cpu_shared_set instead of vcpu_pin_set")
    return parsed
