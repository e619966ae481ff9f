#!/usr/bin/env bash
# The collection artifact: build it, install it into an empty collections path, and run it from there
# (ansible-doc for every plugin, a module and the filters), away from the source tree.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$root/.build/artifact"
rm -rf "$work"
mkdir -p "$work/dist" "$work/collections"
.venv/bin/ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/stackops-nova-*.tar.gz)
size=$(du -k "$tarball" | cut -f1)
echo "built $(basename "$tarball") (${size} KiB)"
# --force and no ANSIBLE_COLLECTIONS_PATH: the development link must not count as "already installed".
env -u ANSIBLE_COLLECTIONS_PATH .venv/bin/ansible-galaxy collection install --offline --force -p "$work/collections" "$tarball" >/dev/null 2>&1
installed="$work/collections/ansible_collections/stackops/nova"
test -f "$installed/MANIFEST.json" || { echo "the artifact did not install" >&2; exit 1; }
# Nothing of the development tree may leak into the artifact.
if tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.build|\.cache|\.ci|\.git|\.hypothesis|\.pytest_cache|__pycache__)/' ; then
  echo "artifact contains development files" >&2; exit 1
fi

export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$root/tests/ansible.cfg"
cd "$work"   # away from the source tree
count=0
for kind_name in $("$root/.venv/bin/ansible-doc" --list --json -t module stackops.nova \
                   | "$root/.venv/bin/python" -c 'import json,sys; print(" ".join("module:"+k for k in json.load(sys.stdin)))') \
                 $("$root/.venv/bin/ansible-doc" --list --json -t filter stackops.nova \
                   | "$root/.venv/bin/python" -c 'import json,sys; print(" ".join("filter:"+k for k in json.load(sys.stdin)))') \
                 $("$root/.venv/bin/ansible-doc" --list --json -t inventory stackops.nova \
                   | "$root/.venv/bin/python" -c 'import json,sys; print(" ".join("inventory:"+k for k in json.load(sys.stdin)))'); do
  kind=${kind_name%%:*}; name=${kind_name#*:}
  out=$("$root/.venv/bin/ansible-doc" -t "$kind" "$name")
  case "$out" in *"$name"*) ;; *) echo "ansible-doc -t $kind $name did not render" >&2; exit 1;; esac
  count=$((count + 1))
done
for role in nova_compute nova_scheduler; do
  [ -d "$installed/roles/$role" ] || { echo "role $role missing from the installed artifact" >&2; exit 1; }
  "$root/.venv/bin/ansible-doc" -t role "stackops.nova.$role" >/dev/null; count=$((count + 1))
done
echo "ansible-doc rendered $count plugins and roles from the installed artifact"
[ "$count" -ge 8 ] || { echo "expected at least 8 documented plugins, got $count" >&2; exit 1; }

# Run a module and a filter from the installed copy (no cloud needed for these checks).
cat > "$work/smoke.yml" <<'YAML'
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A module runs and fails cleanly on an unknown cloud
      stackops.nova.service_info:
        cloud: no-such-cloud
      register: result
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - result is failed
          - "'no-such-cloud' in result.msg"
    - name: A filter runs
      ansible.builtin.assert:
        that:
          - (nodes | stackops.nova.capacity_table)[2] is search('^c1 +az1 +enabled +up +2/16 \(12%\)')
      vars:
        nodes:
          - name: c1
            nodename: c1
            availability_zone: az1
            service: {status: enabled, state: up}
            num_instances: 1
            resources:
              VCPU: {total: 4, reserved: 0, allocation_ratio: 4.0, used: 2, capacity: 16, free: 14}
YAML
OS_CLIENT_CONFIG_FILE="$work/none.yaml" "$root/.venv/bin/ansible-playbook" "$work/smoke.yml" >/dev/null
echo "build: 1 passed, 0 failed"
