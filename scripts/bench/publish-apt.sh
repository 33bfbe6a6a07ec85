#!/usr/bin/env bash
# The apt-publishing cell: writing signed apt metadata for a pool of small debs, pkglayer's
# AptRepositoryWriter against the Debian tools doing the same job, in one run on the same pool.
#
#   scripts/bench/publish-apt.sh            (after the usual `swift build --build-tests`)
#
# Both sides write the same files: Packages, Packages.gz, Packages.xz, Release, InRelease, Release.gpg.
#   reference: apt-ftparchive packages pool | gzip -9n, xz; apt-ftparchive release; gpg --clearsign and
#              gpg --armor --detach-sign (the gpg agent is started before timing)
#   pkglayer:  AptPackageEntry.read for every deb (control paragraph, MD5 + SHA-256), then
#              AptRepositoryWriter.write with an OpenPGPSigner loaded from the same key (key loading
#              included); also printed: the writer alone, from entries already read (the publisher's
#              case when it adds one package to an indexed repository).
# pkglayer's side runs as the opt-in test cell AptRepositoryWriterTests/testBenchmarkCellWritesSignedMetadataForAPool
# in the already-built test bundle (debug unless the bundle was built otherwise), timed inside the test
# so that XCTest's start-up is not counted.
#
# Settings (environment):
#   APT_BENCH_DEBS=200     debs in the pool (one in ten is Architecture: all)
#   APT_BENCH_RUNS=3       timed runs per side (medians are reported)
#   APT_BENCH_COMPRESSION=gzip   dpkg-deb -Z for the pool's debs: gzip (pkglayer's and fpm's debs; their
#                          control.tar is read in place) or xz (dpkg-deb's default; control.tar.xz is
#                          extracted to a scratch file first)
set -euo pipefail

APT_BENCH_DEBS=${APT_BENCH_DEBS:-200}
APT_BENCH_RUNS=${APT_BENCH_RUNS:-3}
APT_BENCH_COMPRESSION=${APT_BENCH_COMPRESSION:-gzip}
repo=$(cd "$(dirname "$0")/../.." && pwd)

