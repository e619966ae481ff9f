# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GET helpers over a keystoneauth adapter, for the calls openstacksdk has no proxy for
(retries and plain-words errors from :mod:`connection`). Private library code."""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn


def get_json(adapter, url, what, microversion=None, params=None):
    """One GET with retries; HTTP errors become :class:`connection.NovaError`."""
    kwargs = {"raise_exc": True}
    if microversion:
        kwargs["microversion"] = microversion
    if params:
        kwargs["params"] = params
    try:
        response = _conn.retry(adapter.get, url, what=what, **kwargs)
        return response.json() if response.content else {}
    except _conn.NovaError:
        raise
    except Exception as exc:
        raise _conn.describe_error(exc, what=what, via=adapter) from None


def get_paginated(adapter, url, key, what, microversion=None, params=None, max_pages=10000):
    """Follow ``<key>_links`` rel=next links; return the concatenated ``key`` lists."""
    items = []
    next_url, next_params = url, params
    for _page in range(max_pages):
        body = get_json(adapter, next_url, what, microversion=microversion, params=next_params)
        page = body.get(key) or []
        items.extend(page)
        next_url = None
        for link in body.get(key + "_links") or []:
            if link.get("rel") == "next":
                next_url = link.get("href")
        if not next_url or not page:
            break
        next_params = None  # the next link carries the query
    return items


def microversion(adapter, client_maximum):
    """The highest microversion both the service and ``client_maximum`` support (None: unknown)."""
    try:
        from openstack import utils as sdk_utils
        return sdk_utils.maximum_supported_microversion(adapter, client_maximum)
    except Exception:  # discovery problems surface on the first real request
        return None
