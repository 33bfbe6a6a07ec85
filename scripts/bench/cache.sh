#!/usr/bin/env bash
# The registry build cache (issue 13), as ratios from one run: a graph of three recipes (hello, pcre2,
# nginx-pcre2 built against pcre2) built by runner 1 from cold with --cache, then by runner 2 with an
# empty local cache (target <= 0.05x runner 1), against a local warm cache hit (target <= 2x), and the
# blob bytes a repeat build of the unchanged graph uploads (target 0). One docker-registry on
# 127.0.0.1 (plain HTTP: --insecure), its storage in the work directory.
#   PKGLAYER=path scripts/bench/cache.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pkglayer=${PKGLAYER:-$repo/.build/release/pkglayer}
sources=${PKGLAYER_SOURCES:-$repo/../shared/sources}
work=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-cache.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YML
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry=$!
trap 'kill $registry 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
graph=("$repo/recipes/hello.yml" "$repo/recipes/nginx-pcre2.yml")
run() { # runner [flags…] → seconds
    local runner=$1; shift
    local start end
    start=$(date +%s.%N)
    PKGLAYER_CACHE=$work/cache-$runner "$pkglayer" build "${graph[@]}" -o "$work/out-$runner" --sources "$sources" --offline --no-image \
        --cache "127.0.0.1:$port/bench/cache" --insecure "$@" >/dev/null 2>>"$work/build.log"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
cold=$(run one)
remote=$(run two)
local_hit=$(run two)
uploads_before=$(grep -cE '"(POST|PATCH|PUT) [^"]*/blobs/uploads/' "$work/registry.log" || true)
run one >/dev/null
uploads_after=$(grep -cE '"(POST|PATCH|PUT) [^"]*/blobs/uploads/' "$work/registry.log" || true)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }'; }
r1=$(ratio "$remote" "$cold"); r2=$(ratio "$remote" "$local_hit")
printf 'CACHE: runner 2 (remote cache) / runner 1 (cold): %.2f s / %.2f s = %sx (target <= 0.05x) %s\n' "$remote" "$cold" "$r1" "$(verdict "$r1" 0.05)"
printf 'CACHE: runner 2 (remote cache) / local warm hit:  %.2f s / %.2f s = %sx (target <= 2x) %s\n' "$remote" "$local_hit" "$r2" "$(verdict "$r2" 2)"
printf 'CACHE: upload requests of a repeat build of the unchanged graph: %d (target 0) %s\n' "$((uploads_after - uploads_before))" \
    "$( ((uploads_after == uploads_before)) && echo PASS || echo MISS)"
