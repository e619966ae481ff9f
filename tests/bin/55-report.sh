#!/usr/bin/env bash
# Stage 55: the HTML report (stackops.nova.html_report) in a real browser. Installs Debian's
# headless Chromium when it is missing, checks that ansible-doc renders the filter and that the
# playbooks carrying the report flag parse, runs the writer's unit tests, then
# tests/browser/test_report_browser.py: the demo cloud's report (minicloud's demo topology,
# port base 24000, written by playbooks/explain.yml) and a 10,000-host synthetic one, loaded
# in headless Chromium over the DevTools protocol (DOM against the explanation, clicks,
# filters, sorting, print style, escaping, screenshots in .cache/report-it/).
# Env: REPORT_PORT_BASE (24000), REPORT_KEEP=1 keeps the cloud.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium (headless browser for the report tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x .venv/bin/python ] || make venv
.venv/bin/python -c "import websocket" 2>/dev/null || \
  .venv/bin/pip install -q -c requirements/constraints.txt websocket-client
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"

.venv/bin/ansible-doc -t filter stackops.nova.html_report >/dev/null
.venv/bin/ansible-playbook --syntax-check playbooks/explain.yml playbooks/fleet_report.yml >/dev/null
echo "ansible-doc renders html_report; explain.yml and fleet_report.yml parse"

cd tests
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider unit/plugins/module_utils/_nova/report/test_html_report.py \
  browser/test_report_browser.py "$@"
