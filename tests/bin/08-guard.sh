#!/usr/bin/env bash
# Stage 08: the guard. `make demo` as a user on a machine that never saw OpenStack: fails when the
# project depends on anything outside the checkout and what `make` itself installs.
#   - a private mount namespace (unshare -m; nothing it mounts is seen outside, all of it goes when
#     the stage ends) with an empty tmpfs over each of the OpenStack services' host directories
#     that exist here (/etc/keystone, /etc/nova, /etc/placement, /var/lib/{keystone,nova,placement},
#     /var/log/{keystone,nova,placement}, the lock dir /var/lock -> /run/lock) and over the
#     OpenStack/Ansible dirs of the caller's HOME (~/.config/openstack, ~/.ansible, ~/.nova, ...);
#   - a clean environment (env -i): PATH, LANG, and HOME = an empty directory under .cache/guard;
#   - a cold minicloud (its own state and template cache under .cache/guard: keystone-manage
#     db_sync/bootstrap and the nova migrations run again) and the demo playbooks, via `make demo`;
#   - then: a masked directory that is no longer empty, one that did not exist and now does, or
#     anything in the empty HOME means the run wrote outside the checkout: the stage fails (and
#     removes what the run created).
# Env: GUARD_PORT_BASE (default 15300). Needs root (mount namespace); unshare is util-linux.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/.cache/guard"
port_base="${GUARD_PORT_BASE:-15300}"
MASK=(/etc/keystone /etc/nova /etc/placement /var/lib/keystone /var/lib/nova /var/lib/placement
      /var/log/keystone /var/log/nova /var/log/placement /var/lock)

if [[ "${1:-}" != "--in-namespace" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "08-guard: needs root (a private mount namespace)" >&2
        exit 1
    fi
    rm -rf "$work"
    mkdir -p "$work/home"
    t0=$(date +%s)
    rc=0
    GUARD_CALLER_HOME="${HOME:-}" unshare --mount --propagation private \
        bash "$0" --in-namespace || rc=$?
    echo "08-guard: $( ((rc)) && echo FAILED || echo passed) in $(( $(date +%s) - t0 )) s"
    exit $rc
fi

# ---- inside the namespace ------------------------------------------------------------------
masked=(); absent=()
for d in "${MASK[@]}"; do
    real="$(readlink -f "$d" 2>/dev/null || echo "$d")"        # /var/lock is a link to /run/lock
    if [[ -d "$real" ]]; then
        mount -t tmpfs -o size=16m,mode=0755 "guard-mask" "$real"
        masked+=("$real")
    else
        absent+=("$d")
    fi
done
# The caller's HOME itself stays visible (the machine's Python may live there, e.g. pyenv), but
# the OpenStack/Ansible state a user may keep in it is masked too; the run gets an empty HOME.
caller_home="${GUARD_CALLER_HOME:-}"
if [[ -n "$caller_home" && "$caller_home" != / ]]; then
    for d in .config/openstack .ansible .nova .keystone .placement; do
        [[ -d "$caller_home/$d" ]] || continue
        mount -t tmpfs -o size=16m,mode=0700 "guard-mask" "$caller_home/$d"
        masked+=("$caller_home/$d")
    done
fi
echo "08-guard: masked (empty tmpfs): ${masked[*]:-none}"
echo "08-guard: absent here (must stay absent): ${absent[*]:-none}"

state="$work/cloud/demo"
stop_cloud() {
    "$root/.venv/bin/python" "$root/tests/minicloud/minicloudctl" stop --state-dir "$state" \
        >/dev/null 2>&1 || true
}
trap stop_cloud EXIT INT TERM

rc=0
log="$work/demo.log"
echo "08-guard: make demo (clean env, empty HOME, cold minicloud on ports $port_base..$((port_base + 3)); log: ${log#"$root"/})"
if ! (cd "$root" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 HOME="$work/home" TERM=dumb \
        CLOUD_STATE="$state" DEMO_PORT_BASE="$port_base" make -s demo) > "$log" 2>&1; then
    echo "08-guard: make demo FAILED with the host's OpenStack directories masked:" >&2
    tail -n 40 "$log" >&2
    for f in "$state"/logs/*.log; do
        [[ -f "$f" ]] && grep -v ' DEBUG ' "$f" | grep -h -m 5 -E ' (ERROR|CRITICAL) |does not exist' >&2 || true
    done
    rc=1
fi
grep -E '^(ok|changed|failed|unreachable)=|PLAY RECAP|failed=' "$log" | tail -n 4 || true
stop_cloud

for d in "${masked[@]}"; do
    if [[ -n "$(find "$d" -mindepth 1 -maxdepth 3 2>/dev/null | head -n 5)" ]]; then
        echo "08-guard: the run wrote into host path $d:" >&2
        find "$d" -mindepth 1 -maxdepth 3 | head -n 10 >&2
        rc=1
    fi
done
# HOME was empty: whatever the run left there (caches, ~/.ansible) lives outside a real checkout.
if [[ -n "$(find "$work/home" -mindepth 1 -maxdepth 2 2>/dev/null | head -n 1)" ]]; then
    echo "08-guard: the run wrote into HOME (outside the checkout):" >&2
    find "$work/home" -mindepth 1 -maxdepth 2 | sed "s#^$work/home#~#" | head -n 10 >&2
    rc=1
fi
for d in "${absent[@]}"; do
    if [[ -e "$d" ]]; then
        echo "08-guard: the run created host path $d (removed again)" >&2
        rm -rf "$d"
        rc=1
    fi
done
exit $rc
