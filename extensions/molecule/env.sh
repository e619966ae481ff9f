# shellcheck shell=bash
# Environment for running the stackops.nova molecule scenarios on podman test hosts.
# Source it from the repository root scripts: `. extensions/molecule/env.sh`.
# - a containers.conf under .cache that selects runc (crun fails in this kind of machine:
#   setrlimit/cgroups) and keeps container ulimits within this machine's hard limits;
# - the collection on the collections path (a link .build/collections/ansible_collections/stackops/nova).
_MOLECULE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STACKOPS_REPO="$(cd "$_MOLECULE_DIR/../.." && pwd)"
export STACKOPS_MOLECULE_CACHE="$STACKOPS_REPO/.cache/molecule"
mkdir -p "$STACKOPS_MOLECULE_CACHE"

_hard_nofile="$(ulimit -Hn)"
[[ "$_hard_nofile" == "unlimited" ]] && _hard_nofile=1048576
(( _hard_nofile > 65536 )) && _hard_nofile=65536
export STACKOPS_MOLECULE_NOFILE="$_hard_nofile"
cat > "$STACKOPS_MOLECULE_CACHE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=${_hard_nofile}:${_hard_nofile}", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$STACKOPS_MOLECULE_CACHE/containers.conf"

mkdir -p "$STACKOPS_REPO/.build/collections/ansible_collections/stackops"
[[ -e "$STACKOPS_REPO/.build/collections/ansible_collections/stackops/nova" ]] || \
    ln -sfn "$STACKOPS_REPO" "$STACKOPS_REPO/.build/collections/ansible_collections/stackops/nova"
export ANSIBLE_COLLECTIONS_PATH="$STACKOPS_REPO/.build/collections"
export ANSIBLE_ROLES_PATH="$STACKOPS_REPO/roles"
export MOLECULE_GLOB="$_MOLECULE_DIR/*/molecule.yml"
unset _hard_nofile
