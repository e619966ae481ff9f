"""Every module_utils module imports on its own, and the library has no import cycle.

Each module is imported in a fresh interpreter (a cycle shows up there as an ImportError
of a partially initialised module, whichever module of the cycle comes first). The import
graph is also read from the source, imports inside functions included: a cycle hidden by
a function-level import is still a cycle, and the library imports its own modules at the
top only.
"""

import ast
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
LIB = os.path.join(ROOT, "plugins", "module_utils")
PACKAGE = "ansible_collections.stackops.nova.plugins.module_utils"
COLLECTIONS = os.path.abspath(os.path.join(ROOT, ".build", "collections"))


def _modules():
    found = []
    for folder, _dirs, files in os.walk(LIB):
        for name in files:
            if not name.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), LIB)[:-3].replace(os.sep, ".")
            if rel.endswith("__init__"):
                rel = rel[:-len(".__init__")] if rel != "__init__" else ""
            found.append((PACKAGE + "." + rel).rstrip("."))
    return sorted(found)


MODULES = _modules()


def _path(module):
    rel = module[len(PACKAGE):].lstrip(".").replace(".", os.sep)
    base = os.path.join(LIB, rel)
    return os.path.join(base, "__init__.py") if os.path.isdir(base) else base + ".py"


def _imports(module):
    """(imported library module, at top level?) for every import of the library in ``module``."""
    with open(_path(module)) as handle:
        tree = ast.parse(handle.read())
    top = set(id(node) for node in tree.body)
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                names.append(node.module + "." + alias.name if node.module + "." + alias.name in MODULES
                             else node.module)
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith(PACKAGE)]
        for name in names:
            out.append((name, id(node) in top or _under_try_at_top(tree, node)))
    return out


def _under_try_at_top(tree, node):
    for stmt in tree.body:
        if isinstance(stmt, ast.Try) and any(node is n for n in ast.walk(stmt)):
            return True
    return False


def test_the_module_list_is_complete():
    assert PACKAGE + "._nova.explain.engine" in MODULES and PACKAGE + "._nova.common.api" in MODULES
    assert len(MODULES) > 40


@pytest.mark.parametrize("module", MODULES)
def test_imports_standalone_in_a_fresh_interpreter(module):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-c", "import %s" % module], env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_library_modules_import_each_other_at_the_top_only():
    inside = ["%s imports %s inside a function" % (m, name) for m in MODULES for name, at_top in _imports(m)
              if not at_top]
    assert not inside


def _cycle(graph):
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    graph = {m: {name for name, _top in _imports(m) if name != m} for m in MODULES}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(c[len(PACKAGE) + 1:] for c in cycle)


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
