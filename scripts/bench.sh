#!/usr/bin/env bash
# pkglayer's speed and memory against the tools it replaces, measured in one run.
#
#   scripts/bench.sh                 # 3 timed runs per cell, medians
#   RUNS=5 scripts/bench.sh          # more runs
#   BENCH_TSV=1 scripts/bench.sh     # also write ./bench-results.tsv (or BENCH_TSV=path.tsv)
#
# Trees: A = the Swift toolchain's static libraries (few large files), B = php's source tree
# (~22,500 small files), and a tree holding one 2 GiB file for pkglayer's peak memory.
# IMG = image assembly: `pkglayer image` of ~16 real Debian .debs (one layer each) against umoci
# inserting the same packages' extracted trees as one layer each, from cold; then the same image
# with one package changed, and a no-op (nothing changed, warm cache). The floor cell is the work no
# image tool can skip: each package's data member decompressed and recompressed at the layers' gzip
# level (`xz -dc | gzip -N`), two packages at a time (xargs -P2).
# Each cell is one tool on one tree; every tool sees the same staged tree with a warm page
# cache, the tools take turns within each run, and every package produced is checked
# (rpm -K / dpkg-deb -I, file count, payload compression; the warm-up package is unpacked
# and compared with the tree) so a broken output is never timed.
#
# Settings (environment):
#   RUNS=3            timed runs per cell (the median is reported)
#   WARMUP=1          untimed pkglayer runs first (0 to skip; the first also does the unpack check)
#   VERIFY=1          unpack pkglayer's warm-up packages and compare them with the tree (0: skip)
#   TREES="A B IMG"   which trees to time (empty: none, e.g. only the BIG test; TREES=IMG: images only)
#   IMG_DEBS=dir      the .debs of the image benchmark (default /var/cache/pkglayer-test/debs when it
#                     holds IMG_MIN_DEBS or more, else IMG_DEB_LIST is fetched with apt-get download into
#                     /var/cache/pkglayer-bench/debs once)
#   IMG_GZIP_LEVEL=n  the layers' gzip level (PKGLAYER_LAYER_GZIP_LEVEL; default: pkglayer's own, 2),
#                     also the floor cell's gzip level
#   IMG_CHANGED=libssl3  the package rebuilt (one file added) for the one-changed cell
#   ONLY="..."        only these tools (names as in the TSV: pkglayer-rpm-gz rpmbuild-gz ...)
#   BIG=1             the 2 GiB peak-memory test (0 to skip); BIG_MB=2048, BIG_RUNS=1,
#                     BIG_TOOLS="pkglayer-rpm-gz pkglayer-deb-gz pkglayer-rpm-zst"
#   GZIP_LEVEL=6 ZSTD_LEVEL=3 THREADS=$(nproc)   (rpmbuild's zstd and pigz get THREADS too)
#   PKGLAYER=path     the binary to time (default .build/release/pkglayer, built if missing)
#   SHARED=dir        where sources/php-8.2.32.tar.xz is (default: <repo>/../shared)
#   TREE_A_SRC=dir    tree A (default /opt/swift/usr/lib/swift_static)
#   KEEP=1            keep the work directory
#   NOOP=1            the no-op section: `pkglayer build recipes/nginx.yml` with its image when nothing changed
#                     (target 0.3 s; scripts/bench/noop.sh, NOOP_RUNS; needs the host's apt sources online)
#   CACHE=1           the registry build cache section: runner 2 against runner 1 and a local hit, and the
#                     uploads of a repeat build (scripts/bench/cache.sh; builds hello, pcre2, nginx-pcre2)
#   PUBLISH=1         the publish section: `pkglayer publish --sign-key` of 200 rpms and 200 debs into new
#                     repositories, then one more, against createrepo_c (--update) + gpg and apt-ftparchive +
#                     gzip + xz + gpg --clearsign (scripts/bench/publish.sh, PUBLISH_COUNT, PUBLISH_RUNS)
#   REGISTRY=1        the registry section (0 to skip): pkglayer push/pull against skopeo copy on one
#                     image and one local docker-registry (TLS + htpasswd), and the blob bytes of a
#                     repeat push (target 0); scripts/bench/registry.sh, REG_RUNS (default RUNS), REG_TREES
#   BENCH_TSV=1|path  write a TSV (1, yes or true: ./bench-results.tsv)
#
# TSV columns: kind tree subject runs median_s min_s max_s cpu_s peak_rss_mb size_bytes value
# target status others_cpu_s. kind is "measure" (one tool on one tree), "ratio" (value = the
# ratio of median wall times, cpu_s = the ratio of median CPU times) or "rss" (value = peak RSS
# in MB). others_cpu_s is the CPU time the rest of the machine used during a run (median).
#
# Exit status: 0 when everything ran (targets missed are reported, not failed), non-zero when
# a tool failed, a package was invalid or something needed was missing.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))
STATS_AWK="$SCRIPT_DIR/bench/stats.awk"
INVOKE_DIR=$PWD

RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
VERIFY=${VERIFY:-1}
TREES=${TREES-"A B IMG"}
ONLY=${ONLY:-}
BIG=${BIG:-1}
REGISTRY=${REGISTRY:-1}
BIG_MB=${BIG_MB:-2048}
BIG_RUNS=${BIG_RUNS:-1}
BIG_TOOLS=${BIG_TOOLS:-"pkglayer-rpm-gz pkglayer-deb-gz pkglayer-rpm-zst"}
GZIP_LEVEL=${GZIP_LEVEL:-6}
ZSTD_LEVEL=${ZSTD_LEVEL:-3}
THREADS=${THREADS:-$(nproc)}
SHARED=${SHARED:-$REPO/../shared}
PHP_TARBALL=${PHP_TARBALL:-$SHARED/sources/php-8.2.32.tar.xz}
TREE_A_SRC=${TREE_A_SRC:-/opt/swift/usr/lib/swift_static}
BENCH_TSV=${BENCH_TSV-}
IMG_DEBS=${IMG_DEBS:-}
IMG_MIN_DEBS=${IMG_MIN_DEBS:-12}
IMG_DEB_LIST=${IMG_DEB_LIST:-"libc6 libgcc-s1 libstdc++6 zlib1g libssl3 libsqlite3-0 libdb5.3 bash coreutils perl-base libperl5.36 perl-modules-5.36 libpython3.11-minimal libpython3.11-stdlib python3.11-minimal tzdata"}
IMG_GZIP_LEVEL=${IMG_GZIP_LEVEL:-}
IMG_FLOOR_LEVEL=${IMG_GZIP_LEVEL:-2}   # pkglayer's default layer level (ImageBuilder.compressionLevel)
IMG_CHANGED=${IMG_CHANGED:-libssl3}
GNU_TIME=/usr/bin/time

