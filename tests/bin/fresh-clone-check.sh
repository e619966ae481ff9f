#!/usr/bin/env bash
# make fresh-clone: the README's first command as a new user runs it. A clone of this checkout's
# HEAD (git bundle) inside a clean Debian 12 container (the execution environment's debootstrap
# base image: Debian's python3.11, pip, venv; nothing of this machine), `apt-get install make git`,
# then `make venv` (every pinned package from the package index) and `make demo`.
# Only this machine's package-client settings go in: its pip CA bundle (read-only mount). The
# container runs with the host network (loopback ports FRESH_PORT_BASE.., default 15500) and is
# removed at the end (podman run --rm), the bundle too.
# Catches what 08-guard.sh cannot: a Debian package or a Python the Makefile does not install,
# files that exist here but are not committed. Not a numbered stage (minutes: a cold venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$(pwd)"
BIN="$REPO/.venv/bin"
port_base="${FRESH_PORT_BASE:-15500}"
if [[ $(id -u) -ne 0 ]]; then
    echo "fresh-clone: needs root (podman, debootstrap)" >&2
    exit 1
fi
need=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ((${#need[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap uidmap iptables >/dev/null
fi
# shellcheck source=../../extensions/molecule/env.sh
. "$REPO/extensions/molecule/env.sh"
base="$("$REPO/extensions/molecule/images/build.sh" --base stackops-nova-ee-base python3-pip,python3-venv | tail -n1)"

work="$REPO/.cache/fresh-clone"
rm -rf "$work"; mkdir -p "$work"
git bundle create -q "$work/src.bundle" HEAD
mounts=(-v "$work/src.bundle:/src.bundle:ro")
host_cert="${PIP_CERT:-$("$BIN/pip" config get global.cert 2>/dev/null || true)}"
[[ -n "$host_cert" && -f "$host_cert" ]] && mounts+=(-v "$host_cert:/etc/host-pip-ca.crt:ro" -e PIP_CERT=/etc/host-pip-ca.crt)

t0=$(date +%s)
rc=0
podman run --rm --network host "${mounts[@]}" -e DEMO_PORT_BASE="$port_base" "$base" bash -c '
set -e
t0=$(date +%s)
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make git >/dev/null
echo "fresh-clone: apt-get install make git: $(( $(date +%s) - t0 )) s"
git -c advice.detachedHead=false clone -q /src.bundle /w && cd /w
t1=$(date +%s)
make venv > /tmp/venv.log 2>&1 || { tail -n 30 /tmp/venv.log; exit 1; }
echo "fresh-clone: make venv: $(( $(date +%s) - t1 )) s"
t2=$(date +%s)
make demo
echo "fresh-clone: make demo (venv built): $(( $(date +%s) - t2 )) s; venv + demo: $(( $(date +%s) - t1 )) s"
' 2>&1 | tee "$work/run.log" || rc=$?
rm -f "$work/src.bundle"
echo "fresh-clone: $( ((rc)) && echo FAILED || echo passed) in $(( $(date +%s) - t0 )) s"
exit $rc
