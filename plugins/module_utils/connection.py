# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connecting to a cloud, retrying transient failures, and explaining errors to people.

Private library code shared by every API module and the inventory plugin. It needs
openstacksdk but not Ansible; callers turn :class:`NovaError` into ``fail_json``,
``AnsibleParserError`` and so on. Messages never contain credentials.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import time


def _installed(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# openstacksdk is imported on first use (load_sdk): callers that never talk to a cloud (explain
# on a snapshot) do not pay for importing it. Whether it is installed is known without importing.
HAS_OPENSTACKSDK = _installed("openstack") and _installed("keystoneauth1")
OPENSTACKSDK_IMPORT_ERROR = None if HAS_OPENSTACKSDK else ImportError("No module named 'openstack'")
openstack = sdk_exc = config_exc = ks_exc = None


def load_sdk():
    """Import openstacksdk and keystoneauth1 once; raise :class:`NovaError` when they cannot be."""
    global openstack, sdk_exc, config_exc, ks_exc, HAS_OPENSTACKSDK, OPENSTACKSDK_IMPORT_ERROR  # pylint: disable=global-statement
    if openstack is not None:
        return
    try:
        import openstack as sdk
        from openstack import exceptions as sdk_exceptions
        from openstack.config import exceptions as config_exceptions
        from keystoneauth1 import exceptions as ks_exceptions
    except ImportError as exc:
        HAS_OPENSTACKSDK = False
        OPENSTACKSDK_IMPORT_ERROR = exc
        raise NovaError("openstacksdk is required: %s" % exc, kind="missing_library") from None
    sdk_exc, config_exc, ks_exc = sdk_exceptions, config_exceptions, ks_exceptions
    openstack = sdk


APP_NAME = "stackops.nova"
APP_VERSION = "0.1.0"

# Connection options shared by every API plugin (documented in doc_fragments/auth.py).
AUTH_OPTIONS = ("cloud", "auth", "auth_type", "region_name", "interface", "validate_certs",
                "ca_cert", "client_cert", "client_key", "api_timeout")

TRANSIENT_HTTP_STATUSES = (502, 503, 504)


class NovaError(Exception):
    """An expected failure, with a message for a person (no traceback needed)."""

    def __init__(self, message, kind="error", status=None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status


def connect(params):
    """Open an openstacksdk connection from the shared auth options (a dict).

    ``cloud`` is a clouds.yaml entry name or a dict of connection settings; the
    other options override it. Authentication happens here so that a wrong password
    or an unreachable endpoint is reported at once, with a clear message.
    """
    if not HAS_OPENSTACKSDK:
        raise NovaError("openstacksdk is required: %s" % OPENSTACKSDK_IMPORT_ERROR, kind="missing_library")
    load_sdk()
    cloud = params.get("cloud")
    kwargs = {}
    for key, target in (("auth_type", "auth_type"), ("region_name", "region_name"), ("interface", "interface"),
                        ("ca_cert", "cacert"), ("client_cert", "cert"), ("client_key", "key"),
                        ("api_timeout", "api_timeout")):
        if params.get(key) is not None:
            kwargs[target] = params[key]
    if params.get("auth"):
        kwargs["auth"] = params["auth"]
    if params.get("validate_certs") is not None:
        kwargs["verify"] = params["validate_certs"]
    try:
        if isinstance(cloud, dict):
            settings = dict(cloud)
            settings.update(kwargs)
            conn = openstack.connect(app_name=APP_NAME, app_version=APP_VERSION, **settings)
        else:
            conn = openstack.connect(cloud=cloud, app_name=APP_NAME, app_version=APP_VERSION, **kwargs)
        retry(conn.authorize, what="authenticate")
    except NovaError:
        raise
    except Exception as exc:  # every SDK/keystoneauth failure becomes a sentence
        error = describe_error(exc, what="connect to the cloud%s" % _cloud_label(cloud))
        if cloud is None and not params.get("auth") and error.kind == "auth":
            error = NovaError(error.message + " (no cloud was given: set the cloud option, or OS_CLOUD "
                              "or the OS_AUTH_URL family of environment variables)", kind=error.kind)
        raise error from None
    return conn


def _cloud_label(cloud):
    if isinstance(cloud, str) and cloud:
        return " '%s'" % cloud
    return ""


def _chain(exc):
    """The exception and those it was raised from (openstacksdk wraps keystoneauth's)."""
    seen = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _specific(exc):
    """The most telling exception of the chain: the first keystoneauth or HTTP one, else exc."""
    try:
        load_sdk()
    except NovaError:
        return exc
    for item in _chain(exc):
        if isinstance(item, (ks_exc.ClientException, sdk_exc.HttpException,
                             config_exc.OpenStackConfigException, ConnectionResetError)):
            return item
    return exc


def is_transient(exc):
    """True for failures worth retrying: refused/reset/timed-out connections, 502/503/504."""
    if not HAS_OPENSTACKSDK:
        return False
    exc = _specific(exc)
    if ks_exc is None:
        return False
    if isinstance(exc, ks_exc.SSLError):
        return False
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.RetriableConnectionFailure,
                        ks_exc.UnknownConnectionError, ConnectionResetError)):
        return True
    status = _status_of(exc)
    return status in TRANSIENT_HTTP_STATUSES


