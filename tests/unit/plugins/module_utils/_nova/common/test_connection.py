"""connection.py: retries, error messages, parallel_map — with real SDK exception types."""

import pytest
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from openstack.config import exceptions as config_exc

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as c


class Flaky:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def http_error(status):
    class Response:
        status_code = status
        headers = {}
        text = "boom"
        url = "http://127.0.0.1/x"
    return sdk_exc.HttpException(message="HTTP %d" % status, response=Response())


@pytest.mark.parametrize("exc", [ks_exc.ConnectFailure("refused"), ks_exc.ConnectTimeout("slow"),
                                 http_error(502), http_error(503), http_error(504)])
def test_transient_failures_are_retried_with_backoff(exc):
    sleeps = []
    func = Flaky([exc, exc])
    assert c.retry(func, sleep=sleeps.append) == "ok"
    assert func.calls == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("exc", [ks_exc.Unauthorized("no"), http_error(404), http_error(500),
                                 ks_exc.SSLError("bad cert"), ValueError("x")])
def test_other_failures_are_not_retried(exc):
    func = Flaky([exc])
    with pytest.raises(type(exc)):
        c.retry(func, sleep=lambda s: None)
    assert func.calls == 1


def test_retries_are_bounded():
    sleeps = []
    func = Flaky([ks_exc.ConnectFailure("refused")] * 10)
    with pytest.raises(ks_exc.ConnectFailure):
        c.retry(func, attempts=4, sleep=sleeps.append)
    assert func.calls == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped():
    sleeps = []
    func = Flaky([ks_exc.ConnectFailure("refused")] * 6)
    assert c.retry(func, attempts=7, base_delay=1, max_delay=3, sleep=sleeps.append) == "ok"
    assert sleeps == [1, 2, 3, 3, 3, 3]


@pytest.mark.parametrize("exc, kind, words", [
    (ks_exc.Unauthorized("The request you have made requires authentication."), "auth", "authentication failed"),
    (config_exc.OpenStackConfigException("Cloud nosuch was not found."), "unknown_cloud", "clouds.yaml"),
    (ks_exc.ConnectFailure("Unable to establish connection to http://127.0.0.1:1/v3"), "unreachable", "unreachable"),
    (ks_exc.EndpointNotFound("public endpoint for placement service not found"), "no_endpoint", "catalog"),
    (ks_exc.SSLError("certificate verify failed"), "tls", "ca_cert"),
    (http_error(403), "forbidden", "admin"),
    (ks_exc.MissingRequiredOptions([]), "auth", "incomplete"),
])
def test_errors_become_sentences(exc, kind, words):
    err = c.describe_error(exc, what="list services")
    assert isinstance(err, c.NovaError)
    assert err.kind == kind
    assert words in err.message
    assert err.message.startswith("could not list services")
    assert "Traceback" not in err.message


def test_long_error_pages_are_cut_to_one_line():
    err = c.describe_error(ValueError("<html>\n" + "x" * 5000), what="x")
    assert "\n" not in err.message
    assert len(err.message) < 600


def test_parallel_map_keeps_order_and_bounds_threads():
    import threading
    import time
    active, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return i * i

    assert c.parallel_map(work, range(40), workers=4) == [i * i for i in range(40)]
    assert 1 < peak[0] <= 4


def test_parallel_map_raises_the_first_error_after_all_finished():
    done = []

    def work(i):
        if i == 3:
            raise ValueError("three")
        done.append(i)
        return i

    with pytest.raises(ValueError, match="three"):
        c.parallel_map(work, range(8), workers=3)
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7]


