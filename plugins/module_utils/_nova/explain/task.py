# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``scheduling_explain`` task: its options, their checks, and its result.

Shared by the module (which also reads the cloud) and the action plugin (which runs an
offline explanation, a snapshot and an inline flavor, on the controller without starting a
module). Both call the same functions, so both give the same result for the same options.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as _flavors
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as _snapshot
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine as _engine
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render as _render
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request as _request

# The module's own options (the auth options come from common/api.py).
OPTIONS = dict(
    flavor=dict(type="raw", required=True),
    image=dict(type="raw"),
    availability_zone=dict(type="str"),
    scheduler_hints=dict(type="dict", default={}),
    count=dict(type="int", default=1),
    project_id=dict(type="str"),
    host=dict(type="str"),
    hypervisor_hostname=dict(type="str"),
    boot_from_volume=dict(type="bool", default=False),
    networks=dict(type="list", elements="dict"),
    scheduler=dict(type="dict"),
    nova_release=dict(type="str"),
    snapshot=dict(type="dict"),
    snapshot_path=dict(type="path"),
    relaxations=dict(type="bool", default=True),
    max_hosts_in_table=dict(type="int", default=40),
    detail=dict(type="str", default="compact", choices=["compact", "full"]),
    return_snapshot=dict(type="bool", default=False),
)
MUTUALLY_EXCLUSIVE = [("snapshot", "snapshot_path")]

IMAGE_KEYS = ("id", "name", "disk_format", "properties")


def is_offline(params):
    """True when the options name no cloud object: a snapshot, an inline flavor, no image name."""
    return ((params.get("snapshot") is not None or params.get("snapshot_path") is not None)
            and isinstance(params.get("flavor"), dict) and not isinstance(params.get("image"), str))


def check(params):
    """Check the option values beyond their types; ValueError naming the option.

    Returns the ``scheduler`` option with the file(s) of ``scheduler.nova_conf`` read into
    ``nova_conf_text`` (a bad path is reported before anything else is done).
    """
    scheduler = scheduler_conf(params["scheduler"])
    if params["count"] < 1:
        raise ValueError("count must be at least 1, got %d" % params["count"])
    if params["max_hosts_in_table"] < 0:
        raise ValueError("max_hosts_in_table must not be negative")
    flavor = params["flavor"]
    if isinstance(flavor, dict):
        _flavors.inline_flavor(flavor)
    elif isinstance(flavor, bool) or not isinstance(flavor, (str, int)) or not str(flavor).strip():
        raise ValueError("flavor must be a flavor name or id, or a mapping with vcpus, ram and disk")
    image = params["image"]
    if image is not None and not isinstance(image, (dict, str)):
        raise ValueError("image must be a mapping (id, name, disk_format, properties) or an image name or id")
    if isinstance(image, dict):
        unknown = sorted(set(image) - set(IMAGE_KEYS))
        if unknown:
            raise ValueError("image has unknown key(s) %s; the keys are %s" % (", ".join(unknown), ", ".join(IMAGE_KEYS)))
    return scheduler


def scheduler_conf(scheduler):
    """The scheduler option, with the file(s) of ``nova_conf`` read into ``nova_conf_text``."""
    if not scheduler or "nova_conf" not in scheduler:
        return scheduler
    paths = scheduler["nova_conf"]
    if "nova_conf_text" in scheduler:
        raise ValueError("scheduler: give nova_conf (paths) or nova_conf_text (texts), not both")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise ValueError("scheduler.nova_conf must be the path of a nova.conf or a list of paths, got %r"
                         % (scheduler["nova_conf"],))
    texts = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                texts.append(handle.read())
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError("scheduler.nova_conf: cannot read %s: %s"
                             % (path, getattr(exc, "strerror", None) or exc)) from None
    out = {k: v for k, v in scheduler.items() if k != "nova_conf"}
    out["nova_conf_text"] = texts[0] if len(texts) == 1 else texts
    return out


def given_snapshot(params, owned=True):
    """The snapshot of the options (``snapshot_path`` read, or ``snapshot`` checked); None without one.

    ``owned``: the inline snapshot belongs to this call (a module's parsed arguments) and is
    completed in place; otherwise (the controller's task arguments, which other tasks may share)
    it is checked on a copy.
    """
    if params["snapshot_path"] is not None:
        return _snapshot.load(params["snapshot_path"])
    if params["snapshot"] is not None:
        return _snapshot.validate(params["snapshot"], "snapshot", copy_data=not owned)
    return None


def explain(params, snapshot, flavor, image, project_id, scheduler, warn):
    """Run the engine for the task's request on ``snapshot``; the task's result (without ``changed``).

    ``flavor`` and ``image`` are resolved (dicts, or None for no image), ``project_id`` is an id
    or None, ``scheduler`` is what :func:`check` returned, ``warn`` takes each warning.
    """
    if params["nova_release"]:
        snapshot = dict(snapshot, source=dict(snapshot.get("source") or {}, nova_release=params["nova_release"]))
    request = {
        "flavor": flavor,
        "image": image,
        "availability_zone": params["availability_zone"],
        "scheduler_hints": params["scheduler_hints"] or {},
        "count": params["count"],
        "project_id": project_id,
        "is_bfv": params["boot_from_volume"],
        "host": params["host"],
        "hypervisor_hostname": params["hypervisor_hostname"],
        "networks": params["networks"],
    }
    explanation = _engine.explain(snapshot, request, scheduler=scheduler,
                                  relax=params["relaxations"], detail=params["detail"])
    for message in explanation.get("warnings") or []:
        warn(message)
    result = {
        "fits": explanation["fits"],
        "summary": explanation["summary"],
        "valid_hosts": explanation["valid_hosts"],
        "table": _render.render_table(explanation, max_hosts=params["max_hosts_in_table"]),
        "explanation": explanation,
    }
    if params["return_snapshot"]:
        result["snapshot"] = snapshot
    return result


def explain_offline(params, scheduler, warn, owned=True):
    """The whole offline task (:func:`is_offline` is true): no cloud is asked anything."""
    snapshot = given_snapshot(params, owned=owned)
    project_id = params["project_id"]
    if project_id is not None:
        project_id = _request.resolve_project(project_id, snapshot)
    return explain(params, snapshot, _flavors.inline_flavor(params["flavor"]), params["image"], project_id,
                   scheduler, warn)


def invocation_args(params):
    """The options as echoed in ``invocation.module_args``: an inline snapshot is not repeated."""
    snapshot = params.get("snapshot")
    if snapshot is None:
        return None
    args = dict(params)
    hosts = snapshot.get("hosts") if isinstance(snapshot, dict) else None
    args["snapshot"] = "(a snapshot of %s hosts, not repeated here)" % (len(hosts) if isinstance(hosts, list) else "?")
    return args
