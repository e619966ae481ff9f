#!/usr/bin/env bash
# Build the podman test-host images for the stackops.nova molecule scenarios, locally, without a
# container registry:
#   1. base image: debootstrap --variant=minbase of Debian bookworm (mirror read from this
#      machine's apt sources), imported with `podman import`;
#   2. test-host image: FROM the base, adds libvirt + Debian's nova-compute/nova-scheduler.
# Both are tagged with a content hash of their build inputs, so a second run reuses them.
# Prints the test-host image reference on the last line of stdout.
#   build.sh --base NAME PACKAGES: only a base image localhost/NAME:<hash>, with the comma-separated
#   Debian PACKAGES added (the execution environment's base, tests/bin/ee-check.sh); prints it.
# Needs: root, podman, runc, debootstrap, CONTAINERS_CONF (see ../env.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
CACHE="${STACKOPS_MOLECULE_CACHE:-$REPO/.cache/molecule}"
mkdir -p "$CACHE"
SUITE="bookworm"
BASE_PACKAGES="systemd,systemd-sysv,python3,dbus,iproute2,ca-certificates"
BASE_REPO="localhost/stackops-nova-base"
BASE_ONLY=""
if [[ "${1:-}" == "--base" ]]; then
    BASE_ONLY=1; BASE_REPO="localhost/${2:?--base NAME PACKAGES}"; BASE_PACKAGES="$BASE_PACKAGES,${3:-}"
fi

log() { echo "[build-images] $*" >&2; }

# The Debian mirror this machine already uses (deb822 .sources first, then sources.list).
apt_mirror() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri="$(awk '/^URIs:/ {for (i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources \
               | grep -v -e security -e '^cdrom:' | head -n1 || true)"
    fi
    if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
        uri="$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' \
               /etc/apt/sources.list | grep -v security | head -n1 || true)"
    fi
    [[ -n "$uri" ]] || { log "no Debian mirror found in this machine's apt sources"; return 1; }
    echo "$uri"
}

build_base() {  # $1: image name
    local rootfs="$CACHE/rootfs-$BASE_HASH"
    rm -rf "$rootfs"; mkdir -p "$rootfs"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
        > "$CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$CACHE/debootstrap.log" >&2; return 1; }
    # debootstrap leaves no /etc/hosts; containers run with --no-hosts, so give them one.
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$rootfs/etc/hosts"
    : > "$rootfs/etc/hostname"
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' - "$1" >/dev/null 2>&1
    rm -rf "$rootfs"
}

MIRROR="$(apt_mirror)"
# Content hashes of the build inputs. The mirror is deliberately NOT part of them: the same
# inputs from another mirror give the same image.
BASE_HASH="$(printf '%s\n%s\n%s\n' "$SUITE" "$BASE_PACKAGES" "$(declare -f build_base)" | sha256sum | cut -c1-12)"
BASE_IMAGE="$BASE_REPO:$BASE_HASH"
HOST_HASH="$(cat "$HERE/Containerfile.nova-compute" <(echo "$BASE_IMAGE") | sha256sum | cut -c1-12)"
HOST_IMAGE="localhost/stackops-nova-testhost:$HOST_HASH"

if podman image exists "$BASE_IMAGE"; then
    log "base image $BASE_IMAGE cached"
else
    log "building base image $BASE_IMAGE with debootstrap from $MIRROR"
    start=$(date +%s)
    build_base "$BASE_IMAGE"
    log "base image built in $(( $(date +%s) - start )) s"
fi

if [[ -n "$BASE_ONLY" ]]; then
    podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$BASE_REPO" 2>/dev/null \
        | grep -v -x -e "$BASE_IMAGE" | xargs -r podman rmi -f >/dev/null 2>&1 || true
    echo "$BASE_IMAGE"
    exit 0
fi

if podman image exists "$HOST_IMAGE"; then
    log "test-host image $HOST_IMAGE cached"
else
    log "building test-host image $HOST_IMAGE"
    start=$(date +%s)
    podman build --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$HOST_IMAGE" \
        -f "$HERE/Containerfile.nova-compute" "$HERE" > "$CACHE/build-testhost.log" 2>&1 \
        || { tail -n 40 "$CACHE/build-testhost.log" >&2; exit 1; }
    log "test-host image built in $(( $(date +%s) - start )) s"
fi

# Older builds of these images (other content hashes) only take disk space: drop them.
for repo in localhost/stackops-nova-testhost localhost/stackops-nova-base; do
    podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$repo" 2>/dev/null \
        | grep -v -x -e "$HOST_IMAGE" -e "$BASE_IMAGE" | xargs -r podman rmi -f >/dev/null 2>&1 || true
done

echo "$HOST_IMAGE"
