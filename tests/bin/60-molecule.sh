#!/usr/bin/env bash
# Stage 60: role tests with molecule on real podman test hosts (systemd + libvirt 9.0 + Debian's
# nova-compute/nova-scheduler), built locally (no container registry needed).
#   - installs podman, runc, debootstrap if missing (apt), writes a containers.conf under .cache
#   - builds the test-host images (cached by a content hash of their build inputs)
#   - runs `molecule test` for every scenario in extensions/molecule/ (or MOLECULE_SCENARIOS)
#   - removes the scenario containers and networks at the end, whatever happens
# Prints per-scenario timings and a pytest-style summary line.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$(pwd)"
VENV_BIN="$REPO/.venv/bin"
export PATH="$VENV_BIN:$PATH"
# The Makefile's remote tmp under the checkout is for localhost plays; test hosts keep their own.
unset ANSIBLE_REMOTE_TEMP

if [[ $(id -u) -ne 0 ]]; then
    echo "60-molecule: needs root (podman with systemd containers, debootstrap)" >&2
    exit 1
fi

need=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ((${#need[@]})); then
    echo "60-molecule: installing ${need[*]} (and uidmap, iptables) with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap uidmap iptables >/dev/null
fi

# shellcheck source=../../extensions/molecule/env.sh
. "$REPO/extensions/molecule/env.sh"
LOGDIR="$STACKOPS_MOLECULE_CACHE/logs"
mkdir -p "$LOGDIR"

cleanup() {
    # Only what the scenarios create: containers named stackops-* labelled by molecule, and the
    # scenario networks.
    local ids
    ids=$(podman ps -a --filter label=owner=molecule --filter name='^stackops-' -q 2>/dev/null || true)
    [[ -n "$ids" ]] && podman rm -f $ids >/dev/null 2>&1 || true
    for net in stackops-nova-molecule stackops-nova-molecule-sched stackops-node-molecule stackops-pre-net; do
        podman network exists "$net" 2>/dev/null && podman network rm -f "$net" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

t0=$(date +%s)
STACKOPS_NOVA_TEST_IMAGE="$("$REPO/extensions/molecule/images/build.sh" | tail -n1)"
export STACKOPS_NOVA_TEST_IMAGE
images_s=$(( $(date +%s) - t0 ))
echo "60-molecule: test-host image $STACKOPS_NOVA_TEST_IMAGE ready in ${images_s} s"

scenarios="${MOLECULE_SCENARIOS:-compute scheduler compute_facts preflight}"
passed=0; failed=0; summary=()
for s in $scenarios; do
    log="$LOGDIR/$s.log"
    echo "60-molecule: molecule test -s $s (log: ${log#"$REPO"/})"
    start=$(date +%s)
    # Each output line prefixed with the epoch second, so per-action durations can be read back.
    if molecule test -s "$s" 2>&1 | while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done > "$log"; then
        passed=$((passed + 1)); result=passed
    else
        failed=$((failed + 1)); result=FAILED
        tail -n 80 "$log"
    fi
    total=$(( $(date +%s) - start ))
    # Per-action durations: time between molecule's consecutive "<scenario> ➜ <action>: Executed" lines.
    actions=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk -v t0="$start" '
        /(INFO|WARNING|ERROR) +[a-z_]+ ➜ [a-z_]+: .*Executed/ {
            match($0, /➜ [a-z_]+:/); a = substr($0, RSTART + 4, RLENGTH - 5)
            if (a == last_a) next
            d = $1 - (last_t ? last_t : t0); last_t = $1; last_a = a
            if (a == "cleanup" || a == "dependency") next
            printf "%s%s %ds", sep, a, d; sep = ", "
        }')
    summary+=("$s: $result in ${total} s ($actions)")
done

echo "60-molecule: images ${images_s} s"
for line in "${summary[@]}"; do echo "60-molecule: $line"; done
elapsed=$(( $(date +%s) - t0 ))
if ((failed)); then
    echo "========== $failed failed, $passed passed in ${elapsed}s (molecule scenarios) =========="
    exit 1
fi
echo "========== $passed passed in ${elapsed}s (molecule scenarios) =========="
