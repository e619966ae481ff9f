"""Role contracts: argument_specs.yml documents exactly the variables and defaults of defaults/main.yml."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("role", ["nova_compute", "nova_scheduler"])
def test_defaults_and_argument_specs_agree(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), set(defaults) ^ set(options)
    for name, value in defaults.items():
        assert name.startswith("%s_" % role)
        documented = options[name].get("default")
        assert documented == value, "%s: defaults/main.yml has %r, argument_specs.yml %r" % (name, value, documented)
        assert options[name].get("description"), name
