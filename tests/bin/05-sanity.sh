#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible_collections/stackops/nova.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.venv"
# ansible-test bootstraps pip in its venvs with a get-pip.py it downloads from a host this
# project cannot reach; give it the offline stand-in under the name it looks for.
pip_version=$("$venv/bin/python" -c "
from ansible_test._internal.python_requirements import get_venv_packages
class P: version = '3.11'
print(get_venv_packages(P())['pip'])")
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/bin/ansible-test-get-pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
dest=$(bash "$root/tests/bin/sanity-copy.sh")
cd "$dest"
"$venv/bin/ansible-test" sanity --python 3.11 --requirements --color no "$@"
echo "sanity: 1 passed, 0 failed"