ALL_TOOLS=(pkglayer-rpm-gz rpmbuild-gz pkglayer-rpm-zst rpmbuild-zst pkglayer-deb-gz dpkg-deb-gz tar-gzip tar-pigz)

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

for v in RUNS WARMUP BIG_MB BIG_RUNS GZIP_LEVEL ZSTD_LEVEL THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((RUNS >= 1)) || die "RUNS must be at least 1"
((THREADS >= 1)) || THREADS=1
[[ -r $STATS_AWK ]] || die "missing helper $STATS_AWK"

label() {
    case $1 in
        pkglayer-rpm-gz)  echo "pkglayer rpm gzip-$GZIP_LEVEL" ;;
        rpmbuild-gz)      echo "rpmbuild w$GZIP_LEVEL.gzdio" ;;
        pkglayer-rpm-zst) echo "pkglayer rpm zstd-$ZSTD_LEVEL" ;;
        rpmbuild-zst)     echo "rpmbuild w${ZSTD_LEVEL}T$THREADS.zstdio" ;;
        pkglayer-deb-gz)  echo "pkglayer deb gz-$GZIP_LEVEL" ;;
        dpkg-deb-gz)      echo "dpkg-deb -Zgzip -z$GZIP_LEVEL" ;;
        tar-gzip)         echo "tar | gzip -$GZIP_LEVEL" ;;
        tar-pigz)         echo "tar | pigz -$GZIP_LEVEL -p$THREADS" ;;
        umoci-insert)     echo "umoci insert xN (trees)" ;;
        umoci-deb)        echo "dpkg-deb -x + umoci insert" ;;
        floor-img)        echo "floor: xz -dc|gzip -$IMG_FLOOR_LEVEL, -P2" ;;
        pkglayer-img-cold) echo "pkglayer image cold${IMG_GZIP_LEVEL:+ gz-$IMG_GZIP_LEVEL}" ;;
        pkglayer-img-one) echo "pkglayer image 1 changed" ;;
        pkglayer-img-noop) echo "pkglayer image no-op" ;;
        *)                echo "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# What the benchmark needs: installed from Debian's packages when missing.
ensure_tools() {
    local -a need=()
    command -v rpmbuild >/dev/null || need+=(rpm)
    command -v rpm2cpio >/dev/null || need+=(rpm2cpio)
    command -v cpio >/dev/null || need+=(cpio)
    command -v dpkg-deb >/dev/null || need+=(dpkg)
    command -v ar >/dev/null || need+=(binutils)
    command -v pigz >/dev/null || need+=(pigz)
    command -v gzip >/dev/null || need+=(gzip)
    command -v zstd >/dev/null || need+=(zstd)
    command -v xz >/dev/null || need+=(xz-utils)
    command -v git >/dev/null || need+=(git)
    [[ -x $GNU_TIME ]] || need+=(time)
    if ((${#need[@]})); then
        [[ $(id -u) == 0 ]] || die "missing packages: ${need[*]} (install them: apt-get install ${need[*]})"
        say "installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || die "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
    fi
    # rpmbuild must know the zstd payload, or the zstd comparison means nothing.
    local showrc
    showrc=$(rpm --showrc 2>/dev/null || true)
    [[ $showrc == *PayloadIsZstd* ]] || die "this rpm has no zstd payload support"
}

ensure_pkglayer() {
    if [[ -n ${PKGLAYER:-} ]]; then
        [[ -x $PKGLAYER ]] || die "PKGLAYER=$PKGLAYER is not an executable"
    else
        PKGLAYER=$REPO/.build/release/pkglayer
        if [[ ! -x $PKGLAYER ]]; then
            say "building pkglayer (swift build -c release)"
            (cd "$REPO" && swift build -c release --product pkglayer) >&2 || die "swift build -c release failed"
        fi
        local newer
        newer=$(find "$REPO/Sources" "$REPO/Package.swift" -newer "$PKGLAYER" -type f -print -quit 2>/dev/null || true)
        [[ -z $newer ]] || say "warning: $PKGLAYER is older than $newer: rebuild (swift build -c release) or set PKGLAYER"
    fi
    PKGLAYER=$(cd "$(dirname "$PKGLAYER")" && pwd)/$(basename "$PKGLAYER")
    "$PKGLAYER" package --help >/dev/null 2>&1 || die "$PKGLAYER package --help does not run"
}

# ---------------------------------------------------------------------------------------------
# Measuring one command. Wall time is taken with nanosecond clocks around GNU time, which
# gives user+system CPU (children included) and the peak RSS: for a pipeline or a tool that
# forks, that is the largest single process (the kernel's maxrss), not the sum.
CMD=()
set_cmd() { # tree tool output
    local t=$1 tool=$2 out=$3 d="$WORK/$1"
    local name="bench-${t,,}"
    case $tool in
        pkglayer-rpm-gz)
            CMD=("$PKGLAYER" package -s dir -t rpm -n "$name" -v 1.0 --iteration 1 -C "$d/stage" . -p "$out" -f
                 --rpm-compression gzip --rpm-compression-level "$GZIP_LEVEL") ;;
        pkglayer-rpm-zst)
            CMD=("$PKGLAYER" package -s dir -t rpm -n "$name" -v 1.0 --iteration 1 -C "$d/stage" . -p "$out" -f
                 --rpm-compression zstd --rpm-compression-level "$ZSTD_LEVEL") ;;
        pkglayer-deb-gz)
            CMD=("$PKGLAYER" package -s dir -t deb -n "$name" -v 1.0 --iteration 1 -C "$d/stage" . -p "$out" -f
                 --deb-compression gz --deb-compression-level "$GZIP_LEVEL") ;;
        rpmbuild-gz | rpmbuild-zst)
            local kind=${tool#rpmbuild-}
            CMD=(rpmbuild -bb --quiet --noclean --nodeps --buildroot "$d/stage"
                 --define "_topdir $d/rpmtop" --define "_tmppath $d/rpmtmp"
                 --define "_rpmdir $(dirname "$out")" --define "_build_name_fmt $(basename "$out")"
                 "$d/$kind.spec") ;;
        dpkg-deb-gz)
            CMD=(dpkg-deb --root-owner-group -Zgzip "-z$GZIP_LEVEL" -b "$d/debstage" "$out") ;;
        tar-gzip)
            CMD=(bash -c 'set -o pipefail; tar -C "$1" -cf - . | gzip -"$2" >"$3"' _ "$d/stage" "$GZIP_LEVEL" "$out") ;;
        tar-pigz)
            CMD=(bash -c 'set -o pipefail; tar -C "$1" -cf - . | pigz -"$2" -p "$3" >"$4"' _ "$d/stage" "$GZIP_LEVEL" "$THREADS" "$out") ;;
        umoci-insert)
            CMD=(bash -c 'set -e; l=$1; shift; rm -rf "$l"; umoci init --layout "$l"; umoci new --image "$l:bench"
                          for t in "$@"; do umoci insert --image "$l:bench" "$t" /; done; cat "$l/index.json" >"$l.done"' _ "$d/umoci" "${IMG_TREES[@]}") ;;
        umoci-deb)
            CMD=(bash -c 'set -e; l=$1 x=$2; shift 2; rm -rf "$l" "$x"; umoci init --layout "$l"; umoci new --image "$l:bench"
                          for deb in "$@"; do mkdir "$x"; dpkg-deb -x "$deb" "$x"; umoci insert --image "$l:bench" "$x" /; rm -rf "$x"; done
                          cat "$l/index.json" >"$l.done"' _ "$d/umoci-deb" "$d/x" "${IMG_DEB_FILES[@]}") ;;
        floor-img)
            # Each data member (taken out of its .deb by stage_IMG, untimed) decompressed and
            # recompressed (floor-one.sh), two at a time.
            CMD=(bash -c 'set -e; rm -rf "$2"; mkdir -p "$2"; ls "$1" | xargs -P2 -I{} bash "$3" {} "$1" "$2" "$4"; ls "$2" >"$2.done"'
                 _ "$d/members" "$d/floor" "$d/floor-one.sh" "$IMG_FLOOR_LEVEL") ;;
        pkglayer-img-*)
            local file=$d/bench.yml
            [[ $tool == pkglayer-img-one ]] && file=$d/bench-one.yml
            CMD=(bash -c 'set -e; o=$1; shift; "$@" >"$o"' _ "$out" env "PKGLAYER_CACHE=$d/cache"
                 ${IMG_GZIP_LEVEL:+"PKGLAYER_LAYER_GZIP_LEVEL=$IMG_GZIP_LEVEL"} "$PKGLAYER" image --context / "$file" -o "$d/out-${tool#pkglayer-img-}") ;;
        *) die "unknown tool $tool" ;;
    esac
}

