"""Count HTTP requests of any Python process started with this directory on PYTHONPATH.

When STACKOPS_BENCH_REQLOG names a file, every request sent through ``requests`` (what
keystoneauth, openstacksdk and the openstack CLI use) appends one line
``<pid> <method> <url> <status>`` to it. ``requests`` is patched only when something
imports it, so processes that never talk HTTP pay nothing.
"""

import importlib.abc
import os
import sys

_LOG = os.environ.get("STACKOPS_BENCH_REQLOG")


def _patch(module):
    original = module.HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        response = original(self, request, *args, **kwargs)
        line = "%d %s %s %s\n" % (os.getpid(), request.method, request.url, response.status_code)
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
        return response

    module.HTTPAdapter.send = send


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "requests.adapters":
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None and spec.loader is not None:
                loader = spec.loader
                original_exec = loader.exec_module

                def exec_module(module, _original=original_exec):
                    _original(module)
                    _patch(module)

                loader.exec_module = exec_module
                return spec
        return None


if _LOG:
    sys.meta_path.insert(0, _Hook())
