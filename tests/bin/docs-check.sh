#!/usr/bin/env bash
# The documentation checks (make docs-check): ansible-doc renders every module, filter, the
# inventory plugin and the roles; the plugins' DOCUMENTATION/EXAMPLES/RETURN are strict YAML;
# docs/snapshot.md's field table is the snapshot schema's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"
for f in plugins/modules/*.py; do
  .venv/bin/ansible-doc "stackops.nova.$(basename "$f" .py)" >/dev/null
done
for f in plugins/filter/*.yml; do
  .venv/bin/ansible-doc -t filter "stackops.nova.$(basename "$f" .yml)" >/dev/null
done
.venv/bin/ansible-doc -t inventory stackops.nova.hypervisors >/dev/null
for r in roles/*/; do
  .venv/bin/ansible-doc -t role "stackops.nova.$(basename "$r")" >/dev/null
done
echo "ansible-doc renders every module, filter, the inventory plugin and the roles"
cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider unit/plugins/test_plugin_docs_yaml.py \
  unit/plugins/module_utils/_nova/cloud/test_snapshot_doc.py unit/test_makefile.py