def _status_of(exc):
    for attr in ("status_code", "http_status"):
        status = getattr(exc, attr, None)
        if isinstance(status, int):
            return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry(func, *args, attempts=4, base_delay=0.5, max_delay=4.0, sleep=time.sleep, what=None, **kwargs):
    """Call ``func`` and retry transient failures with exponential backoff.

    At most ``attempts`` calls; the delays are base_delay, 2*base_delay, ... capped at
    ``max_delay``. Non-transient exceptions propagate at once.
    """
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")  # pragma: no cover


def parallel_map(func, items, workers=8):
    """``[func(item) for item in items]`` run on at most ``workers`` threads, order kept.

    The first exception is raised after the others finished (no half-cancelled state).
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        concurrent.futures.wait(futures)
        return [future.result() for future in futures]


def describe_error(exc, what="talk to the cloud"):
    """Turn an SDK / keystoneauth exception into a :class:`NovaError` a person understands."""
    if isinstance(exc, NovaError):
        return exc
    if not HAS_OPENSTACKSDK:
        return NovaError("could not %s: %s" % (what, exc))
    exc = _specific(exc)
    if ks_exc is None:
        return NovaError("could not %s: %s" % (what, _clean(str(exc))))
    text = _clean(str(exc))
    status = _status_of(exc)
    if isinstance(exc, config_exc.OpenStackConfigException) or type(exc).__name__ == "OpenStackConfigException":
        if "was not found" in text:
            return NovaError("could not %s: %s Check the cloud name against clouds.yaml "
                             "(./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml "
                             "or OS_CLIENT_CONFIG_FILE)." % (what, text), kind="unknown_cloud")
        return NovaError("could not %s: bad cloud configuration: %s" % (what, text), kind="config")
    if isinstance(exc, ks_exc.Unauthorized) or status == 401:
        return NovaError("could not %s: authentication failed (HTTP 401): the user name, password, "
                         "project or domain is wrong, or the token expired" % what, kind="auth", status=401)
    if isinstance(exc, (ks_exc.MissingRequiredOptions, ks_exc.MissingAuthPlugin, ks_exc.NoMatchingPlugin)):
        return NovaError("could not %s: the authentication settings are incomplete: %s" % (what, text), kind="auth")
    if isinstance(exc, ks_exc.SSLError):
        return NovaError("could not %s: TLS verification failed (%s); set ca_cert to the cloud's CA bundle, "
                         "or validate_certs=false for a test cloud" % (what, text), kind="tls")
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.UnknownConnectionError)):
        return NovaError("could not %s: the endpoint is unreachable (%s); check auth_url, the "
                         "catalog's endpoint addresses and that the service is running" % (what, text),
                         kind="unreachable")
    if isinstance(exc, (ks_exc.EndpointNotFound, sdk_exc.EndpointNotFound)) or \
            "no endpoint" in text.lower() or "endpoint not found" in text.lower():
        return NovaError("could not %s: the service catalog has no matching endpoint (%s); check "
                         "region_name and interface" % (what, text), kind="no_endpoint")
    if isinstance(exc, ks_exc.DiscoveryFailure):
        return NovaError("could not %s: version discovery failed (%s)" % (what, text), kind="unreachable")
    if status == 403:
        return NovaError("could not %s: forbidden (HTTP 403): these credentials lack the role this needs "
                         "(most of Nova's host and placement APIs are admin-only): %s" % (what, text),
                         kind="forbidden", status=403)
    if status == 404:
        return NovaError("could not %s: not found (HTTP 404): %s" % (what, text), kind="not_found", status=404)
    if status is not None:
        return NovaError("could not %s: HTTP %s: %s" % (what, status, text), kind="http", status=status)
    return NovaError("could not %s: %s: %s" % (what, type(exc).__name__, text))


def _clean(text):
    """One line, bounded length; SDK messages can carry whole HTML error pages."""
    text = " ".join(str(text).split())
    return text if len(text) <= 500 else text[:497] + "..."
