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
import threading
import time
from urllib.parse import urlsplit


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
    global ServiceTimeout, ServiceDown  # pylint: disable=global-statement
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
    ServiceTimeout, ServiceDown = _service_errors(ks_exceptions)
    openstack = sdk


APP_NAME = "stackops.nova"
APP_VERSION = "0.1.0"

# Connection options shared by every API plugin (documented in doc_fragments/auth.py).
AUTH_OPTIONS = ("cloud", "auth", "auth_type", "region_name", "interface", "validate_certs",
                "ca_cert", "client_cert", "client_key", "api_timeout", "deadline")

TRANSIENT_HTTP_STATUSES = (502, 503, 504)

# The time policy (documented in doc_fragments/auth.py and docs/development.md):
DEFAULT_API_TIMEOUT = 30  # seconds to connect and to wait for each answer, unless api_timeout says otherwise
DEFAULT_DEADLINE = 300  # seconds for everything one module run (or inventory parse) asks the cloud
REFUSALS_BEFORE_DOWN = 4  # refused connections to one service before it counts as down for the run

SERVICE_NAMES = {"identity": "keystone (identity)", "compute": "nova (compute)", "placement": "placement",
                 "image": "glance (image)", "network": "neutron (network)", "block-storage": "cinder (volume)",
                 "volume": "cinder (volume)"}


