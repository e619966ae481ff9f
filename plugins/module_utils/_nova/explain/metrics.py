# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MetricsFilter (nova.scheduler.filters.metrics_filter) over the snapshot's host metrics.

The filter keeps hosts that report every metric named in ``[metrics] weight_setting``
(``name=ratio`` entries; Nova ignores malformed ones, as ``scheduler.utils.parse_options``
does). A snapshot host's ``metrics`` is a list of metric names, a list of ``{name, value}``
mappings (Nova's MonitorMetricList) or a mapping name -> value; a host without ``metrics``
has unknown metrics. The option comes from ``scheduler.metrics_weight_setting``; when it is
not given the filter is unknown too (Nova's default, an empty list, passes every host).
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C


def parse_weight_setting(values):
    """nova.scheduler.utils.parse_options(sep='=', converter=float): the metric names kept."""
    keys = []
    for opt in values or []:
        key, sep, value = str(opt).partition("=")
        try:
            float(value)
        except ValueError:
            continue
        if key and sep and key not in keys:
            keys.append(key)
    return keys


def host_metric_names(raw):
    """The metric names a snapshot host reports, or None when unknown."""
    metrics = raw.get("metrics")
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return frozenset(str(k) for k in metrics)
    names = set()
    for item in metrics:
        if isinstance(item, dict):
            if item.get("name") is not None:
                names.add(str(item["name"]))
        else:
            names.add(str(item))
    return frozenset(names)


class MetricsFilter(C.Check):
    stage = "filter"
    name = "MetricsFilter"
    short = "missing metrics (MetricsFilter)"

    def __init__(self, ctx):
        super().__init__("filter:%s" % self.name)
        setting = ctx.conf.get("metrics_weight_setting")
        self.known = setting is not None
        self.keys = parse_weight_setting(setting) if self.known else []

    def key(self, host, ctx):
        return host_metric_names(host.raw)

    def evaluate(self, host, ctx, state):
        if not self.known:
            return C.unknown("[metrics] weight_setting is not known (give scheduler.metrics_weight_setting); "
                             "Nova's default (empty) passes every host", "metrics setting unknown")
        if not self.keys:
            return C.ok("[metrics] weight_setting names no metric: every host passes")
        names = host_metric_names(host.raw)
        if names is None:
            return C.unknown("the snapshot has no metrics for this host; it needs %s" % ", ".join(self.keys),
                             "metrics unknown")
        missing = [k for k in self.keys if k not in names]
        if missing:
            return C.fail(C.STATIC, "host does not report metric(s) %s of [metrics] weight_setting"
                          % ", ".join(missing), self.short)
        return C.ok("host reports %s" % ", ".join(self.keys))