out_path() { # tree tool
    case $2 in
        *-rpm-* | rpmbuild-*) echo "$WORK/$1/out/$2.rpm" ;;
        *-deb-* | dpkg-deb-*) echo "$WORK/$1/out/$2.deb" ;;
        umoci-insert) echo "$WORK/$1/umoci.done" ;;
        umoci-deb) echo "$WORK/$1/umoci-deb.done" ;;
        floor-img) echo "$WORK/$1/floor.done" ;;
        pkglayer-img-*) echo "$WORK/$1/$2.done" ;;
        *) echo "$WORK/$1/out/$2.tar.gz" ;;
    esac
}

# CPU seconds the whole machine has spent busy so far (from /proc/stat); with the tool's own CPU
# time it tells how much other work shared the cores during a run.
CLK_TCK=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

LAST=""   # "wall cpu rss_kib bytes other_cpu" of the last measure
measure() { # tree tool
    local t=$1 tool=$2 out tf="$WORK/time.out" log="$WORK/$1/$2.log" t0 t1
    out=$(out_path "$t" "$tool")
    set_cmd "$t" "$tool" "$out"
    rm -f "$out"
    sync   # earlier runs' dirty pages are written back now, not during this run
    local b0 b1
    b0=$(busy_ticks)
    t0=$(date +%s%N)
    if ! "$GNU_TIME" -f '%e %U %S %M' -o "$tf" "${CMD[@]}" >"$log" 2>&1; then
        say "$(label "$tool") on tree $t failed. Command: ${CMD[*]}"
        tail -n 40 "$log" >&2
        die "$(label "$tool") failed on tree $t"
    fi
    t1=$(date +%s%N)
    b1=$(busy_ticks)
    [[ -s $out ]] || { tail -n 20 "$log" >&2; die "$(label "$tool") wrote no $out"; }
    local e u s m
    read -r e u s m <"$tf"
    LAST=$(awk -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v m="$m" -v z="$(stat -c %s "$out")" \
        -v b0="$b0" -v b1="$b1" -v hz="$CLK_TCK" \
        'BEGIN { o = (b1 - b0) / hz - (u + s); if (o < 0) o = 0
                 printf "%.4f %.2f %d %d %.2f\n", (b - a) / 1e9, u + s, m, z, o }')
}

# ---------------------------------------------------------------------------------------------
# Checking what a tool produced.
count_rpm_files() { rpm -qp --nosignature --qf '[%{FILEMODES:perms}\n]' "$1" | grep -c '^-' || true; }
count_deb_files() { dpkg-deb -c "$1" | grep -c '^-' || true; }