say() { printf '[bench publish-apt %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench publish-apt: error: %s\n' "$*" >&2; exit 1; }
for tool in apt-ftparchive dpkg-deb gpg gpgconf gzip xz swift; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[[ $APT_BENCH_DEBS =~ ^[1-9][0-9]*$ ]] || die "APT_BENCH_DEBS must be a positive whole number"
[[ $APT_BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "APT_BENCH_RUNS must be a positive whole number"
[[ $APT_BENCH_COMPRESSION =~ ^(gzip|xz|zstd|none)$ ]] || die "APT_BENCH_COMPRESSION must be gzip, xz, zstd or none"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-publish-apt-XXXXXX")
export GNUPGHOME=$WORK/gnupg
cleanup() {
    gpgconf --kill all >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. The pool: small debs, each one 4 KiB file, made with dpkg-deb.
say "making $APT_BENCH_DEBS debs"
export SOURCE_DATE_EPOCH=1750000000
for i in $(seq -w 0 $((APT_BENCH_DEBS - 1))); do
    name=bench$i
    arch=amd64
    [[ $((10#$i % 10)) -eq 0 ]] && arch=all
    tree=$WORK/tree/$name
    mkdir -p "$tree/DEBIAN" "$tree/usr/share/$name"
    head -c 4096 /dev/zero | tr '\0' "$(printf '\\%03o' $((65 + 10#$i % 26)))" >"$tree/usr/share/$name/data"
    printf 'Package: %s\nVersion: 1.0-1\nArchitecture: %s\nMaintainer: Bench <bench@example.invalid>\nInstalled-Size: 8\nDescription: benchmark package %s\n two lines of description.\n' \
        "$name" "$arch" "$i" >"$tree/DEBIAN/control"
    mkdir -p "$WORK/repo/pool/main/b/$name"
    dpkg-deb --root-owner-group "-Z$APT_BENCH_COMPRESSION" -b "$tree" "$WORK/repo/pool/main/b/$name/${name}_1.0-1_${arch}.deb" >/dev/null
done

# 2. One key for both sides.
mkdir -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "Bench <bench@example.invalid>" ed25519 sign never 2>/dev/null
gpg --batch --armor --export-secret-keys >"$WORK/secret.asc"
gpg --batch --armor --export >"$WORK/public.asc"
gpg --batch --export >"$WORK/public.gpg"
gpg-connect-agent /bye >/dev/null 2>&1 || true

# 3. The reference: apt-ftparchive + gzip + xz + gpg.
say "timing apt-ftparchive + gpg ($APT_BENCH_RUNS runs)"
reference() { # $1: output directory
    local dists=$1/dists/stable
    mkdir -p "$dists/main/binary-amd64"
    (cd "$WORK/repo" && apt-ftparchive packages pool >"$dists/main/binary-amd64/Packages" 2>/dev/null)
    gzip -9n -k "$dists/main/binary-amd64/Packages"
    xz -k "$dists/main/binary-amd64/Packages"
    apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
        -o APT::FTPArchive::Release::Architectures="amd64 all" -o APT::FTPArchive::Release::Components=main \
        release "$dists" >"$WORK/Release.tmp"
    mv "$WORK/Release.tmp" "$dists/Release"
    gpg --batch --yes --clearsign --output "$dists/InRelease" "$dists/Release"
    gpg --batch --yes --armor --detach-sign --output "$dists/Release.gpg" "$dists/Release"
}
reference_times=$(for run in $(seq 1 "$APT_BENCH_RUNS"); do
    start=$(date +%s.%N)
    reference "$WORK/reference/run$run"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
done | median)
gpgv --keyring "$WORK/public.gpg" "$WORK/reference/run1/dists/stable/InRelease" 2>/dev/null ||
    die "the reference InRelease does not verify"

# 4. pkglayer, in the test bundle.
say "timing pkglayer's AptRepositoryWriter ($APT_BENCH_RUNS runs)"
log=$WORK/pkglayer.log
(cd "$repo" && PKGLAYER_BENCH_APT_REPO=$WORK/repo PKGLAYER_BENCH_APT_OUT=$WORK/pkglayer PKGLAYER_BENCH_APT_KEY=$WORK/secret.asc \
    PKGLAYER_BENCH_APT_RUNS=$APT_BENCH_RUNS swift test --skip-build \
    --filter AptRepositoryWriterTests/testBenchmarkCellWritesSignedMetadataForAPool >"$log" 2>&1) ||
    { cat "$log" >&2; die "the pkglayer cell failed"; }
grep -q "APT-BENCH debs $APT_BENCH_DEBS " "$log" || { cat "$log" >&2; die "the pkglayer cell printed no timing for $APT_BENCH_DEBS debs"; }
gpgv --keyring "$WORK/public.gpg" "$WORK/pkglayer/run0/dists/stable/InRelease" 2>/dev/null ||
    die "pkglayer's InRelease does not verify"
ours=$(grep -o 'read+write [0-9.]*' "$log" | awk '{ print $2 }' | median)
writer=$(grep -o ' write [0-9.]*' "$log" | awk '{ print $2 }' | median)

ratio=$(awk -v a="$reference_times" -v b="$ours" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
printf 'PUBLISH-APT: %d debs (%s), signed metadata (Packages .gz .xz, Release, InRelease, Release.gpg), medians of %d runs\n' \
    "$APT_BENCH_DEBS" "$APT_BENCH_COMPRESSION" "$APT_BENCH_RUNS"
printf 'PUBLISH-APT:   apt-ftparchive packages + release + gzip + xz + gpg: %.3f s\n' "$reference_times"
printf 'PUBLISH-APT:   pkglayer (read every deb + write, key loading included): %.3f s  (apt-ftparchive/pkglayer = %s)\n' "$ours" "$ratio"
printf 'PUBLISH-APT:   pkglayer writer alone, entries already indexed:          %.3f s\n' "$writer"
