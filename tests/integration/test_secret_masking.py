"""No credential is ever printed, whatever fails first: real ``ansible-playbook -vvv`` runs.

Every way a credential can be given (the ``auth`` option, an inline ``cloud`` dict with a
password, an application credential secret or a token, ``client_key`` and its alias, a
misspelt top-level option) is combined with every kind of argument error (unknown option,
wrong type, bad choice, missing required, mutually exclusive) and with a failure after
validation (the keystone address refuses connections). Each task must fail with the error
it was built for, and no secret may appear anywhere in the output or in the results.

No cloud is needed: validation fails before any connection, and the connection failure uses
a loopback port nothing listens on (``SECRETS_DEAD_PORT``, default 22999).
"""

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DEAD_PORT = int(os.environ.get("SECRETS_DEAD_PORT", "22999"))
AUTH_URL = "http://127.0.0.1:%d/v3" % DEAD_PORT
TAG = "Zq%d" % os.getpid()
PARALLEL = 4


def _secret(way, error):
    return "S3cr3t-%s-%s-%s" % (way, error, TAG)


def _var(way, error):
    """The variable holding that secret: the playbook text only names it (Ansible shows two lines of
    playbook source above a failing task, so a secret written literally in a playbook is printed by
    Ansible itself, whatever the module does; secrets belong in (vaulted) variables)."""
    return "secret_%s_%s" % (way.replace("-", "_"), error)


def _password_auth(secret):
    return {"auth_url": AUTH_URL, "username": "admin", "password": secret, "project_name": "admin",
            "user_domain_name": "Default", "project_domain_name": "Default"}


# way -> function(secret) -> the module arguments carrying it.
WAYS = {
    "auth-password": lambda s: {"auth": _password_auth(s)},
    "auth-token": lambda s: {"auth_type": "token",
                             "auth": {"auth_url": AUTH_URL, "token": s, "project_name": "admin"}},
    "cloud-auth-password": lambda s: {"cloud": {"auth": _password_auth(s), "region_name": "RegionOne"}},
    "cloud-appcred": lambda s: {"cloud": {"auth_type": "v3applicationcredential",
                                          "auth": {"auth_url": AUTH_URL, "application_credential_id": "a1b2",
                                                   "application_credential_secret": s}}},
    "cloud-token": lambda s: {"cloud": {"auth_type": "v3token",
                                        "auth": {"auth_url": AUTH_URL, "token": s, "project_id": "p1"}}},
    "cloud-flat-password": lambda s: {"cloud": {"auth": {"auth_url": AUTH_URL, "username": "admin",
                                                         "project_name": "admin"}, "password": s}},
    "client-key": lambda s: {"cloud": {"auth": _password_auth("{{ other_secret }}")}, "client_key": s},
    "client-key-alias": lambda s: {"cloud": {"auth": _password_auth("{{ other_secret }}")}, "key": s},
    "misspelt-option": lambda s: {"cloud": {"auth": _password_auth("{{ other_secret }}")}, "os_password": s},
}

# error -> (module, extra arguments, text the failure message must contain)
ERRORS = {
    "unknown": ("hypervisor_info", {"no_such_option": 1}, "Unsupported parameters"),
    "type": ("hypervisor_info", {"api_timeout": "soon"}, "api_timeout"),
    "choice": ("hypervisor_info", {"interface": "sideways"}, "interface"),
    "required": ("scheduling_explain", {}, "missing required arguments: flavor"),
    "exclusive": ("usage_info", {"project": "p", "all_projects": True}, "mutually exclusive"),
    "connect": ("hypervisor_info", {"api_timeout": 2, "deadline": 10}, "keystone"),
}


def _cases():
    for way, make in WAYS.items():
        for error, (module, extra, expect) in ERRORS.items():
            args = make("{{ %s }}" % _var(way, error))
            args.update(extra)
            if way == "misspelt-option" and error in ("unknown", "connect"):
                expect = "os_password"  # the misspelt option is the first error there
            yield way, error, module, args, expect


