#!/usr/bin/env bash
# ansible-lint's production profile over roles/ and playbooks/ (pinned in requirements/lint.in,
# constraints.txt); any finding fails the stage. Offline: nothing is fetched from Galaxy.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
mkdir -p .build/collections/ansible_collections/stackops
[ -e .build/collections/ansible_collections/stackops/nova ] || \
    ln -sfn "$root" .build/collections/ansible_collections/stackops/nova
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_HOME="$root/.cache/ansible-lint-home" NO_COLOR=1
"$root/.venv/bin/ansible-lint" --version
if "$root/.venv/bin/ansible-lint" --offline --nocolor --profile production -f pep8 roles/ playbooks/; then
    echo "lint: 1 passed, 0 failed"
else
    echo "lint: 0 passed, 1 failed"
    exit 1
fi
