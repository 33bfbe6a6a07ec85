#!/usr/bin/env bash
# No-op builds: `pkglayer build recipes/nginx.yml` with its image when nothing changed (target 0.3 s),
# and the same with --no-image. The first build (packages, then the image resolved from the host's apt
# sources) is not timed; NOOP_RUNS runs are, and the median is printed.
# Then one source byte changed: nginx's tarball with one byte more in its README (a new sha256 in a copy of
# the recipe, the tarball served from a mirror directory): the build redoes nginx's recipe only, and the
# image redoes only the layers whose packages changed (counted from the two OCI manifests), timed once.
#   PKGLAYER=path NOOP_RUNS=5 scripts/bench/noop.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pkglayer=${PKGLAYER:-$repo/.build/release/pkglayer}
runs=${NOOP_RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-noop.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PKGLAYER_CACHE=$work/cache
sources=${PKGLAYER_SOURCES:-$repo/../shared/sources}
"$pkglayer" build "$repo/recipes/nginx.yml" -o "$work/out" --sources "$sources" >/dev/null 2>"$work/first.log" ||
    { cat "$work/first.log" >&2; exit 1; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
time_runs() { # args…
    for _ in $(seq 1 "$runs"); do
        local start end
        start=$(date +%s.%N)
        "$pkglayer" "$@" >/dev/null 2>&1
        end=$(date +%s.%N)
        echo "$end - $start" | bc -l
    done | median
}
with_image=$(time_runs build "$repo/recipes/nginx.yml" -o "$work/out" --sources "$sources")
without=$(time_runs build "$repo/recipes/nginx.yml" -o "$work/out" --sources "$sources" --no-image)
verdict=$(awk -v t="$with_image" 'BEGIN { print (t <= 0.3) ? "PASS" : "MISS" }')
printf 'NOOP: nginx build with its image, nothing changed: %.3f s (target <= 0.3 s) %s\n' "$with_image" "$verdict"
printf 'NOOP: nginx build --no-image, nothing changed:     %.3f s\n' "$without"

# One source byte changed.
mkdir -p "$work/changed-src" "$work/mirror/sha256"
tar -xzf "$sources/nginx-1.22.1.tar.gz" -C "$work/changed-src"
printf '.' >>"$work/changed-src/nginx-1.22.1/README"
tar --sort=name --mtime=@1666000000 --owner=0 --group=0 --numeric-owner -C "$work/changed-src" -cf - nginx-1.22.1 |
    gzip -9n >"$work/changed.tar.gz"
changed_sha=$(sha256sum "$work/changed.tar.gz" | cut -d' ' -f1)
mv "$work/changed.tar.gz" "$work/mirror/sha256/$changed_sha"
cp -r "$repo/recipes" "$work/recipes"
original_sha=$(grep -A2 'nginx-1.22.1.tar.gz' "$repo/recipes/nginx.yml" | grep -o '[0-9a-f]\{64\}' | head -1)
sed -i "s/$original_sha/$changed_sha/" "$work/recipes/nginx.yml"
layers() { # out-dir → the image's layer digests, one per line
    local layout=$1/nginx-1.22.1.oci manifest
    manifest=$(jq -r '.manifests[0].digest' "$layout/index.json" | cut -d: -f2)
    jq -r '.layers[].digest' "$layout/blobs/sha256/$manifest"
}
layers "$work/out" >"$work/layers.before"
start=$(date +%s.%N)
"$pkglayer" build "$work/recipes/nginx.yml" -o "$work/out" --sources "$work/mirror" --sources "$sources" >/dev/null 2>"$work/changed.log" ||
    { cat "$work/changed.log" >&2; exit 1; }
end=$(date +%s.%N)
layers "$work/out" >"$work/layers.after"
total=$(wc -l <"$work/layers.after")
redone=$(comm -13 <(sort "$work/layers.before") <(sort "$work/layers.after") | wc -l)
built=$(grep -c 'built in' "$work/changed.log" || true)
printf 'NOOP: one source byte changed (nginx README): %.1f s; recipes rebuilt: %d; image layers redone: %d of %d\n' \
    "$(echo "$end - $start" | bc -l)" "$built" "$redone" "$total"
