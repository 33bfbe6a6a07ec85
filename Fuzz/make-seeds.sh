#!/usr/bin/env bash
# Fuzz/make-seeds.sh TARGET OUT: writes the seed inputs of one fuzz target into OUT (created), from
# the committed seeds in Fuzz/Seeds/TARGET and from real files made or found here at run time:
# packages written by the debug pkglayer binary, recipes/*.yml, archives made with tar/cpio/ar, the
# host's apt lists, a yum repository made by createrepo_c, an OCI layout made by umoci. Missing tools
# or fixtures only mean fewer seeds. Every seed stays under 64 KiB; binaries are never committed.
set -uo pipefail
cd "$(dirname "$0")/.."
target=$1
out=$2
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-fuzz-seeds-XXXXXX")
trap 'rm -rf "$work"' EXIT
pkglayer=${PKGLAYER_BIN:-.build/debug/pkglayer}
max=65536

note() { echo "make-seeds($target): $*" >&2; }
keep() {   # keep FILE NAME: copies FILE into OUT when it is small enough
    local size
    size=$(stat -c %s "$1" 2>/dev/null) || return 0
    if [ "$size" -le "$max" ]; then cp "$1" "$out/$2"; else note "skipping $2 ($size bytes > $max)"; fi
}
committed() { [ -d "Fuzz/Seeds/$target" ] && cp Fuzz/Seeds/"$target"/* "$out"/ 2>/dev/null; return 0; }

# A small tree with a bit of everything a package holds: files, a config file, a symlink, a hardlink,
# an empty directory, an executable, a file with a space in its name.
make_tree() {
    local root=$1
    mkdir -p "$root/usr/bin" "$root/etc/demo" "$root/usr/share/doc/demo" "$root/var/lib/demo"
    printf '#!/bin/sh\necho demo\n' > "$root/usr/bin/demo"; chmod 755 "$root/usr/bin/demo"
    printf 'key = value\n' > "$root/etc/demo/demo.conf"
    printf 'demo docs\n' > "$root/usr/share/doc/demo/README"
    printf 'two words\n' > "$root/usr/share/doc/demo/with space"
    ln -s demo "$root/usr/bin/demo-link"
    ln "$root/usr/bin/demo" "$root/usr/bin/demo-hard"
}

# pkglayer package: TYPE COMPRESSION OUTDIR [extra flags]
make_package() {
    local type=$1 compression=$2 dir=$3; shift 3
    [ -x "$pkglayer" ] || { note "no $pkglayer; build it with swift build"; return 1; }
    mkdir -p "$dir"
    printf '#!/bin/sh\necho installed\n' > "$work/postinst"
    PKGLAYER_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000 "$pkglayer" package -s dir -t "$type" -n demo -v 1.2 --iteration 3 \
        -C "$work/tree" -p "$dir" --"$type"-compression "$compression" -d 'libc6 (>= 2.36)' --provides demo-bin \
        --conflicts old-demo --after-install "$work/postinst" --description $'demo package\nfor fuzzing' "$@" . >/dev/null 2>&1
}

case "$target" in
rpm)
    make_tree "$work/tree"
    for c in none gzip; do
        make_package rpm "$c" "$work/rpm-$c" || break
        f=$(ls "$work"/rpm-$c/*.rpm 2>/dev/null | head -1) || continue
        [ -n "$f" ] || continue
        keep "$f" "pkglayer-$c.rpm"
        # Variants the reader accepts but a fuzzer would hardly make (Fuzz/rpm-variants.py says why).
        python3 Fuzz/rpm-variants.py nodigests "$f" "$work/v.rpm" && keep "$work/v.rpm" "pkglayer-$c-nodigests.rpm"
        [ "$c" = none ] || continue
        python3 Fuzz/rpm-variants.py stripped "$f" "$work/v.rpm" && keep "$work/v.rpm" pkglayer-stripped-cpio.rpm
        python3 Fuzz/rpm-variants.py int64 "$f" "$work/v.rpm" && keep "$work/v.rpm" pkglayer-int64-tags.rpm
    done
    make_package rpm none "$work/rpm-noarch" -a noarch && keep "$(ls "$work"/rpm-noarch/*.rpm | head -1)" pkglayer-noarch.rpm
    ;;
deb)
    make_tree "$work/tree"
    for c in none gz; do
        make_package deb "$c" "$work/deb-$c" || break
        f=$(ls "$work"/deb-$c/*.deb 2>/dev/null | head -1)
        [ -n "$f" ] && keep "$f" "pkglayer-$c.deb"
    done
    # Real Debian packages the tests download (Tests/PkgLayerTestSupport/HostAptMirror.swift), when small.
    for f in /var/cache/pkglayer-test/debs/*.deb; do [ -f "$f" ] && keep "$f" "debian-$(basename "$f")" 2>/dev/null; done
    ;;
archive)
    # Each seed starts with the harness's flags byte: 00 plain extraction, 01 staging (special bits
    # dropped), 02 raw (one decompressed member).
    make_tree "$work/tree"
    (cd "$work/tree" && tar --format=gnu -cf "$work/gnu.tar" . && tar --format=pax -cf "$work/pax.tar" . \
        && tar --format=ustar -cf "$work/ustar.tar" . && tar --format=v7 -cf "$work/v7.tar" ./usr/bin \
        && find . | cpio --quiet -o -H newc > "$work/newc.cpio" && find . | cpio --quiet -o -H odc > "$work/odc.cpio" \
        && ar qc "$work/demo.a" etc/demo/demo.conf usr/share/doc/demo/README) 2>/dev/null
    gzip -9nc "$work/pax.tar" > "$work/pax.tar.gz"
    xz -c "$work/gnu.tar" > "$work/gnu.tar.xz"
    zstd -q -c "$work/newc.cpio" > "$work/newc.cpio.zst"
    bzip2 -c "$work/ustar.tar" > "$work/ustar.tar.bz2"
    i=0
    for f in gnu.tar pax.tar ustar.tar v7.tar newc.cpio odc.cpio demo.a pax.tar.gz gnu.tar.xz newc.cpio.zst ustar.tar.bz2; do
        [ -s "$work/$f" ] || continue
        flag=$(( i % 2 ))
        { printf "\\x0$flag"; cat "$work/$f"; } > "$work/seed"; keep "$work/seed" "$f.flag$flag"
        i=$((i + 1))
    done
    { printf '\x02'; cat "$work/pax.tar.gz"; } > "$work/seed"; keep "$work/seed" raw-gzip
    ;;
recipe)
    for f in recipes/*.yml; do keep "$f" "$(basename "$f")"; done
    ;;
apt)
    for f in /var/lib/apt/lists/*_InRelease; do
        [ -f "$f" ] || continue
        head -c 16384 "$f" > "$work/r"; keep "$work/r" "$(basename "$f")"
        # The same Release without the signature armor.
        sed -n '/^Origin:/,/^-----BEGIN PGP SIGNATURE/p' "$f" | grep -v "^-----BEGIN" | head -c 16384 > "$work/r"
        keep "$work/r" "$(basename "$f" _InRelease)_Release"
    done
    for f in /var/lib/apt/lists/*_Packages*; do
        [ -f "$f" ] || continue
        # The first paragraphs, up to 16 KB.
        /usr/lib/apt/apt-helper cat-file "$f" 2>/dev/null \
            | awk 'BEGIN { RS = ""; ORS = "\n\n" } { n += length($0) + 2; if (n > 16000) exit; print }' > "$work/p"
        keep "$work/p" "$(basename "$f" | sed 's/\.[a-z0-9]*$//')"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do [ -f "$f" ] && keep "$f" "sources-$(basename "$f")"; done
    ;;
yum)
    if command -v createrepo_c >/dev/null; then
        make_tree "$work/tree"
        mkdir -p "$work/repo"
        make_package rpm gzip "$work/repo" && make_package rpm gzip "$work/repo" -n demo-extra -d 'demo = 1.2-3' \
            && createrepo_c -q --no-database "$work/repo" >/dev/null 2>&1 && {
            keep "$work/repo/repodata/repomd.xml" repomd.xml
            zcat "$work"/repo/repodata/*-primary.xml.gz > "$work/primary.xml" 2>/dev/null && keep "$work/primary.xml" primary.xml
        }
    fi
    ;;
oci)
    # An OCI layout made by umoci, flattened into the harness's parts (index.json, then blobs, with
    # each digest of a later part written as @blobN).
    if command -v umoci >/dev/null; then
        umoci init --layout "$work/layout" >/dev/null 2>&1 && umoci new --image "$work/layout:latest" >/dev/null 2>&1 \
            && umoci config --image "$work/layout:latest" --config.entrypoint /bin/demo --config.env A=1 \
                 --config.workingdir /srv --config.exposedports 80/tcp --config.label a=b --architecture amd64 --os linux >/dev/null 2>&1
        [ -f "$work/layout/index.json" ] && python3 Fuzz/oci-parts.py "$work/layout" > "$work/umoci.parts" && keep "$work/umoci.parts" umoci-layout
    fi
    ;;
registry)
    # Layers as a registry serves them (an empty first line: no challenge), for LayerMemberCheck: whiteouts,
    # a symlink replaced by a directory, hardlinks, and a file beneath a symlink.
    if command -v python3 >/dev/null; then
        python3 - "$work" <<'PY' && for f in "$work"/layer-*; do keep "$f" "$(basename "$f")"; done
import gzip, io, sys, tarfile
def layer(name, members, compress=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, target in members:
            info = tarfile.TarInfo(path); info.mtime = 1600000000
            if kind == "file":
                data = b"x\n"; info.size = len(data); tar.addfile(info, io.BytesIO(data)); continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE}[kind]
            info.linkname = target or ""
            tar.addfile(info)
    raw = buf.getvalue()
    open(sys.argv[1] + "/" + name, "wb").write(b"\n" + (gzip.compress(raw, mtime=0) if compress else raw))
layer("layer-good", [("etc", "dir", None), ("etc/passwd", "file", None), ("lib", "sym", "usr/lib"), ("usr/lib/a", "file", None),
                     ("usr/lib/b", "hard", "usr/lib/a"), (".wh.lib", "file", None), ("lib/x", "file", None), ("var/.wh..wh..opq", "file", None)])
layer("layer-hostile", [("etc", "sym", "/"), ("etc/passwd", "file", None), ("../x", "file", None), ("dev/null", "chr", None)], compress=False)
PY
    fi
    ;;
load)
    # docker- and oci-archives for the loaders (FuzzLoad): good ones and the hostile shapes of issue 21.
    python3 Fuzz/load-seeds.py "$out"
    ;;
*)
    note "unknown target"; exit 2 ;;
esac
committed
echo "$(ls "$out" | wc -l) seeds, $(du -sk "$out" | cut -f1) KiB"