check_output() { # tree tool [full]
    local t=$1 tool=$2 full=${3:-} out n want="${NFILES[$1]}"
    out=$(out_path "$t" "$tool")
    case $tool in
        pkglayer-rpm-* | rpmbuild-*)
            local k comp want_comp=gzip
            [[ $tool == *-zst ]] && want_comp=zstd
            k=$(rpm -K "$out" 2>&1) || die "rpm -K rejects $(label "$tool")'s package on tree $t: $k"
            [[ $k == *"digests"*OK* ]] || die "rpm -K on $(label "$tool")'s package (tree $t): $k"
            comp=$(rpm -qp --nosignature --qf '%{PAYLOADCOMPRESSOR}' "$out")
            [[ $comp == "$want_comp" ]] || die "$(label "$tool") on tree $t wrote a $comp payload, not $want_comp"
            n=$(count_rpm_files "$out") ;;
        pkglayer-deb-* | dpkg-deb-*)
            dpkg-deb -I "$out" >/dev/null 2>"$WORK/check.err" || die "dpkg-deb -I rejects $(label "$tool")'s package on tree $t: $(cat "$WORK/check.err")"
            local members
            members=$(ar t "$out") || die "ar cannot read $(label "$tool")'s package on tree $t"
            [[ $'\n'$members$'\n' == *$'\n'data.tar.gz$'\n'* ]] ||
                die "$(label "$tool") on tree $t has no data.tar.gz member (${members//$'\n'/ })"
            n=$(count_deb_files "$out") ;;
        tar-*)
            gzip -t "$out" || die "$(label "$tool") wrote a broken gzip stream on tree $t"
            return 0 ;;
    esac
    [[ $n == "$want" ]] || die "$(label "$tool")'s package on tree $t holds $n regular files; the tree has $want"
    if [[ $full == full && $VERIFY == 1 ]]; then
        local x="$WORK/unpack"
        rm -rf "$x" && mkdir -p "$x"
        case $tool in
            *rpm*) (cd "$x" && rpm2cpio "$out" | cpio -idm --quiet) || die "could not unpack $out" ;;
            *deb*) dpkg-deb -x "$out" "$x" || die "could not unpack $out" ;;
        esac
        if ! diff -r --no-dereference "$WORK/$t/stage/opt" "$x/opt" >"$WORK/diff.out" 2>&1; then
            head -n 20 "$WORK/diff.out" >&2
            die "$(label "$tool")'s package on tree $t does not unpack to the tree"
        fi
        rm -rf "$x"
        say "  $(label "$tool"): unpacked and identical to the tree"
    fi
}

# ---------------------------------------------------------------------------------------------
# Staging: every tool reads the same bytes from the same place.
declare -A NFILES=()

write_spec() { # tree kind payload
    local t=$1 kind=$2 payload=$3 name="bench-${1,,}"
    {
        # As fpm does it: the files are already in the build root, so rpmbuild's own steps
        # (%prep, %build, %install, %clean and the brp/debuginfo post-processing) do nothing.
        echo "%define __os_install_post %{nil}"
        echo "%define debug_package %{nil}"
        echo "%define _build_id_links none"
        echo "%define _binary_payload $payload"
        local step
        for step in prep build install check clean; do
            echo "%define __spec_${step}_pre true"
            echo "%define __spec_${step}_post true"
        done
        cat <<EOF
Name: $name
Version: 1.0
Release: 1
Summary: pkglayer benchmark tree $t
License: MIT
AutoReqProv: no

%description
pkglayer benchmark tree $t.

%prep
%build
%install
%files
%defattr(-,root,root,-)
/opt/$name
EOF
    } >"$WORK/$t/$kind.spec"
}

prepare_tree() { # tree (its files are already in $WORK/<tree>/stage/opt/bench-<tree>)
    local t=$1 d="$WORK/$1" name="bench-${1,,}"
    mkdir -p "$d/out" "$d/rpmtop" "$d/rpmtmp"
    NFILES[$t]=$(find "$d/stage" -type f | wc -l)
    # dpkg-deb wants DEBIAN/ inside the tree it packs, so it gets its own copy.
    rm -rf "$d/debstage"
    cp -a "$d/stage" "$d/debstage"
    mkdir -p "$d/debstage/DEBIAN"
    cat >"$d/debstage/DEBIAN/control" <<EOF
Package: $name
Version: 1.0-1
Architecture: $(dpkg --print-architecture)
Maintainer: pkglayer bench <bench@example.invalid>
Installed-Size: $(du -sk "$d/stage" | cut -f1)
Section: misc
Priority: optional
Description: pkglayer benchmark tree $t
 Files for pkglayer's benchmark.
EOF
    write_spec "$t" gz "w${GZIP_LEVEL}.gzdio"
    write_spec "$t" zst "w${ZSTD_LEVEL}T${THREADS}.zstdio"
    # Warm the page cache for everyone.
    find "$d/stage" "$d/debstage" -type f -exec cat {} + >/dev/null
    say "tree $t: ${NFILES[$t]} files, $(du -sh "$d/stage" | cut -f1) staged"
}

stage_A() {
    [[ -d $TREE_A_SRC ]] || die "tree A source $TREE_A_SRC is missing"
    mkdir -p "$WORK/A/stage/opt/bench-a"
    cp -a "$TREE_A_SRC/." "$WORK/A/stage/opt/bench-a/"
}

stage_B() {
    [[ -r $PHP_TARBALL ]] || die "tree B needs $PHP_TARBALL (set SHARED or PHP_TARBALL)"
    mkdir -p "$WORK/B/stage/opt/bench-b"
    tar -xJf "$PHP_TARBALL" --no-same-owner -C "$WORK/B/stage/opt/bench-b"
}

# ---------------------------------------------------------------------------------------------
# Results.
declare -A MED=() RSSMB=() CPU=() LO=() HI=() SIZE=() NRUN=() OTHER=()
ROWS=()     # printed table rows
TSV=()      # TSV lines

