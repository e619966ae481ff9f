"""Fault injection on a real minicloud: every API module answers within its documented time
bound when keystone, placement or the nova API is hung (SIGSTOP) or dead (SIGKILL), with and
without ``api_timeout``, and its message names the service.

The bound (doc_fragments/auth.py, docs/development.md): a hung service costs one
``api_timeout`` (default 30 s) and is not asked again; a dead one costs its retries (0.5 + 1 +
2 s of backoff); nothing runs past ``deadline``. The four modules run at once (one
``ansible-playbook`` each) so that the waits overlap; while a service is hung they run in both
modes (the defaults, and ``api_timeout``/``deadline`` set) at once, each mode judged on its own.
The assertions keep a generous margin for Ansible and Python start-up on a loaded machine:
they are a correctness bound (the run ends), not a speed claim.

minicloud runs keystone, placement and nova (API, conductor, scheduler and computes in one
process) as separate processes (DIR/run/<service>.pid). A stopped process always gets SIGCONT
afterwards; a killed keystone or placement is started again from the same state dir (their
SQLite databases persist); nova is killed last.

Environment: FAULTS_STATE_DIR (default <repo>/.cache/faults-it), FAULTS_PORT_BASE (22000),
FAULTS_KEEP=1 keeps the cloud afterwards.
"""

import importlib.machinery
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import harness  # noqa: E402

pytestmark = [pytest.mark.minicloud, pytest.mark.slow]

BIN = os.path.dirname(sys.executable)
MARGIN = 90  # seconds of Ansible/Python start-up allowed on top of the documented bound

# What each module needs; a module that does not need a service may succeed while it is down.
MODULES = {
    "service_info": ({}, {"keystone", "nova"}),
    "hypervisor_info": ({}, {"keystone", "nova", "placement"}),
    "scheduling_explain": ({"flavor": "m1.tiny", "relaxations": False}, {"keystone", "nova", "placement"}),
    "usage_info": ({}, {"keystone", "nova"}),
}
# The words a message uses for each service (connection.SERVICE_NAMES).
NAMES = {"keystone": "keystone", "placement": "placement", "nova": "nova (compute)"}
# (api_timeout option or None for the default, deadline option or None for the default)
MODES = {"default": (None, None), "api_timeout": (5, 60)}
DEFAULT_API_TIMEOUT = 30
DEFAULT_DEADLINE = 300


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("FAULTS", "test", 22000, os.path.join(".cache", "faults-it"))


