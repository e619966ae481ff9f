"""Rewrite docs/snapshot.md's field table from snapshot.SCHEMA (keeping the meanings written there).

Usage: .venv/bin/python tests/bin/snapshot_fields.py [docs/snapshot.md]
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot_fields  # noqa: E402


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(ROOT, "docs", "snapshot.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    new = snapshot_fields.regenerate(text, snapshot.SCHEMA)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(new)
    missing = [p for p, (_t, meaning) in snapshot_fields.parse_table(new).items() if not meaning]
    if missing:
        print("give these a meaning (a description in SCHEMA, or in %s): %s" % (path, ", ".join(missing)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