summarise() { # tree tool file
    local key="$1/$2" runs med lo hi cpu rss size other
    read -r runs med lo hi cpu rss size other < <(awk -f "$STATS_AWK" "$3")
    NRUN[$key]=$runs MED[$key]=$med LO[$key]=$lo HI[$key]=$hi CPU[$key]=$cpu RSSMB[$key]=$rss SIZE[$key]=$size OTHER[$key]=$other
    ROWS+=("$(printf '%-4s %-28s %4s %9s %17s %8s %9s %9s %8s' "$1" "$(label "$2")" "$runs" "$med" "$lo-$hi" "$cpu" "$rss" \
        "$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')" "$other")")
    TSV+=("$(printf 'measure\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t%s' "$1" "$2" "$runs" "$med" "$lo" "$hi" "$cpu" "$rss" "$size" "$other")")
}

run_tree() { # tree
    local t=$1 tool r
    local -a tools=()
    for tool in "${ALL_TOOLS[@]}"; do
        [[ -z $ONLY || " $ONLY " == *" $tool "* ]] && tools+=("$tool")
    done
    ((${#tools[@]})) || die "ONLY='$ONLY' names no tool (tools: ${ALL_TOOLS[*]})"
    for tool in "${tools[@]}"; do : >"$WORK/$t/$tool.runs"; done
    # Warm-up: pkglayer's runs only (a fresh binary, and its packages get the full unpack
    # check); the system tools are warm after the first of their timed runs' first milliseconds.
    for ((r = 1; r <= WARMUP; r++)); do
        say "tree $t: warm-up $r/$WARMUP"
        for tool in "${tools[@]}"; do
            [[ $tool == pkglayer-* ]] || continue
            measure "$t" "$tool"
            if [[ $r == 1 && $tool == pkglayer-* ]]; then
                check_output "$t" "$tool" full
            else
                check_output "$t" "$tool"
            fi
        done
    done
    for ((r = 1; r <= RUNS; r++)); do
        say "tree $t: run $r/$RUNS"
        for tool in "${tools[@]}"; do
            measure "$t" "$tool"
            check_output "$t" "$tool"
            echo "$LAST" >>"$WORK/$t/$tool.runs"
            say "  $(printf '%-28s' "$(label "$tool")") $(awk '{ printf "%7.2f s  %6.2f cpu s  %7.1f MB RSS  (others %.1f cpu s)", $1, $2, $3 / 1024, $5 }' <<<"$LAST")"
        done
    done
    for tool in "${tools[@]}"; do summarise "$t" "$tool" "$WORK/$t/$tool.runs"; done
    rm -rf "${WORK:?}/$t/out"/* "$WORK/$t/rpmtop" "$WORK/$t/debstage"
}

run_big() {
    local t=BIG d="$WORK/BIG" mib=$((BIG_MB)) full rem i tool r
    mkdir -p "$d/stage/opt/bench-big" "$d/out"
    say "big tree: writing a $mib MiB file (a 64 MiB random block, repeated)"
    head -c 64M /dev/urandom >"$d/block"
    full=$((mib / 64)) rem=$((mib % 64))
    {
        for ((i = 0; i < full; i++)); do cat "$d/block"; done
        ((rem == 0)) || head -c "${rem}M" "$d/block"
    } >"$d/stage/opt/bench-big/blob"
    rm -f "$d/block"
    NFILES[$t]=1
    local want_size
    want_size=$(stat -c %s "$d/stage/opt/bench-big/blob")
    cat "$d/stage/opt/bench-big/blob" >/dev/null
    for tool in $BIG_TOOLS; do
        [[ $tool == pkglayer-* ]] || die "BIG_TOOLS takes pkglayer's tools only, not $tool"
        : >"$d/$tool.runs"
        for ((r = 1; r <= BIG_RUNS; r++)); do
            measure "$t" "$tool"
            check_output "$t" "$tool"
            echo "$LAST" >>"$d/$tool.runs"
            say "  big: $(printf '%-24s' "$(label "$tool")") $(awk '{ printf "%7.2f s  %6.2f cpu s  %7.1f MB RSS  (others %.1f cpu s)", $1, $2, $3 / 1024, $5 }' <<<"$LAST")"
        done
        local out got
        out=$(out_path "$t" "$tool")
        if [[ $tool == *rpm* ]]; then
            got=$(rpm -qp --nosignature --qf '[%{LONGFILESIZES} %{FILEMODES:perms}\n]' "$out" | awk '$2 ~ /^-/ { print $1 }')
            [[ $got == "$want_size" ]] || die "pkglayer's rpm records the big file as $got bytes, not $want_size"
            if [[ $VERIFY == 1 ]]; then
                rpm2cpio "$out" | cpio -i --quiet --to-stdout | cmp -s - "$d/stage/opt/bench-big/blob" ||
                    die "pkglayer's rpm does not hold the big file's bytes"
            fi
        else
            if [[ $VERIFY == 1 ]]; then
                dpkg-deb --fsys-tarfile "$out" | tar -xOf - | cmp -s - "$d/stage/opt/bench-big/blob" ||
                    die "pkglayer's deb does not hold the big file's bytes"
            fi
        fi
        [[ $VERIFY == 1 ]] && say "  big: $(label "$tool"): payload matches the file"
        summarise "$t" "$tool" "$d/$tool.runs"
        rm -f "$out"
    done
    rm -rf "$d/stage"
}

# ---------------------------------------------------------------------------------------------
# Image assembly (TREES=IMG).
IMG_TREES=() IMG_DEB_FILES=()
stage_IMG() {
    local d=$WORK/IMG deb n
    mkdir -p "$d/trees" "$d/changed" "$d/members"
    if [[ -z $IMG_DEBS ]]; then
        IMG_DEBS=/var/cache/pkglayer-test/debs
        if (($(ls "$IMG_DEBS"/*.deb 2>/dev/null | wc -l) < IMG_MIN_DEBS)); then
            IMG_DEBS=/var/cache/pkglayer-bench/debs
            mkdir -p "$IMG_DEBS"
            for n in $IMG_DEB_LIST; do
                ls "$IMG_DEBS/${n}_"*.deb >/dev/null 2>&1 && continue
                say "image: apt-get download $n into $IMG_DEBS"
                (cd "$IMG_DEBS" && apt-get download -q "$n" 2>&1 | grep -v unsandboxed >&2) || die "apt-get download $n failed"
            done
        fi
    fi
    local -a debs=("$IMG_DEBS"/*.deb)
    IMG_DEB_FILES=("${debs[@]}")
    ((${#debs[@]} >= 2)) || die "IMG_DEBS=$IMG_DEBS holds no .debs"
    command -v umoci >/dev/null || die "the image benchmark needs umoci (apt-get install umoci)"
    # umoci gets each package's extracted tree (the extraction is not timed: umoci cannot read a .deb).
    for deb in "${debs[@]}"; do
        n=$(basename "$deb" .deb)
        dpkg-deb -x "$deb" "$d/trees/$n"
        IMG_TREES+=("$d/trees/$n")
        # The floor cell's input: the data member as it is in the .deb.
        local member
        member=$(ar t "$deb" | grep -m1 '^data\.tar') || die "$deb has no data.tar member"
        ar p "$deb" "$member" >"$d/members/$n.${member#data.}"
    done
    cat >"$d/floor-one.sh" <<'EOF'
set -o pipefail
case $1 in
    *.xz | *.lzma) d=(xz -dc) ;;
    *.zst) d=(zstd -dc) ;;
    *.gz) d=(gzip -dc) ;;
    *.bz2) d=(bzip2 -dc) ;;
    *) d=(cat) ;;
esac
"${d[@]}" "$2/$1" | gzip -"$4" >"$3/$1.gz"
EOF
    NFILES[IMG]=$(find "$d/trees" -type f | wc -l)
    say "image: ${#debs[@]} packages from $IMG_DEBS, $(du -sm "$d/trees" | cut -f1) MB installed, ${NFILES[IMG]} files"
    # The one-changed image: IMG_CHANGED gets one more file (same name, version and everything else).
    local changed
    changed=$(ls "$IMG_DEBS/${IMG_CHANGED}_"*.deb 2>/dev/null | head -1)
    [[ -n $changed ]] || die "IMG_CHANGED=$IMG_CHANGED is not among the benchmark's .debs"
    # Only the OCI layout, as umoci makes: the archives and the SBOM are further outputs, not assembly.
    { echo "name: bench"; echo "tag: latest"; echo "format: deb"; echo "outputs: [oci-layout]"; echo "packages:"
      for deb in "${debs[@]}"; do echo "  - $deb"; done; } >"$d/bench.yml"
    { echo "name: bench"; echo "tag: latest"; echo "format: deb"; echo "outputs: [oci-layout]"; echo "packages:"
      for deb in "${debs[@]}"; do
          if [[ $deb == "$changed" ]]; then echo "  - $d/changed/$(basename "$deb")"; else echo "  - $deb"; fi
      done; } >"$d/bench-one.yml"
    IMG_CHANGED_DEB=$changed
}

# A fresh variant of the changed package, so each one-changed run has exactly one new layer.
change_one_package() { # run
    local d=$WORK/IMG x=$WORK/IMG/changed/x name
    rm -rf "$x" && dpkg-deb -R "$IMG_CHANGED_DEB" "$x"
    name=$(dpkg-deb -f "$IMG_CHANGED_DEB" Package)
    mkdir -p "$x/usr/share/doc/$name"
    echo "pkglayer benchmark change $1 $(date +%s%N)" >"$x/usr/share/doc/$name/bench-change"
    dpkg-deb --root-owner-group -Zgzip -b "$x" "$d/changed/$(basename "$IMG_CHANGED_DEB")" >/dev/null
    rm -rf "$x"
}

# The compressed bytes a cell produced: the image's layers (umoci, pkglayer) or the floor's gzip files.
img_bytes() { # tool
    local d=$WORK/IMG layout
    case $1 in
        floor-img) find "$d/floor" -name '*.gz' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; return ;;
        umoci-*) layout=$d/${1/-insert/} ;;
        *) layout=$(ls -d "$d/out-${1#pkglayer-img-}"/*.oci 2>/dev/null | head -1) ;;
    esac
    jq -r '.manifests[0].digest' "$layout/index.json" | cut -d: -f2 |
        xargs -I{} jq '[.layers[].size] | add' "$layout/blobs/sha256/{}"
}

check_image() { # tool
    local d=$WORK/IMG layout want
    want=${#IMG_TREES[@]}
    if [[ $1 == floor-img ]]; then
        local n
        n=$(find "$d/floor" -name '*.gz' | wc -l)
        ((n == want)) || die "the floor cell wrote $n gzip files for $want packages"
        gzip -t "$d/floor"/*.gz || die "the floor cell wrote a broken gzip file"
        return
    fi
    if [[ $1 == umoci-* ]]; then
        layout=$d/${1/-insert/}
        oci-image-tool validate --type image "$layout" >/dev/null 2>&1 || die "umoci's layout does not validate"
        [[ $(umoci stat --image "$layout:bench" --json | jq '[.history[] | select(.empty_layer != true)] | length') -ge $want ]] ||
            die "umoci's image has fewer than $want layers"
        return
    fi
    layout=$(ls -d "$d/out-${1#pkglayer-img-}"/*.oci 2>/dev/null | head -1)
    [[ -n $layout ]] || die "$(label "$1") wrote no OCI layout in $d/out-${1#pkglayer-img-}"
    oci-image-tool validate --type image "$layout" >/dev/null || die "$(label "$1"): $layout does not validate"
    local layers
    layers=$(jq -r '.manifests[0].digest' "$layout/index.json" | cut -d: -f2 | xargs -I{} jq '.layers | length' "$layout/blobs/sha256/{}")
    ((layers >= want)) || die "$(label "$1"): $layers layers for $want packages"
}

run_img() {
    local t=IMG d=$WORK/IMG r tool
    local -a tools=(umoci-insert umoci-deb floor-img pkglayer-img-cold pkglayer-img-one pkglayer-img-noop)
    for tool in "${tools[@]}"; do : >"$d/$tool.runs"; done
    if ((WARMUP > 0)); then
        say "image: warm-up (pkglayer cold, checked)"
        rm -rf "$d/cache" "$d/out-cold"
        measure IMG pkglayer-img-cold
        check_image pkglayer-img-cold
    fi
    for ((r = 1; r <= RUNS; r++)); do
        say "image: run $r/$RUNS"
        for tool in "${tools[@]}"; do
            case $tool in
                pkglayer-img-cold) rm -rf "$d/cache" "$d/out-cold" ;;
                pkglayer-img-one) change_one_package "$r"; rm -rf "$d/out-one" ;;
                pkglayer-img-noop)  # the same image again, into the folder of an earlier identical run
                    [[ -d $d/out-noop ]] || { measure IMG pkglayer-img-noop; } ;;
            esac
            measure IMG "$tool"
            ((r == 1)) && check_image "$tool"
            # The size column holds the compressed layers (or the floor's gzip files), not the marker file.
            LAST=$(awk -v z="$(img_bytes "$tool")" '{ $4 = z; print }' <<<"$LAST")
            echo "$LAST" >>"$d/$tool.runs"
            say "  $(printf '%-28s' "$(label "$tool")") $(awk '{ printf "%7.3f s  %6.2f cpu s  %7.1f MB RSS  %6.1f MB  (others %.1f cpu s)", $1, $2, $3 / 1024, $4 / 1048576, $5 }' <<<"$LAST")"
        done
    done
    for tool in "${tools[@]}"; do summarise IMG "$tool" "$d/$tool.runs"; done
    local umoci_mb pk_mb
    umoci_mb=$(du -sm "$d/umoci/blobs" | cut -f1)
    pk_mb=$(du -sm "$d/cache/images/blobs" | cut -f1)
    IMG_NOTE="layers (size MB column): the image's layers, the floor's gzip-$IMG_FLOOR_LEVEL files; on disk: umoci ${umoci_mb} MB (all its intermediate blobs), pkglayer store ${pk_mb} MB${IMG_GZIP_LEVEL:+ at gzip-$IMG_GZIP_LEVEL}"
}

# abs_target NAME KEY LIMIT_S: a median wall time against an absolute limit.
abs_target() {
    local name=$1 key=$2 limit=$3 status
    [[ -n ${MED[$key]:-} ]] || return 0
    status=$(awk -v v="${MED[$key]}" -v t="$limit" 'BEGIN { print (v + 0 <= t + 0) ? "PASS" : "MISS" }')
    RATIO_ROWS+=("$(printf '%-52s %9s %9s  %-4s' "$name" "${MED[$key]}s" "<= ${limit}s" "$status")")
    TSV+=("$(printf 'abs\t%s\t%s\t\t%s\t\t\t\t\t\t%s\t%s\t%s' "${key%%/*}" "$name" "${MED[$key]}" "${MED[$key]}" "$limit" "$status")"$'\t')
}

load1() { cut -d' ' -f1 /proc/loadavg; }
LOAD_START="" BUSY=""

# ratio NAME NUM_KEY DEN_KEY TARGET ("" = informational)
RATIO_ROWS=()
ratio() {
    local name=$1 num=$2 den=$3 target=$4 value cpuv status
    if [[ -z ${MED[$num]:-} || -z ${MED[$den]:-} ]]; then return 0; fi
    value=$(awk -v a="${MED[$num]}" -v b="${MED[$den]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }')
    cpuv=$(awk -v a="${CPU[$num]}" -v b="${CPU[$den]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }')
    if [[ -z $target ]]; then
        status=info
    else
        status=$(awk -v v="$value" -v t="$target" 'BEGIN { print (v != "nan" && v + 0 <= t + 0) ? "PASS" : "MISS" }')
    fi
    RATIO_ROWS+=("$(printf '%-52s %9s %9s  %-4s %9s' "$name" "${value}x" "${target:+<= ${target}x}" "$status" "${cpuv}x")")
    TSV+=("$(printf 'ratio\t%s\t%s\t\t\t\t\t%s\t\t\t%s\t%s\t%s' "${num%%/*}" "$name" "$cpuv" "$value" "$target" "$status")"$'\t')
}

rss_target() { # name key limit_mb
    local name=$1 key=$2 limit=$3 status
    [[ -n ${RSSMB[$key]:-} ]] || return 0
    status=$(awk -v v="${RSSMB[$key]}" -v t="$limit" 'BEGIN { print (v + 0 <= t + 0) ? "PASS" : "MISS" }')
    RATIO_ROWS+=("$(printf '%-52s %9s %9s  %-4s' "$name" "${RSSMB[$key]}MB" "<= ${limit}MB" "$status")")
    TSV+=("$(printf 'rss\t%s\t%s\t\t\t\t\t\t%s\t\t%s\t%s\t%s' "${key%%/*}" "$name" "${RSSMB[$key]}" "${RSSMB[$key]}" "$limit" "$status")"$'\t')
}

# ---------------------------------------------------------------------------------------------
main() {
    ensure_tools
    ensure_pkglayer
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench.XXXXXX")
    trap 'rc=$?; if [[ -n ${KEEP:-} ]]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi; exit $rc' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    LOAD_START=$(load1)
    if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
        BUSY="the machine was busy when the run began: wall times are inflated and noisy; cpu s and the cpu ratios are steadier"
        say "warning: load average $LOAD_START on $(nproc) cores; $BUSY"
    fi
    local commit
    commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    say "pkglayer $PKGLAYER (built $(date -r "$PKGLAYER" '+%Y-%m-%d %H:%M'), repo at $commit); work in $WORK"

    local t
    for t in $TREES; do
        case $t in
            A) stage_A ;;
            B) stage_B ;;
            IMG) stage_IMG; run_img; rm -rf "${WORK:?}/IMG"; continue ;;
            *) die "unknown tree '$t' (trees: A B IMG)" ;;
        esac
        prepare_tree "$t"
        run_tree "$t"
        rm -rf "${WORK:?}/$t"
    done
    ((BIG == 0)) || run_big
    local noop_report=""
    if ((${NOOP:-1} != 0)); then
        say "no-op builds: nginx with its image (scripts/bench/noop.sh)"
        noop_report=$(PKGLAYER=$PKGLAYER NOOP_RUNS=${NOOP_RUNS:-$RUNS} "$SCRIPT_DIR/bench/noop.sh") || die "the no-op benchmark failed"
    fi
    local cache_report=""
    if ((${CACHE:-1} != 0)); then
        say "registry build cache: two runners (scripts/bench/cache.sh)"
        cache_report=$(PKGLAYER=$PKGLAYER "$SCRIPT_DIR/bench/cache.sh") || die "the build cache benchmark failed"
    fi
    local publish_report=""
    if ((${PUBLISH:-1} != 0)); then
        say "publishing signed yum and apt repositories (scripts/bench/publish.sh)"
        publish_report=$(PKGLAYER=$PKGLAYER PUBLISH_RUNS=${PUBLISH_RUNS:-$RUNS} "$SCRIPT_DIR/bench/publish.sh") || die "the publish benchmark failed"
    fi
    local registry_report=""
    if ((REGISTRY != 0)); then
        say "registry: push and pull against skopeo copy (scripts/bench/registry.sh)"
        PKGLAYER=$PKGLAYER REG_RUNS=${REG_RUNS:-$RUNS} REG_TSV=$WORK/registry.tsv "$SCRIPT_DIR/bench/registry.sh" >"$WORK/registry.txt" ||
            die "the registry benchmark failed"
        registry_report=$(cat "$WORK/registry.txt")
        [[ ! -s $WORK/registry.tsv ]] || mapfile -t -O "${#TSV[@]}" TSV <"$WORK/registry.tsv"
    fi

    ratio "A: pkglayer rpm / rpmbuild (gzip-$GZIP_LEVEL)" A/pkglayer-rpm-gz A/rpmbuild-gz 0.35
    ratio "B: pkglayer rpm / rpmbuild (gzip-$GZIP_LEVEL)" B/pkglayer-rpm-gz B/rpmbuild-gz 0.15
    ratio "A: pkglayer rpm / tar|pigz -p$THREADS" A/pkglayer-rpm-gz A/tar-pigz 0.75
    ratio "A: pkglayer deb / dpkg-deb (gzip-$GZIP_LEVEL)" A/pkglayer-deb-gz A/dpkg-deb-gz 0.40
    ratio "B: pkglayer deb / dpkg-deb (gzip-$GZIP_LEVEL)" B/pkglayer-deb-gz B/dpkg-deb-gz 0.6
    ratio "A: pkglayer rpm / rpmbuild (zstd-$ZSTD_LEVEL, T$THREADS)" A/pkglayer-rpm-zst A/rpmbuild-zst ""
    ratio "B: pkglayer rpm / rpmbuild (zstd-$ZSTD_LEVEL, T$THREADS)" B/pkglayer-rpm-zst B/rpmbuild-zst ""
    ratio "A: pkglayer rpm / tar|gzip" A/pkglayer-rpm-gz A/tar-gzip ""
    ratio "B: pkglayer rpm / tar|gzip" B/pkglayer-rpm-gz B/tar-gzip ""
    ratio "B: pkglayer rpm / tar|pigz -p$THREADS" B/pkglayer-rpm-gz B/tar-pigz ""
    ratio "IMG: pkglayer image cold / umoci insert (${#IMG_TREES[@]} debs)" IMG/pkglayer-img-cold IMG/umoci-insert 1.0
    ratio "IMG: pkglayer image cold / dpkg-deb -x + umoci insert" IMG/pkglayer-img-cold IMG/umoci-deb 0.5
    ratio "IMG: pkglayer image cold / floor (xz -dc|gzip -$IMG_FLOOR_LEVEL, -P2)" IMG/pkglayer-img-cold IMG/floor-img 1.2
    ratio "IMG: one package changed / cold" IMG/pkglayer-img-one IMG/pkglayer-img-cold 0.1
    abs_target "IMG: no-op image (nothing changed)" IMG/pkglayer-img-noop 0.3
    rss_target "IMG: pkglayer image cold peak RSS (${#IMG_TREES[@]} debs)" IMG/pkglayer-img-cold 100
    rss_target "BIG: pkglayer rpm gzip peak RSS with a ${BIG_MB} MiB file" BIG/pkglayer-rpm-gz 100
    rss_target "BIG: pkglayer deb gz peak RSS with a ${BIG_MB} MiB file" BIG/pkglayer-deb-gz 100
    rss_target "BIG: pkglayer rpm zstd peak RSS with a ${BIG_MB} MiB file" BIG/pkglayer-rpm-zst 100

    echo
    echo "pkglayer benchmark  $(date '+%Y-%m-%d %H:%M')  repo $commit  $(nproc) cores  runs=$RUNS (+$WARMUP warm-up)"
    echo "  $(rpmbuild --version | head -1); dpkg-deb $(dpkg-deb --version | head -1 | grep -o 'version [0-9.]*' | cut -d' ' -f2); $(pigz --version 2>&1); $(gzip --version | head -1)"
    echo "  load average (1 min) at start $LOAD_START, at end $(load1)${BUSY:+  -- $BUSY}"
    echo "  A = $TREE_A_SRC   B = $(basename "$PHP_TARBALL" .tar.xz) source   BIG = one ${BIG_MB} MiB file"
    [[ -z ${IMG_NOTE:-} ]] || echo "  IMG = ${#IMG_TREES[@]} .debs from $IMG_DEBS; $IMG_NOTE"
    echo "  seconds are medians of wall time; cpu s = the tool's user+sys (median); peak RSS is the largest"
    echo "  process's, highest over the runs; others s = CPU the rest of the machine used during a run"
    echo "  (median; near 0 on a quiet machine, large when other work competed for the $(nproc) cores)"
    echo
    printf '%-4s %-28s %4s %9s %17s %8s %9s %9s %8s\n' tree tool runs "median s" "min-max s" "cpu s" "RSS MB" "size MB" "others s"
    printf '%s\n' "${ROWS[@]}"
    echo
    printf '%-52s %9s %9s  %-4s %9s\n' "target (wall-time ratio of medians)" "measured" "target" "res." "cpu ratio"
    printf '%s\n' "${RATIO_ROWS[@]}"
    [[ -z $registry_report ]] || printf '%s\n' "$registry_report"
    [[ -z $noop_report ]] || printf '%s\n' "$noop_report"
    [[ -z $cache_report ]] || printf '%s\n' "$cache_report"
    [[ -z $publish_report ]] || printf '%s\n' "$publish_report"

    if [[ -n $BENCH_TSV ]]; then
        local tsv=$BENCH_TSV
        case ${tsv,,} in 1 | yes | true) tsv=$INVOKE_DIR/bench-results.tsv ;; esac
        [[ $tsv == /* ]] || tsv=$INVOKE_DIR/$tsv
        {
            printf 'kind\ttree\tsubject\truns\tmedian_s\tmin_s\tmax_s\tcpu_s\tpeak_rss_mb\tsize_bytes\tvalue\ttarget\tstatus\tothers_cpu_s\n'
            printf '%s\n' "${TSV[@]}"
        } >"$tsv"
        echo
        echo "TSV written to $tsv"
    fi
}

main "$@"
