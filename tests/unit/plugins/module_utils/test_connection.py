"""connection.py: retries, error messages, parallel_map — with real SDK exception types."""

import pytest
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from openstack.config import exceptions as config_exc

from ansible_collections.stackops.nova.plugins.module_utils import connection as c


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