def test_connect_to_unknown_cloud_names_it(tmp_path, monkeypatch):
    (tmp_path / "clouds.yaml").write_text("clouds: {other: {auth: {auth_url: 'http://127.0.0.1:9'}}}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    with pytest.raises(c.NovaError) as info:
        c.connect({"cloud": "nosuch"})
    assert info.value.kind == "unknown_cloud"
    assert "nosuch" in info.value.message


def test_connect_to_closed_port_is_unreachable_and_secret_free(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    secret = "s3cret-Pa55word"
    with pytest.raises(c.NovaError) as info:
        c.connect({"cloud": {"auth": {"auth_url": "http://127.0.0.1:9/v3", "username": "admin",
                                      "password": secret, "project_name": "admin",
                                      "user_domain_name": "Default", "project_domain_name": "Default"}},
                   "api_timeout": 2})
    assert info.value.kind == "unreachable"
    assert secret not in info.value.message


def test_no_cloud_at_all_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(c.NovaError) as info:
        c.connect({})
    assert info.value.kind == "auth"
    assert "no cloud was given" in info.value.message and "OS_CLOUD" in info.value.message


# --- the time policy (issue 17: never hang) ------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _send_timing_out(clock, seconds):
    calls = []

    def send(url, method, **kwargs):
        calls.append(kwargs)
        clock.now += min(seconds, kwargs["timeout"])
        raise ks_exc.ConnectTimeout("Request to %s timed out" % url)
    return send, calls


def test_each_request_gets_the_api_timeout_and_no_keystoneauth_retries():
    clock = Clock()
    policy = c.TimePolicy(api_timeout=7, deadline=100, clock=clock)
    calls = []
    assert policy.request(lambda url, method, **kw: calls.append(kw) or "ok", "http://127.0.0.1:1/v3", "GET") == "ok"
    assert calls == [{"timeout": 7.0, "connect_retries": 0}]


def test_defaults_bound_every_request():
    policy = c.TimePolicy()
    assert policy.api_timeout == c.DEFAULT_API_TIMEOUT == 30
    assert policy.deadline == c.DEFAULT_DEADLINE == 300


def test_a_hung_service_costs_one_timeout_and_is_named():
    clock = Clock()
    policy = c.TimePolicy(api_timeout=10, deadline=100, clock=clock)
    policy.learn_endpoint("http://127.0.0.1:8778/placement", "placement")
    send, calls = _send_timing_out(clock, 1000)
    with pytest.raises(c.ServiceTimeout) as first:
        policy.request(send, "http://127.0.0.1:8778/placement/resource_providers", "GET")
    assert "placement" in str(first.value) and "10 s (api_timeout)" in str(first.value)
    for _attempt in range(5):  # asked again (a retry, discovery's next URL): fails at once
        with pytest.raises(c.ServiceTimeout):
            policy.request(send, "http://127.0.0.1:8778/", "GET")
    assert len(calls) == 1 and clock.now == 10
    assert not c.is_transient(first.value)
    error = c.describe_error(first.value, what="list providers")
    assert error.kind == "timeout" and "timed out" in error.message and "placement" in error.message


def test_the_deadline_cuts_the_last_request_short_and_stops_the_next():
    clock = Clock()
    policy = c.TimePolicy(api_timeout=30, deadline=45, clock=clock)

    def ok(url, method, **kwargs):
        clock.now += 20
    policy.request(ok, "http://127.0.0.1:8774/v2.1/a", "GET", endpoint_filter={"service_type": "compute"})
    policy.request(ok, "http://127.0.0.1:8774/v2.1/b", "GET", endpoint_filter={"service_type": "compute"})
    send, calls = _send_timing_out(clock, 1000)
    with pytest.raises(c.ServiceTimeout) as info:
        policy.request(send, "http://127.0.0.1:8774/v2.1/c", "GET", endpoint_filter={"service_type": "compute"})
    assert calls[0]["timeout"] == 5  # what was left of the 45 s
    assert "deadline of 45 s" in str(info.value) and "nova (compute)" in str(info.value)
    with pytest.raises(c.ServiceTimeout, match="deadline"):
        policy.request(ok, "http://127.0.0.1:5000/v3", "GET")
    assert clock.now <= 45


def test_a_dead_service_is_retried_then_named():
    clock = Clock()
    policy = c.TimePolicy(clock=clock)
    policy.learn_endpoint("http://127.0.0.1:5000/v3", "identity")

    def refused(url, method, **kwargs):
        raise ks_exc.ConnectFailure("Unable to establish connection to %s" % url)
    sleeps = []
    with pytest.raises(c.ServiceDown) as info:
        c.retry(lambda: policy.request(refused, "http://127.0.0.1:5000/v3/auth/tokens", "POST"),
                attempts=10, sleep=sleeps.append)
    assert len(sleeps) == c.REFUSALS_BEFORE_DOWN - 1  # then it counts as down: no more retries
    assert "keystone (identity)" in str(info.value)
    assert c.describe_error(info.value).kind == "unreachable"


def test_a_swallowed_timeout_is_reported_instead_of_missing_versions():
    """openstacksdk turns a timed-out version discovery into 'does not have any supported versions'."""
    clock = Clock()
    policy = c.TimePolicy(api_timeout=5, clock=clock)
    policy.learn_endpoint("http://127.0.0.1:8778", "placement")
    send = _send_timing_out(clock, 1000)[0]
    try:
        policy.request(send, "http://127.0.0.1:8778/", "GET")
    except c.ServiceTimeout:
        pass  # keystoneauth's discovery swallows it
    sdk_error = sdk_exc.NotSupported("The placement service for minicloud:RegionOne exists but does not have any "
                                     "supported versions.")
    error = c.describe_error(sdk_error, what="reach placement", via=policy)
    assert error.kind == "timeout"
    assert "supported versions" not in error.message and "placement" in error.message and "5 s" in error.message


@pytest.mark.parametrize("params, words", [({"api_timeout": 0}, "api_timeout"), ({"deadline": -1}, "deadline"),
                                           ({"deadline": True}, "deadline"),
                                           ({"cloud": {"api_timeout": "x"}}, "cloud.api_timeout")])
def test_bad_time_options_are_named(params, words):
    with pytest.raises(c.NovaError) as info:
        c.connect(params)
    assert words in info.value.message


def test_a_hung_keystone_on_a_real_socket_is_bounded_and_named(tmp_path, monkeypatch):
    """A server that accepts connections and never answers (what SIGSTOP does to a service)."""
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    started = time.monotonic()
    try:
        with pytest.raises(c.NovaError) as info:
            c.connect({"cloud": {"auth": {"auth_url": "http://127.0.0.1:%d/v3" % port, "username": "u",
                                          "password": "p", "project_name": "p", "user_domain_name": "Default",
                                          "project_domain_name": "Default"}},
                       "api_timeout": 2, "deadline": 20})
    finally:
        server.close()
    elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert "keystone (identity)" in info.value.message and "2 s (api_timeout)" in info.value.message
    assert elapsed < 20 + 30  # the deadline, with a wide margin for a loaded machine