def _run(tmp_path, index, cases, secrets):
    """Start one ansible-playbook -vvv over some cases; returns (process, results file)."""
    tasks = []
    for number, (way, error, module, args, _expect) in enumerate(cases):
        tasks.append({"name": "case %s + %s" % (way, error), "stackops.nova.%s" % module: args,
                      "register": "case_%d" % number, "ignore_errors": True})
    out = tmp_path / ("results-%d.json" % index)
    results = "{{ [%s] | to_json }}" % ", ".join("case_%d" % i for i in range(len(cases)))
    tasks.append({"name": "save", "ansible.builtin.copy": {"content": results, "dest": str(out)}})
    playbook = tmp_path / ("play-%d.yml" % index)
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               OS_CLIENT_CONFIG_FILE=str(tmp_path / "no-clouds.yaml"))
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
                             "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % secrets,
                             str(playbook)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, out


def test_no_secret_in_any_output(tmp_path):
    cases = list(_cases())
    secrets = tmp_path / "secrets.yml"
    values = {_var(case[0], case[1]): _secret(case[0], case[1]) for case in cases}
    values["other_secret"] = "0ther-" + TAG
    secrets.write_text(yaml.safe_dump(values))
    # A few playbooks at once: most of the time is Python start-up and retry back-off.
    chunks = [cases[i::PARALLEL] for i in range(PARALLEL)]
    runs = [_run(tmp_path, i, chunk, secrets) for i, chunk in enumerate(chunks)]
    text = ""
    problems = []
    for (proc, out), chunk in zip(runs, chunks):
        stdout = proc.communicate(timeout=1800)[0]
        assert proc.returncode == 0, stdout[-4000:]
        text += stdout + out.read_text()
        # -vvv prints each failed task's module arguments (masked): that is what is under test.
        assert stdout.count("module_args:") >= len(chunk), stdout[-3000:]
        registered = json.loads(out.read_text())
        assert len(registered) == len(chunk)
        for (way, error, _module, _args, expect), result in zip(chunk, registered):
            if not result.get("failed"):
                problems.append("%s + %s: did not fail: %s" % (way, error, result))
            elif expect not in result.get("msg", ""):
                problems.append("%s + %s: %r lacks %r" % (way, error, result.get("msg"), expect))
            if "Traceback" in json.dumps(result):
                problems.append("%s + %s: traceback" % (way, error))
    leaked = sorted({"%s + %s" % case[:2] for case in cases if _secret(case[0], case[1]) in text})
    assert not leaked, "secrets printed for: %s" % ", ".join(leaked)
    assert TAG not in text, "a secret of this run was printed"
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text  # the masking did happen
    assert not problems, "\n".join(problems)


INVENTORY_ERRORS = {
    "type": ("api_timeout: soon", "api_timeout"),
    "value": ("placement_workers: 0", "placement_workers"),
    "unknown": ("no_such_option: 1", "keystone"),  # ignored by Ansible's config: then the connection fails
    "connect": ("deadline: 20", "keystone"),
}


def test_no_secret_from_the_inventory_plugin(tmp_path):
    """The hypervisors inventory: an inline cloud's password, whatever fails, with -vvv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               OS_CLIENT_CONFIG_FILE=str(tmp_path / "no-clouds.yaml"))
    runs = {}
    for error, (line, _expect) in INVENTORY_ERRORS.items():
        source = tmp_path / error / "x_nova_hypervisors.yml"
        source.parent.mkdir()
        config = {"plugin": "stackops.nova.hypervisors",
                  "cloud": {"auth": dict(_password_auth(_secret("inventory", error)))}}
        source.write_text(yaml.safe_dump(config) + line + "\n")
        runs[error] = subprocess.Popen([os.path.join(BIN, "ansible-inventory"), "-vvv", "-i", str(source), "--list"],
                                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for error, proc in runs.items():
        text = proc.communicate(timeout=600)[0]
        assert INVENTORY_ERRORS[error][1] in text, text[-3000:]
        assert "Failed to parse" in text
        assert _secret("inventory", error) not in text, "the inventory printed the secret (%s)" % error