class NovaError(Exception):
    """An expected failure, with a message for a person (no traceback needed)."""

    def __init__(self, message, kind="error", status=None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status


# ServiceTimeout and ServiceDown derive from keystoneauth's exceptions, so they are made when the
# SDK is loaded (load_sdk); until then nothing can raise them.
ServiceTimeout = ServiceDown = NovaError


def _service_errors(ks_exceptions):
    class ServiceTimeout(ks_exceptions.ConnectTimeout):  # pylint: disable=redefined-outer-name
        """A service did not answer in time, or the run's deadline passed: never retried."""

        def __init__(self, message, service=None):
            super().__init__(message)
            self.service = service

    class ServiceDown(ks_exceptions.ConnectFailure):  # pylint: disable=redefined-outer-name
        """A service refused every connection attempt of this run: never retried again."""

        def __init__(self, message, service=None):
            super().__init__(message)
            self.service = service

    return ServiceTimeout, ServiceDown


class TimePolicy:
    """One bound for everything a module run asks the cloud.

    Installed on the keystoneauth session of a connection (:func:`connect`), so it covers
    authentication, version discovery and every API call, whoever makes them (this
    collection, openstacksdk or keystoneauth):

    * each request gets ``api_timeout`` seconds to connect and the same to answer (never more
      than what is left of the deadline); keystoneauth's own connection retries are off, the
      retries are :func:`retry`'s;
    * a request that times out marks its service as hung for the rest of the run: it is not
      asked again (another wait would only multiply the time) and the error names it;
    * a service that refused :data:`REFUSALS_BEFORE_DOWN` connections counts as down;
    * once ``deadline`` seconds have passed since the connection was opened, no request starts.
    """

    def __init__(self, api_timeout=None, deadline=None, clock=time.monotonic):
        self.api_timeout = float(api_timeout or DEFAULT_API_TIMEOUT)
        self.deadline = float(deadline or DEFAULT_DEADLINE)
        self.clock = clock
        self.start = clock()
        self.failed = {}  # service name -> (ServiceTimeout or ServiceDown, the message saying why)
        self.problems = {}  # service name -> (ServiceTimeout or ServiceDown, message): every timeout or refusal
        self.refusals = {}
        self.endpoints = {}  # scheme://host:port -> service name
        self._lock = threading.Lock()

    def remaining(self):
        return self.deadline - (self.clock() - self.start)

    def learn_endpoint(self, url, service_type):
        root = _root(url)
        if root and service_type:
            self.endpoints.setdefault(root, SERVICE_NAMES.get(service_type, service_type))

    def service_of(self, url, kwargs):
        service_type = (kwargs.get("endpoint_filter") or {}).get("service_type")
        if service_type:
            return SERVICE_NAMES.get(service_type, service_type)
        return self.endpoints.get(_root(url)) or "the service at %s" % (_root(url) or url)

    def cause(self):
        """``(kind, message)`` of the first recorded failure (a hung or dead service, the deadline), or None."""
        with self._lock:
            first = next(iter(self.failed.values()), None) or next(iter(self.problems.values()), None)
        if first is None:
            return None
        return ("timeout" if first[0] is ServiceTimeout else "unreachable"), first[1]

    def _mark(self, service, cls, message):
        with self._lock:
            self.failed.setdefault(service, (cls, message))
            self.problems.setdefault(service, (cls, message))
        return cls(message, service)

    def install(self, session):
        """Wrap ``session.request`` (keystoneauth) with this policy."""
        original = session.request
        policy = self

        def request(url, method, *args, **kwargs):
            return policy.request(original, url, method, *args, **kwargs)

        session.request = request
        session.stackops_policy = self
        return session

    def request(self, send, url, method, *args, **kwargs):
        service = self.service_of(url, kwargs)
        with self._lock:
            known = self.failed.get(service)
        if known:
            raise known[0](known[1], service)
        left = self.remaining()
        if left <= 0:
            raise self._mark(service, ServiceTimeout, "the deadline of %g s for this run (option deadline) passed "
                             "before %s answered" % (self.deadline, service))
        timeout = min(self.api_timeout, left)
        kwargs["timeout"] = timeout
        kwargs["connect_retries"] = 0
        try:
            return send(url, method, *args, **kwargs)
        except ServiceTimeout:
            raise
        except ks_exc.ConnectTimeout:
            if timeout < self.api_timeout:
                message = ("the deadline of %g s for this run (option deadline) passed while waiting for %s (%s)"
                           % (self.deadline, service, _root(url)))
            else:
                message = ("%s (%s) did not answer within %g s (api_timeout); it is hung or overloaded"
                           % (service, _root(url), self.api_timeout))
            raise self._mark(service, ServiceTimeout, message) from None
        except ks_exc.ConnectFailure as exc:
            with self._lock:
                self.refusals[service] = refusals = self.refusals.get(service, 0) + 1
                self.problems.setdefault(service, (ServiceDown, "%s (%s) refused the connection: it is down or not "
                                                   "listening" % (service, _root(url))))
            if refusals >= REFUSALS_BEFORE_DOWN:
                raise self._mark(service, ServiceDown, "%s (%s) refused %d connections: it is down or not "
                                 "listening" % (service, _root(url), refusals)) from None
            exc.service = service
            raise


def _root(url):
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return "%s://%s" % (parts.scheme, parts.netloc)


def policy_of(obj):
    """The :class:`TimePolicy` of a connection, an adapter or a session, else None."""
    for candidate in (obj, getattr(obj, "session", None), getattr(obj, "_session", None)):
        policy = getattr(candidate, "stackops_policy", None)
        if isinstance(policy, TimePolicy):
            return policy
    return None


def _positive(params, key):
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        value = float(value)  # clouds.yaml values may be text
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
        raise NovaError("%s must be a positive number of seconds (at most 86400), got %r" % (key, value), kind="config")
    return value


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
    deadline = _positive(params, "deadline")
    api_timeout = _positive(params, "api_timeout")
    if api_timeout is None and isinstance(cloud, dict):
        try:
            api_timeout = _positive(cloud, "api_timeout")
        except NovaError as exc:
            raise NovaError("cloud." + exc.message, kind="config") from None
    policy = TimePolicy(api_timeout, deadline)
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
        if api_timeout is None and getattr(conn.session, "timeout", None):
            policy.api_timeout = float(conn.session.timeout)  # the cloud's own api_timeout (clouds.yaml)
        policy.install(conn.session)
        auth_url = (conn.config.config.get("auth") or {}).get("auth_url")
        policy.learn_endpoint(auth_url, "identity")
        retry(conn.authorize, what="authenticate")
        _learn_catalog(policy, conn)
    except NovaError:
        raise
    except Exception as exc:  # every SDK/keystoneauth failure becomes a sentence
        error = describe_error(exc, what="connect to the cloud%s" % _cloud_label(cloud), via=policy)
        if cloud is None and not params.get("auth") and error.kind == "auth":
            error = NovaError(error.message + " (no cloud was given: set the cloud option, or OS_CLOUD "
                              "or the OS_AUTH_URL family of environment variables)", kind=error.kind)
        raise error from None
    return conn


def _learn_catalog(policy, conn):
    """Which service listens where (so a discovery request names its service)."""
    try:
        catalog = conn.session.auth.get_access(conn.session).service_catalog.catalog
    except Exception:  # the names are a nicety; the requests themselves still work
        return
    for entry in catalog or []:
        for endpoint in entry.get("endpoints") or []:
            policy.learn_endpoint(endpoint.get("url"), entry.get("type"))


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


def is_sdk_error(exc):
    """True for the exceptions of openstacksdk and keystoneauth (which describe_error explains)."""
    if not HAS_OPENSTACKSDK:
        return False
    return any(isinstance(item, (ks_exc.ClientException, sdk_exc.SDKException, config_exc.OpenStackConfigException))
               for item in _chain(exc))


def is_transient(exc):
    """True for failures worth retrying: refused/reset/timed-out connections, 502/503/504."""
    if not HAS_OPENSTACKSDK:
        return False
    exc = _specific(exc)
    if ks_exc is None:
        return False
    if isinstance(exc, (ks_exc.SSLError, ServiceTimeout, ServiceDown)):
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


def describe_error(exc, what="talk to the cloud", via=None):
    """Turn an SDK / keystoneauth exception into a :class:`NovaError` a person understands.

    ``via`` (a connection, adapter, session or :class:`TimePolicy`) lets a failure whose real
    cause was swallowed on the way (openstacksdk turns a timed-out version discovery into
    "does not have any supported versions") be reported as what it was.
    """
    if isinstance(exc, NovaError):
        return exc
    if not HAS_OPENSTACKSDK:
        return NovaError("could not %s: %s" % (what, exc))
    exc = _specific(exc)
    if ks_exc is None:
        return NovaError("could not %s: %s" % (what, _clean(str(exc))))
    text = _clean(str(exc))
    status = _status_of(exc)
    if isinstance(exc, ServiceTimeout):
        return NovaError("could not %s: timed out: %s" % (what, text), kind="timeout")
    if isinstance(exc, ServiceDown):
        return NovaError("could not %s: unreachable: %s" % (what, text), kind="unreachable")
    policy = via if isinstance(via, TimePolicy) else policy_of(via)
    cause = policy.cause() if policy is not None else None
    if cause and (isinstance(exc, (sdk_exc.NotSupported, sdk_exc.ServiceDiscoveryException, ks_exc.DiscoveryFailure,
                                   ks_exc.EndpointNotFound, sdk_exc.EndpointNotFound))
                  or "supported versions" in text or "discover" in text.lower()):
        kind, message = cause
        return NovaError("could not %s: %s: %s" % (what, "timed out" if kind == "timeout" else "unreachable", message),
                         kind=kind)
    service = getattr(exc, "service", None)
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
        return NovaError("could not %s: the endpoint%s is unreachable (%s); check auth_url, the "
                         "catalog's endpoint addresses and that the service is running"
                         % (what, " of %s" % service if service else "", text), kind="unreachable")
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
