"""End to end: minicloud's Nova publishes versioned notifications to a real RabbitMQ,
ansible-rulebook runs extensions/eda/rulebooks/nova.yml with the collection's two event
sources, and its playbooks write the reports.

- a server that fits nowhere (m1.giant: 64 VCPU on 4-VCPU computes): Nova's conductor sends
  compute_task.build_instances.error (NoValidHost); the rulebook runs
  playbooks/eda_no_valid_host.yml: server_history + scheduling_explain -> a report file;
- a compute that stops heartbeating: the heartbeat source emits service.down; the rulebook runs
  playbooks/eda_compute_down.yml -> its instances in a report file.

The time from Nova's notification (its timestamp) to the report is measured and written to
.cache/eda/latency.json (no timed assertion).
"""

import datetime
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO, STATE

sys.path.insert(0, os.path.join(REPO, "tests", "minicloud"))
import harness  # noqa: E402

PORT_BASE = int(os.environ.get("EDA_PORT_BASE", "25000"))
EDA_BIN = os.path.dirname(sys.executable)
MAIN_VENV = os.path.join(REPO, ".venv")
RULEBOOK = os.path.join(REPO, "extensions", "eda", "rulebooks", "nova.yml")
REPORTS = os.path.join(STATE, "reports")
LATENCY = os.path.join(STATE, "latency.json")


@pytest.fixture(scope="module")
def cloud(broker):
    with open(os.path.join(os.path.dirname(__file__), "eda_topology.yml")) as f:
        topo = yaml.safe_load(f)
    topo["nova_conf"] = {
        "oslo_messaging_notifications": {"driver": "messagingv2", "transport_url": broker.oslo_url},
        "notifications": {"notification_format": "versioned"},
    }
    os.makedirs(STATE, exist_ok=True)
    path = os.path.join(STATE, "eda.yml")
    with open(path, "w") as f:
        yaml.safe_dump(topo, f)
    c = harness.Cloud(state_dir=os.path.join(STATE, "cloud"), topology=path, port_base=PORT_BASE,
                      python=os.path.join(MAIN_VENV, "bin", "python"), timeout=300)
    for attempt in range(3):
        try:
            c.start()
            break
        except harness.MinicloudError as exc:
            # the default port range lies in Linux's ephemeral range: an outgoing connection may
            # hold a port for a moment; anything else fails at once
            if "is in use by another process" not in str(exc) or attempt == 2:
                pytest.fail("minicloud did not start: %s" % exc, pytrace=False)
            time.sleep(10)
    try:
        yield c
    finally:
        if os.environ.get("EDA_KEEP") != "1":
            c.stop()


@pytest.fixture(scope="module")
def rulebook(cloud, broker):
    os.makedirs(REPORTS, exist_ok=True)
    for name in os.listdir(REPORTS):
        os.unlink(os.path.join(REPORTS, name))
    inventory = os.path.join(STATE, "inventory.yml")
    with open(inventory, "w") as f:
        yaml.safe_dump({"all": {"hosts": {"localhost": {
            "ansible_connection": "local",
            "ansible_python_interpreter": os.path.join(MAIN_VENV, "bin", "python")}}}}, f)
    env = cloud.ansible_env(
        NOVA_NOTIFICATIONS_URL=broker.url, NOVA_CLOUD="minicloud", NOVA_EDA_REPORT_DIR=REPORTS,
        PATH=os.pathsep.join([EDA_BIN, os.path.join(MAIN_VENV, "bin"), os.environ.get("PATH", "")]),
        ANSIBLE_LOCAL_TEMP=os.path.join(STATE, "tmp"))
    log_path = os.path.join(STATE, "ansible-rulebook.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [os.path.join(EDA_BIN, "ansible-rulebook"), "--rulebook", RULEBOOK, "-i", inventory,
         "--env-vars", "NOVA_NOTIFICATIONS_URL,NOVA_CLOUD,NOVA_EDA_REPORT_DIR", "-v"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=STATE, start_new_session=True)
    rb = {"proc": proc, "log": log_path}
    try:
        wait_for(lambda: "consuming queue stackops-nova-eda" in read(log_path), 180, "the source to consume",
                 proc, log_path)
        yield rb
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for(predicate, timeout, what, proc=None, log_path=None):
    deadline = time.time() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            pytest.fail("ansible-rulebook exited with %s while waiting for %s:\n%s"
                        % (proc.returncode, what, read(log_path)[-4000:]), pytrace=False)
        if time.time() > deadline:
            pytest.fail("timed out (%ds) waiting for %s; ansible-rulebook log:\n%s"
                        % (timeout, what, read(log_path)[-4000:] if log_path else ""), pytrace=False)
        time.sleep(0.2)


def record(key, value):
    data = json.loads(read(LATENCY) or "{}")
    data[key] = value
    with open(LATENCY, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def test_novalidhost_is_explained(cloud, rulebook):
    server = cloud.boot("eda-giant", "m1.giant")
    assert server["status"] == "ERROR"
    assert "No valid host" in server["fault"]["message"]
    report = os.path.join(REPORTS, "%s.txt" % server["id"])
    wait_for(lambda: os.path.exists(report) and read(report).rstrip().endswith(("|", "+", ".")) or
             os.path.exists(report) and os.path.getsize(report) > 200,
             180, "the NoValidHost report", rulebook["proc"], rulebook["log"])
    done = os.path.getmtime(report)
    text = read(report)
    assert "compute_task.build_instances.error for server %s" % server["id"] in text
    assert "fault: NoValidHost" in text
    assert "== history ==" in text and "== explanation ==" in text
    # scheduling_explain names both computes and why the 64-VCPU request fits on neither
    assert "cmp1" in text and "cmp2" in text
    assert "VCPU" in text
    assert "no request spec in the event" not in text
    stamp = [line for line in text.splitlines() if line.startswith("notified at: ")][0]
    notified = datetime.datetime.strptime(stamp.split(": ", 1)[1].split(" UTC")[0], "%Y-%m-%d %H:%M:%S.%f")
    notified = notified.replace(tzinfo=datetime.timezone.utc).timestamp()
    record("novalidhost_notification_to_report_s", round(done - notified, 2))


def test_compute_down_lists_its_instances(cloud, rulebook):
    conn = cloud.conn()
    steady = [s for s in conn.compute.servers(all_projects=True) if s.name == "steady"][0]
    report = os.path.join(REPORTS, "compute-down-cmp2.txt")
    t0 = time.time()
    cloud.compute_stop("cmp2")
    try:
        wait_for(lambda: os.path.exists(report) and "instances:" in read(report), 180,
                 "the compute-down report", rulebook["proc"], rulebook["log"])
        record("compute_stop_to_report_s", round(os.path.getmtime(report) - t0, 2))
        text = read(report)
        assert "nova-compute on cmp2 is down (was up" in text
        assert steady.id in text
    finally:
        cloud.compute_start("cmp2")
    wait_for(lambda: "nova-compute on cmp2 is up again" in read(rulebook["log"]), 120,
             "the service.up event", rulebook["proc"], rulebook["log"])
