#!/usr/bin/env bash
# Copy the collection's files (tracked + untracked-not-ignored) to a real
# ansible_collections/stackops/nova tree, as ansible-test requires; prints its path.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.build/sanity/ansible_collections/stackops/nova"
rm -rf "$dest"
mkdir -p "$dest"
cd "$root"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -P "$f" "$dest/$f"
done
(cd "$dest" && git init -q && git add -A)
echo "$dest"
