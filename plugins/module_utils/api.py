# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one base for every API module of stackops.nova.

A module subclasses :class:`NovaModule`, declares its own ``argument_spec`` and
implements :meth:`NovaModule.run`; the base adds the shared auth options (documented
once in the ``stackops.nova.auth`` doc fragment), opens the connection, and turns
expected failures into ``fail_json`` with a clear message and no traceback.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.stackops.nova.plugins.module_utils import connection as _conn


def auth_argument_spec():
    """The shared connection options; credentials are ``no_log``."""
    return dict(
        cloud=dict(type="raw"),
        auth=dict(type="dict", no_log=True),
        auth_type=dict(type="str"),
        region_name=dict(type="str"),
        interface=dict(type="str", choices=["public", "internal", "admin"],
                       aliases=["endpoint_type"]),
        validate_certs=dict(type="bool", aliases=["verify"]),
        ca_cert=dict(type="path", aliases=["cacert"]),
        client_cert=dict(type="path", aliases=["cert"]),
        client_key=dict(type="path", no_log=True, aliases=["key"]),
        api_timeout=dict(type="int"),
    )


SECRET_KEY_WORDS = ("password", "secret", "token", "passcode", "key")


def secret_values(value, key=""):
    """Every string under a key that names a credential, at any depth of a dict/list."""
    found = set()
    if isinstance(value, dict):
        for sub_key, sub_value in value.items():
            found |= secret_values(sub_value, str(sub_key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= secret_values(item, key)
    elif isinstance(value, str) and value and any(word in key.lower() for word in SECRET_KEY_WORDS):
        found.add(value)
    return found


class NovaModule:
    """Base of the API modules: options, connection, errors.

    Subclasses set ``argument_spec`` (module options) and optionally ``module_kwargs``
    (mutually_exclusive, required_if ...), and implement ``run()`` which returns the
    result dict (``changed`` defaults to False).
    """

    argument_spec = {}
    module_kwargs = {}
    supports_check_mode = True

    def __init__(self):
        spec = auth_argument_spec()
        spec.update(self.argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=self.supports_check_mode,
                                    **self.module_kwargs)
        self.params = self.module.params
        # `cloud` may be an inline dict carrying credentials: mask them like `auth`.
        self.module.no_log_values.update(secret_values(self.params.get("cloud")))
        self._conn = None
        self.warnings = []

    @property
    def conn(self):
        """The openstacksdk connection, opened on first use."""
        if self._conn is None:
            self._conn = _conn.connect({k: self.params.get(k) for k in _conn.AUTH_OPTIONS})
        return self._conn

    def warn(self, message):
        self.warnings.append(message)
        self.module.warn(message)

    def fail(self, message, **kwargs):
        args = self.invocation_args()
        if args is not None:
            kwargs.setdefault("invocation", {"module_args": args})
        self.module.fail_json(msg=message, **kwargs)

    def invocation_args(self):
        """The options echoed back in ``invocation.module_args``; None: all of them (Ansible's way).

        A module taking a big document as an option (a snapshot) returns a short placeholder
        for it instead of the whole document again.
        """
        return None

    def needs_sdk(self):
        """Whether this run needs openstacksdk (False: it makes no call, for example offline)."""
        return True

    def call(self, func, *args, what="talk to the cloud", **kwargs):
        """Call the SDK with retries for transient failures; errors become :class:`NovaError`."""
        try:
            return _conn.retry(func, *args, **kwargs)
        except _conn.NovaError:
            raise
        except Exception as exc:
            raise _conn.describe_error(exc, what=what) from None

    def validate(self):
        """Check the option values beyond their types; raise ValueError naming the option."""

    def run(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self):
        if self.needs_sdk() and not _conn.HAS_OPENSTACKSDK:
            self.fail(missing_required_lib("openstacksdk"), exception=str(_conn.OPENSTACKSDK_IMPORT_ERROR))
        cloud = self.params.get("cloud")
        if cloud is not None and not isinstance(cloud, (str, dict)):
            self.fail("cloud must be a clouds.yaml cloud name or a dict of connection settings, got %s"
                      % type(cloud).__name__)
        try:
            self.validate()
            result = self.run() or {}
        except ValueError as exc:
            self.fail(str(exc))
        except _conn.NovaError as exc:
            self.fail(exc.message, error_kind=exc.kind)
        result.setdefault("changed", False)
        args = self.invocation_args()
        if args is not None:
            result.setdefault("invocation", {"module_args": args})
        self.module.exit_json(**result)
