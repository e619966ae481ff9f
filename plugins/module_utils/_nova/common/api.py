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

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn


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
        deadline=dict(type="int", default=_conn.DEFAULT_DEADLINE),
    )


SECRET_KEY_WORDS = ("password", "secret", "token", "passcode", "key", "credential")


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


def _leaves(value):
    """Every non-empty scalar of a value as text, at any depth (what a no_log option hides)."""
    found = set()
    if isinstance(value, dict):
        for sub_value in value.values():
            found |= _leaves(sub_value)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found |= _leaves(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if text:
            found.add(text)
    return found


def raw_secrets(spec, params):
    """Every secret of the raw (not yet validated) module arguments.

    Collected before argument validation so that whatever fails first (an unknown option,
    a wrong type, a bad choice, a missing or conflicting option) the failure, and ``-vvv``'s
    ``invocation``, already mask them:

    * every value of an option marked ``no_log`` (``auth``, ``client_key``...), under its
      name or any alias, whatever its type;
    * inside ``cloud`` (an inline clouds.yaml entry) and inside any option the module does
      not know, every string under a key that names a credential (password, secret, token,
      passcode, key, credential), at any depth.
    """
    if not isinstance(params, dict):
        return set()
    found = set()
    known = set()
    for name, option in spec.items():
        names = [name] + list(option.get("aliases") or [])
        known.update(names)
        for alias in names:
            if alias not in params:
                continue
            if option.get("no_log"):
                found |= _leaves(params[alias])
            elif name == "cloud":
                found |= secret_values(params[alias], alias)
    for name, value in params.items():
        if name not in known and not str(name).startswith("_ansible_"):
            found |= secret_values(value, str(name))
    return found


class _MaskingModule(AnsibleModule):
    """``AnsibleModule`` that knows every secret of its arguments before validating them.

    ``AnsibleModule.__init__`` loads the arguments (``_load_params``), then validates them
    and fails at the first error; its own ``no_log`` bookkeeping only happens during that
    validation and knows nothing of an inline ``cloud``. Registering the secrets right when
    the arguments are loaded makes every later output (the failure message, ``invocation``
    with ``-vvv``, warnings, the result) mask them.
    """

    def _load_params(self):
        super()._load_params()
        self.no_log_values.update(raw_secrets(self.argument_spec, self.params))


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
        self.module = _MaskingModule(argument_spec=spec, supports_check_mode=self.supports_check_mode,
                                     **self.module_kwargs)
        self.params = self.module.params
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
            raise _conn.describe_error(exc, what=what, via=self._conn) from None

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
        except Exception as exc:  # an SDK failure outside self.call(), e.g. opening a service's proxy
            if not _conn.is_sdk_error(exc):
                raise
            error = _conn.describe_error(exc, via=self._conn)
            self.fail(error.message, error_kind=error.kind)
        result.setdefault("changed", False)
        args = self.invocation_args()
        if args is not None:
            result.setdefault("invocation", {"module_args": args})
        self.module.exit_json(**result)
