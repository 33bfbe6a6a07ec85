#!/usr/bin/env bash
# Publishing signed repositories: `pkglayer publish --repo DIR --sign-key KEY` of PUBLISH_COUNT (200) small
# packages into a new repository, then adding one more, against the Debian/Fedora tools doing the same job
# on the same files, in one run:
#   yum: createrepo_c (then `createrepo_c --update`) + `gpg --detach-sign --armor` of repomd.xml
#   apt: apt-ftparchive packages | gzip -9n, xz + apt-ftparchive release + `gpg --clearsign` (InRelease)
#        + `gpg --detach-sign --armor` (Release.gpg); adding one runs the chain again over the pool
# Both sides copy the packages into the repository (pkglayer's publish copies them in). The packages
# are made once with `pkglayer package` (untimed); --no-sign-packages keeps package signing out of the
# comparison (the peers do not sign packages). Each cell runs PUBLISH_RUNS (3) times into fresh
# directories; medians, with pkglayer's time as a ratio of the peer's.
#   PKGLAYER=path PUBLISH_COUNT=200 PUBLISH_RUNS=3 scripts/bench/publish.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pkglayer=${PKGLAYER:-$repo/.build/release/pkglayer}
count=${PUBLISH_COUNT:-200}
runs=${PUBLISH_RUNS:-3}
for tool in createrepo_c apt-ftparchive gpg xz; do
    command -v "$tool" >/dev/null || { echo "PUBLISH: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
"$pkglayer" publish --help >/dev/null 2>&1 || { echo "PUBLISH: $pkglayer has no 'publish' command" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-publish.XXXXXX")
export GNUPGHOME=$work/gnupg
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key "Bench <bench@example.org>" ed25519 sign never 2>/dev/null
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --armor --export-secret-keys bench@example.org >"$work/key.asc"
echo | gpg --batch --quiet --clearsign >/dev/null   # the agent is up before anything is timed

mkdir -p "$work/pkgs" "$work/extra" "$work/tree/usr/share/doc"
for i in $(seq 1 "$count"); do
    printf 'package %d\n' "$i" >"$work/tree/usr/share/doc/bench-$i.txt"
    "$pkglayer" package -s dir -t rpm -t deb -n "bench-$i" -v "1.$i" --iteration 1 -a all -p "$work/pkgs/" \
        "$work/tree/usr/share/doc/bench-$i.txt=/usr/share/doc/bench-$i/README" >/dev/null 2>&1
done
printf 'one more\n' >"$work/tree/extra.txt"
"$pkglayer" package -s dir -t rpm -t deb -n bench-extra -v 1.0 --iteration 1 -a all -p "$work/extra/" \
    "$work/tree/extra.txt=/usr/share/doc/bench-extra/README" >/dev/null 2>&1
extra_rpm=$(ls "$work"/extra/*.rpm) extra_deb=$(ls "$work"/extra/*.deb)

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
seconds() { # command… → elapsed seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "PUBLISH: failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
yum_peer() { # dir [--update]
    createrepo_c --no-database ${2:-} "$1" && gpg --batch --yes --armor --detach-sign -o "$1/repodata/repomd.xml.asc" "$1/repodata/repomd.xml"
}
apt_peer() { # dir
    local d=$1 idx=$1/dists/stable/main/binary-all
    mkdir -p "$idx"
    (cd "$d" && apt-ftparchive packages pool >"$idx/Packages")
    gzip -9nc "$idx/Packages" >"$idx/Packages.gz"
    xz -c "$idx/Packages" >"$idx/Packages.xz"
    apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Architectures=all \
        -o APT::FTPArchive::Release::Components=main release "$d/dists/stable" >"$work/Release.tmp"
    mv "$work/Release.tmp" "$d/dists/stable/Release"
    gpg --batch --yes --clearsign -o "$d/dists/stable/InRelease" "$d/dists/stable/Release"
    gpg --batch --yes --armor --detach-sign -o "$d/dists/stable/Release.gpg" "$d/dists/stable/Release"
}
export -f yum_peer apt_peer; export work

declare -A t
for r in $(seq 1 "$runs"); do
    sign=(--sign-key "$work/key.asc" --no-sign-packages --suite stable)
    t[yum_pk]+="$(seconds "$pkglayer" publish --repo "$work/ypk$r" "${sign[@]}" "$work"/pkgs/*.rpm) "
    t[yum_pk_add]+="$(seconds "$pkglayer" publish --repo "$work/ypk$r" "${sign[@]}" "$extra_rpm") "
    t[apt_pk]+="$(seconds "$pkglayer" publish --repo "$work/apk$r" "${sign[@]}" "$work"/pkgs/*.deb) "
    t[apt_pk_add]+="$(seconds "$pkglayer" publish --repo "$work/apk$r" "${sign[@]}" "$extra_deb") "
    mkdir -p "$work/ycr$r/Packages" "$work/acr$r/pool/main/b"
    t[yum_cr]+="$(seconds bash -c 'cp -p "$@" "$0/Packages/" && yum_peer "$0"' "$work/ycr$r" "$work"/pkgs/*.rpm) "
    t[yum_cr_add]+="$(seconds bash -c 'cp -p "$1" "$0/Packages/" && yum_peer "$0" --update' "$work/ycr$r" "$extra_rpm") "
    t[apt_cr]+="$(seconds bash -c 'cp -p "$@" "$0/pool/main/b/" && apt_peer "$0"' "$work/acr$r" "$work"/pkgs/*.deb) "
    t[apt_cr_add]+="$(seconds bash -c 'cp -p "$1" "$0/pool/main/b/" && apt_peer "$0"' "$work/acr$r" "$extra_deb") "
done
# What was written is what a client needs: every package listed, signatures that verify.
gpg --batch --armor --export bench@example.org >"$work/pub.asc"
gpg --batch --dearmor <"$work/pub.asc" >"$work/pub.gpg"
gpgv --keyring "$work/pub.gpg" "$work/ypk1/repodata/repomd.xml.asc" "$work/ypk1/repodata/repomd.xml" 2>/dev/null ||
    { echo "PUBLISH: pkglayer's repomd.xml.asc does not verify" >&2; exit 1; }
gpgv --keyring "$work/pub.gpg" "$work/apk1/dists/stable/InRelease" 2>/dev/null ||
    { echo "PUBLISH: pkglayer's InRelease does not verify" >&2; exit 1; }
primary=$(grep -o 'href="repodata/[0-9a-f]*-primary.xml.gz"' "$work/ypk1/repodata/repomd.xml" | cut -d'"' -f2)
listed=$(zcat "$work/ypk1/$primary" | grep -c '<package type="rpm">')
[ "$listed" -eq $((count + 1)) ] || { echo "PUBLISH: primary lists $listed packages, expected $((count + 1))" >&2; exit 1; }
listed=$(find "$work/apk1/dists/stable" -path '*binary-all/Packages' -exec grep -c '^Package:' {} \;)
[ "$listed" -eq $((count + 1)) ] || { echo "PUBLISH: Packages lists $listed packages, expected $((count + 1))" >&2; exit 1; }

m() { tr ' ' '\n' <<<"${t[$1]}" | sed '/^$/d' | median; }
row() { # label pkglayer-key peer-key peer-label
    local p c
    p=$(m "$2"); c=$(m "$3")
    printf 'PUBLISH: %-34s pkglayer %.3f s, %s %.3f s (ratio %.2f)\n' "$1" "$p" "$4" "$c" "$(echo "$p / $c" | bc -l)"
}
row "$count rpms into a new signed repo:" yum_pk yum_cr "createrepo_c + gpg"
row "add 1 rpm to $count:" yum_pk_add yum_cr_add "createrepo_c --update + gpg"
row "$count debs into a new signed repo:" apt_pk apt_cr "apt-ftparchive + gzip + xz + gpg"
row "add 1 deb to $count:" apt_pk_add apt_cr_add "apt-ftparchive + gzip + xz + gpg"
