"""Make the collection importable as ansible_collections.stackops.nova for every test."""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
_link = COLLECTIONS / "ansible_collections" / "stackops" / "nova"
if not _link.exists():
    _link.parent.mkdir(parents=True, exist_ok=True)
    try:
        _link.symlink_to(ROOT, target_is_directory=True)
    except FileExistsError:
        pass
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "tests" / "ansible.cfg"))