def _ctl():
    path = os.path.join(ROOT, "tests", "minicloud", "minicloudctl")
    loader = importlib.machinery.SourceFileLoader("minicloudctl", path)
    spec = importlib.util.spec_from_loader("minicloudctl", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _pid(cloud, service):
    with open(os.path.join(cloud.state_dir, "run", "%s.pid" % service)) as handle:
        return int(handle.read().strip())


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _wait_answers(cloud, service, timeout=180):
    url = "http://127.0.0.1:%d/" % cloud.ports[service]
    deadline = time.time() + timeout
    while not _answers(url):
        assert time.time() < deadline, "%s did not answer again within %d s" % (service, timeout)
        time.sleep(0.2)


def _start(cloud, tmp_path, name, api_timeout, deadline):
    """Start one ansible-playbook running module ``name`` between two timestamps (files named by
    module and mode, so runs of both modes can share ``tmp_path``)."""
    args = dict(MODULES[name][0], cloud="minicloud")
    if api_timeout is not None:
        args["api_timeout"] = api_timeout
    if deadline is not None:
        args["deadline"] = deadline
    stem = "%s-%s-%s" % (name, api_timeout, deadline)
    out = tmp_path / ("%s.json" % stem)
    tasks = [
        {"name": "t0", "ansible.builtin.set_fact": {"t0": "{{ now().timestamp() }}"}},
        {"name": name, "stackops.nova.%s" % name: args, "register": "r", "ignore_errors": True},
        {"name": "t1", "ansible.builtin.set_fact": {"t1": "{{ now().timestamp() }}"}},
        {"name": "save", "ansible.builtin.copy": {"content": "{{ [t1 | float - t0 | float, r] | to_json }}",
                                                  "dest": str(out)}},
    ]
    playbook = tmp_path / ("%s.yml" % stem)
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                             "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                            env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, out


def run_modules(cloud, tmp_path, modes):
    """Every module once per mode, each in its own ansible-playbook, all at once (the waits
    overlap); ``modes`` is a list of (api_timeout, deadline); returns, per mode,
    {module: (seconds the task took, its result)}."""
    runs = {(mode, name): _start(cloud, tmp_path, name, *mode) for mode in modes for name in MODULES}
    results = {mode: {} for mode in modes}
    for (mode, name), (proc, out) in runs.items():
        stdout = proc.communicate(timeout=3600)[0]
        assert proc.returncode == 0, stdout[-4000:]
        results[mode][name] = tuple(json.loads(out.read_text()))
    return results


def check(results, service, signal_name, api_timeout, deadline):
    """Every module ended within its bound, and said which service failed and how."""
    timeout = api_timeout or DEFAULT_API_TIMEOUT
    limit = deadline or DEFAULT_DEADLINE
    # A hung service costs one api_timeout (it is then not asked again); discovery and the
    # request that follows may each meet it once before it is marked; never beyond the deadline.
    bound = min(limit, 2 * timeout) + MARGIN
    problems = []
    report = []
    for name, (seconds, result) in results.items():
        needs = MODULES[name][1]
        text = result.get("msg", "") + " " + " ".join(result.get("warnings") or [])
        report.append("%s %.1fs %s" % (name, seconds, "failed" if result.get("failed") else "ok"))
        if seconds > bound:
            problems.append("%s took %.1f s (bound %d s): %s" % (name, seconds, bound, text[:300]))
        if "Traceback" in json.dumps(result):
            problems.append("%s: traceback" % name)
        if result.get("failed"):
            if NAMES[service] not in result.get("msg", ""):
                problems.append("%s: the message does not name %s: %s" % (name, NAMES[service], result.get("msg")))
            words = ("timed out",) if signal_name == "SIGSTOP" else ("unreachable", "refused")
            if not any(word in result.get("msg", "") for word in words):
                problems.append("%s: the message does not say %s: %s" % (name, " or ".join(words), result.get("msg")))
            if signal_name == "SIGSTOP" and "supported versions" in result.get("msg", ""):
                problems.append("%s: blames versions instead of the timeout: %s" % (name, result.get("msg")))
        elif service in needs and NAMES[service] not in text:
            problems.append("%s succeeded without saying %s was unavailable: %s" % (name, service, text[:300]))
    print("%s %s api_timeout=%s deadline=%s: %s" % (signal_name, service, api_timeout, deadline, "; ".join(report)))
    return problems


@pytest.mark.parametrize("service", ["keystone", "placement", "nova"])
def test_hung_service(cloud, tmp_path, service):
    """Both MODES run while the service is hung (their waits overlap); each is checked against
    its own bound."""
    modes = [MODES[mode] for mode in sorted(MODES)]
    pid = _pid(cloud, service)
    os.kill(pid, signal.SIGSTOP)
    try:
        results = run_modules(cloud, tmp_path, modes)
    finally:
        os.kill(pid, signal.SIGCONT)
    problems = []
    for mode in modes:
        problems += ["api_timeout=%s deadline=%s: %s" % (mode + (problem,))
                     for problem in check(results[mode], service, "SIGSTOP", *mode)]
    assert not problems, "\n".join(problems)
    _wait_answers(cloud, service)


@pytest.mark.parametrize("service", ["keystone", "placement", "nova"])
def test_dead_service(cloud, tmp_path, service):
    """A dead service refuses connections: retried with back-off, then named; api_timeout does
    not matter here, so only the defaults run."""
    pid = _pid(cloud, service)
    os.kill(pid, signal.SIGKILL)
    try:
        results = run_modules(cloud, tmp_path, [MODES["default"]])[MODES["default"]]
    finally:
        if service != "nova":  # nova is killed last; the fixture's stop cleans up
            _ctl().spawn(cloud.state_dir, service)
            _wait_answers(cloud, service)
    problems = check(results, service, "SIGKILL", *MODES["default"])
    assert not problems, "\n".join(problems)
