"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN is valid YAML (strictly: no duplicate key).

PyYAML keeps the last of two equal keys without a word, so two example documents run
together (the inventory plugin's EXAMPLES once had ``plugin:`` and ``cloud:`` twice) load
"fine" and render wrong. Modules, the inventory plugin and doc fragments hold the blocks as
Python strings; filters in YAML sidecars.
"""

import ast
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


class StrictLoader(yaml.SafeLoader):
    pass


def _no_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def strict_load_all(text):
    return list(yaml.load_all(text, Loader=StrictLoader))  # noqa: S506 (a SafeLoader subclass)


def _python_blocks():
    out = []
    for kind in ("modules", "inventory", "doc_fragments"):
        folder = os.path.join(ROOT, "plugins", kind)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(folder, name)).read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, str):
                    for target in node.targets:
                        if isinstance(target, ast.Name) and target.id in BLOCKS + ("DOCUMENTATION",) or \
                                isinstance(target, ast.Name) and target.id.isupper() and kind == "doc_fragments":
                            out.append(("%s/%s:%s" % (kind, name, target.id), node.value.value))
    return out


def _sidecar_blocks():
    out = []
    folder = os.path.join(ROOT, "plugins", "filter")
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yml", ".yaml")):
            text = open(os.path.join(folder, name)).read()
            out.append(("filter/%s" % name, text))
            (data,) = strict_load_all(text)
            for block in BLOCKS:
                if isinstance(data.get(block), str):
                    out.append(("filter/%s:%s" % (name, block), data[block]))
    return out


BLOCKS_FOUND = _python_blocks() + _sidecar_blocks()


def test_every_plugin_is_covered():
    names = {b[0] for b in BLOCKS_FOUND}
    assert "inventory/hypervisors.py:EXAMPLES" in names
    assert "modules/scheduling_explain.py:RETURN" in names
    assert "filter/explain.yml:EXAMPLES" in names
    assert len([n for n in names if n.startswith("modules/")]) >= 3 * 8


@pytest.mark.parametrize("name,text", BLOCKS_FOUND, ids=[b[0] for b in BLOCKS_FOUND])
def test_block_is_strict_yaml(name, text):
    documents = strict_load_all(text)
    assert documents and all(d is not None for d in documents), name


def test_the_strict_loader_refuses_two_documents_run_together():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'plugin'"):
        strict_load_all("plugin: a\ncloud: x\n\nplugin: b\n")
    assert len(strict_load_all("plugin: a\n---\nplugin: b\n")) == 2
