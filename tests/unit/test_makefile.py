"""Every make target the Makefile declares has a rule, and every script a rule runs exists."""

import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _makefile():
    with open(os.path.join(ROOT, "Makefile")) as handle:
        return handle.read()


def test_every_phony_target_has_a_rule():
    text = _makefile()
    phony = re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split()
    rules = set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.M))
    assert not [t for t in phony if t not in rules]
    for target in ("unit", "sanity", "integration", "docs-check", "explain-e2e", "molecule", "test"):
        assert target in phony and target in rules


def test_every_script_a_rule_runs_exists():
    scripts = set(re.findall(r"((?:tests|benchmarks)/[\w./-]+\.(?:sh|py))", _makefile()))
    scripts |= {"tests/bin/%s.sh" % s for s in re.findall(r"\b(\d\d-[\w-]+)\b", _makefile())}
    assert scripts
    assert not [s for s in sorted(scripts) if not os.path.isfile(os.path.join(ROOT, s))]
