#!/usr/bin/env bash
# Event-Driven Ansible (extensions/eda): Nova's versioned notifications as events.
#  - installs what it needs: Debian's rabbitmq-server (never started as the system service: the
#    tests start their own broker on loopback, its own node name, ports, cookie and data under
#    .cache/eda, and stop it by pid) and a Java 17 runtime for ansible-rulebook's rules engine;
#    a virtualenv .cache/eda-venv with ansible-rulebook + aio-pika (requirements/eda.txt);
#  - downloads the pinned nova's source distribution into .cache and parses every one of its
#    notification samples (doc/notification_samples, not in the wheel, not in this repository);
#  - runs the event source against the real RabbitMQ (bad input, a broker restart, backoff);
#  - end to end: minicloud's Nova sends versioned notifications to that RabbitMQ, ansible-rulebook
#    runs extensions/eda/rulebooks/nova.yml: a server that fits nowhere -> NoValidHost report,
#    a compute that stops heartbeating -> the list of its instances. The latencies go to
#    .cache/eda/latency.json and are printed at the end.
# Port bases: EDA_PORT_BASE (minicloud, default 25000), EDA_RABBIT_PORT (default 25500, and +1, +2;
# the next +10 when one is taken).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || make venv
make -s collection
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_CONFIG="$root/tests/ansible.cfg"

need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' || true)
if [ -z "$java_major" ] || [ "${java_major%%.*}" -lt 17 ]; then need+=(openjdk-17-jre-headless); fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "eda: installing ${need[*]}"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # keep the package's maintainer scripts from starting the system RabbitMQ
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

venv="$root/.cache/eda-venv"
stamp="$venv/.installed-$(cat requirements/eda.txt requirements/eda-constraints.txt | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "${PYTHON:-python3.11}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -c requirements/eda-constraints.txt -r requirements/eda.txt
  touch "$stamp"
fi

nova_version=$(sed -n 's/^nova==//p' requirements/constraints.txt)
samples="$root/.cache/eda/nova-$nova_version/doc/notification_samples"
if [ ! -d "$samples" ]; then
  mkdir -p .cache/eda/sdist
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d .cache/eda/sdist "nova==$nova_version"
  tar -xzf ".cache/eda/sdist/nova-$nova_version.tar.gz" -C .cache/eda \
    --wildcards "nova-$nova_version/doc/notification_samples/*"
fi
export EDA_NOVA_SAMPLES="$samples"

stop_cloud() {
  if [ "${EDA_KEEP:-0}" != 1 ] && [ -f "$root/.cache/eda/cloud/state.json" ]; then
    .venv/bin/python tests/minicloud/minicloudctl stop --state-dir "$root/.cache/eda/cloud" >/dev/null 2>&1 || true
  fi
}
trap stop_cloud EXIT

.venv/bin/ansible-playbook --syntax-check playbooks/eda_no_valid_host.yml playbooks/eda_compute_down.yml >/dev/null
echo "eda: the rulebook's playbooks parse"

rm -f .cache/eda/latency.json
cd tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider eda "$@"
echo "eda: latencies (seconds): $(cat "$root/.cache/eda/latency.json" 2>/dev/null || echo 'not measured')"
