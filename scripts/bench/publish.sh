#!/usr/bin/env bash
# Publishing a yum repository: `pkglayer publish --repo DIR` of PUBLISH_COUNT (200) small rpms from
# scratch, then adding one more, against createrepo_c and `createrepo_c --update` on the same files.
# The rpms are made once with `pkglayer package` (untimed). Each cell runs PUBLISH_RUNS (3) times into
# fresh copies; the median is printed, with pkglayer's time as a ratio of createrepo_c's.
#   PKGLAYER=path PUBLISH_COUNT=200 PUBLISH_RUNS=3 scripts/bench/publish.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pkglayer=${PKGLAYER:-$repo/.build/release/pkglayer}
count=${PUBLISH_COUNT:-200}
runs=${PUBLISH_RUNS:-3}
command -v createrepo_c >/dev/null || { echo "PUBLISH: createrepo_c is missing (apt-get install createrepo-c)" >&2; exit 1; }
"$pkglayer" publish --help >/dev/null 2>&1 || { echo "PUBLISH: $pkglayer has no 'publish' command" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-publish.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

mkdir -p "$work/rpms" "$work/extra" "$work/tree/usr/share/doc"
for i in $(seq 1 "$count"); do
    printf 'package %d\n' "$i" >"$work/tree/usr/share/doc/bench-$i.txt"
    "$pkglayer" package -s dir -t rpm -n "bench-$i" -v "1.$i" --iteration 1 -a noarch -p "$work/rpms/" \
        "$work/tree/usr/share/doc/bench-$i.txt=/usr/share/doc/bench-$i/README" >/dev/null
done
printf 'one more\n' >"$work/tree/extra.txt"
"$pkglayer" package -s dir -t rpm -n bench-extra -v 1.0 --iteration 1 -a noarch -p "$work/extra/" \
    "$work/tree/extra.txt=/usr/share/doc/bench-extra/README" >/dev/null
extra=$(ls "$work"/extra/*.rpm)

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
seconds() { # command… → elapsed seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

full_pk=() full_cr=() add_pk=() add_cr=()
for r in $(seq 1 "$runs"); do
    # pkglayer: a new repository of all rpms, then one more into it.
    full_pk+=("$(seconds "$pkglayer" publish --repo "$work/pk$r" "$work"/rpms/*.rpm)")
    add_pk+=("$(seconds "$pkglayer" publish --repo "$work/pk$r" "$extra")")
    # createrepo_c: the same rpms copied into place (as publish copies them), then --update after adding one.
    mkdir -p "$work/cr$r/Packages"
    cp -p "$work"/rpms/*.rpm "$work/cr$r/Packages/"
    full_cr+=("$(seconds createrepo_c --no-database "$work/cr$r")")
    cp -p "$extra" "$work/cr$r/Packages/"
    add_cr+=("$(seconds createrepo_c --no-database --update "$work/cr$r")")
done
test -s "$work/pk1/repodata/repomd.xml" || { echo "PUBLISH: pkglayer wrote no repodata/repomd.xml" >&2; exit 1; }
primary=$(grep -o 'href="repodata/[0-9a-f]*-primary.xml.gz"' "$work/pk1/repodata/repomd.xml" | cut -d'"' -f2)
listed=$(zcat "$work/pk1/$primary" | grep -c '<package type="rpm">')
[ "$listed" -eq $((count + 1)) ] || { echo "PUBLISH: primary lists $listed packages, expected $((count + 1))" >&2; exit 1; }

fp=$(printf '%s\n' "${full_pk[@]}" | median); fc=$(printf '%s\n' "${full_cr[@]}" | median)
ap=$(printf '%s\n' "${add_pk[@]}" | median); ac=$(printf '%s\n' "${add_cr[@]}" | median)
printf 'PUBLISH: %d rpms into a new repo:  pkglayer %.3f s, createrepo_c %.3f s (ratio %.2f)\n' "$count" "$fp" "$fc" "$(echo "$fp / $fc" | bc -l)"
printf 'PUBLISH: add 1 rpm to %d:          pkglayer %.3f s, createrepo_c --update %.3f s (ratio %.2f)\n' "$count" "$ap" "$ac" "$(echo "$ap / $ac" | bc -l)"
