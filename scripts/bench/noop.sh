#!/usr/bin/env bash
# No-op builds: `pkglayer build recipes/nginx.yml` with its image when nothing changed (target 0.3 s),
# and the same with --no-image. The first build (packages, then the image resolved from the host's apt
# sources) is not timed; NOOP_RUNS runs are, and the median is printed.
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
