# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-aggregate option values (nova.scheduler.utils), shared by the filters and the weighers."""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import aggregate_metadata


def agg_values(host, key):
    """utils.aggregate_values_from_key: the raw metadata values of ``key`` over the host's aggregates."""
    return {aggregate_metadata(a)[key] for a in host.aggregates if key in aggregate_metadata(a)}


def validate_num_values(values, default, cast):
    """utils.validate_num_values with the filters' fallback: min of the values, default on error."""
    if not values:
        return default, None
    try:
        return min(cast(v) for v in values), None
    except ValueError:
        return default, "aggregate value(s) %s not a number: Nova logs a warning and uses %s" % (
            sorted(values), default)
