#!/usr/bin/env bash
# scripts/fuzz.sh [TARGET|all] [SECONDS]: builds pkglayer's fuzz targets (libFuzzer + AddressSanitizer,
# an opt-in build that the normal `swift build` never sees) and runs each for SECONDS (default 60;
# 0 only builds), one after the other, one fuzzer process at a time, at the lowest CPU priority.
#
# TARGET: rpm deb archive recipe apt yum oci registry, or all (the default). docs/fuzzing.md says what
# each target feeds to which reader.
#
# Everything lives under .build-fuzz (git-ignored): SwiftPM's build, and under .build-fuzz/fuzz (not
# beside SwiftPM's own directories: SwiftPM empties .build-fuzz/artifacts on every build) seeds/TARGET
# (from Fuzz/make-seeds.sh), corpus/TARGET (kept between runs), findings/TARGET (crash-*, timeout-*,
# oom-* and their minimised min-* copies), logs/TARGET.log. Per target it prints executions,
# libFuzzer's coverage (cov: edges, ft: features) from the final stats line, and the findings.
#
# Environment:
#   FUZZ_BUILD=0        skip the build (run what is built)
#   FUZZ_KEEP_GOING=1   do not stop at the first finding (libFuzzer's -fork=1 -ignore_crashes=1 …;
#                       still one fuzzing process at a time)
#   FUZZ_ARGS="…"       more libFuzzer flags
#   FUZZ_SANITIZERS     default "fuzzer address"; "fuzzer" alone if ASan misbehaves (a different set
#                       rebuilds everything)
set -uo pipefail
cd "$(dirname "$0")/.."

ALL=(rpm deb archive recipe apt yum oci registry load)
target=${1:-all}
seconds=${2:-60}
scratch=.build-fuzz
work=$scratch/fuzz
read -r -a sanitizers <<< "${FUZZ_SANITIZERS:-fuzzer address}"

product() {
    case $1 in
    rpm) echo FuzzRPM ;; deb) echo FuzzDeb ;; archive) echo FuzzArchive ;; recipe) echo FuzzRecipe ;;
    apt) echo FuzzApt ;; yum) echo FuzzYum ;; oci) echo FuzzOCI ;; registry) echo FuzzRegistry ;; load) echo FuzzLoad ;;
    *) echo "fuzz.sh: unknown target '$1' (${ALL[*]} or all)" >&2; exit 2 ;;
    esac
}

if [ "$target" = all ]; then targets=("${ALL[@]}"); else product "$target" >/dev/null; targets=("$target"); fi
mkdir -p "$work/logs"

build() {
    # SwiftPM's --sanitize fuzzer keeps libFuzzer's main (without it SwiftPM links main to the target's
    # own empty entry point and the binary exits at once). But --sanitize fuzzer --sanitize address
    # hands swiftc two -sanitize= flags, of which swiftc keeps only the last (in SwiftPM's set order),
    # so half the modules silently lack coverage or ASan: the full list goes to swiftc once more,
    # after SwiftPM's, and the other sanitizers to clang (which adds up -fsanitize flags).
    local list
    list=$(IFS=,; echo "${sanitizers[*]}")
    local flags=(--sanitize fuzzer -Xswiftc "-sanitize=$list")
    for s in "${sanitizers[@]}"; do [ "$s" = fuzzer ] || flags+=(-Xcc "-fsanitize=$s"); done
    for t in "${targets[@]}"; do
        echo "building $(product "$t") …"
        # -enable-testing: the yum, apt, OCI and registry targets reach internal parsers with @testable import.
        if ! PKGLAYER_FUZZ=1 nice -n 19 swift build --scratch-path "$scratch" -c release "${flags[@]}" -Xswiftc -enable-testing \
                --product "$(product "$t")" > "$work/logs/build-$t.log" 2>&1; then
            grep -E "error" "$work/logs/build-$t.log" | head -20
            echo "fuzz.sh: building $(product "$t") failed; see $work/logs/build-$t.log" >&2
            exit 1
        fi
    done
}

# The final "#N DONE cov: … ft: …" line, or the last status line before a finding.
stat_field() { grep -oE "$1: [0-9]+" <<< "$2" | tail -1 | awk '{print $2}'; }

run() {
    local t=$1 binary corpus artifacts tmp log before
    binary="$scratch/release/$(product "$t")"
    corpus="$work/corpus/$t"; artifacts="$work/findings/$t"; tmp="$work/tmp/$t"; log="$work/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$tmp"
    if [ ! -d "$work/seeds/$t" ]; then
        nice -n 19 Fuzz/make-seeds.sh "$t" "$work/seeds/$t" >/dev/null || true
    fi
    cp -n "$work/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    # One process (no -jobs/-workers: with -jobs=1 libFuzzer already forks a worker and logs to ./fuzz-0.log).
    local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
                -detect_leaks=0 -artifact_prefix="$artifacts/")
    [ -f "Fuzz/Dictionaries/$t.dict" ] && args+=(-dict="Fuzz/Dictionaries/$t.dict")
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && args+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    # Foundation's XMLParser leaks the error strings of every malformed document (~150 bytes each, more
    # under ASan): in one process the yum target passes -rss_limit_mb within two minutes. libFuzzer's
    # fork mode runs it in child processes that live at most a few minutes each (still one at a time).
    [ "$t" = yum ] && args+=(-fork=1)
    # shellcheck disable=SC2206
    args+=(${FUZZ_ARGS:-})
    before=$(ls "$artifacts" | grep -E '^(crash|timeout|oom|leak|slow-unit)-' | sort)
    echo "running $t for ${seconds}s (corpus $(ls "$corpus" | wc -l) inputs) …"
    # The Swift runtime's backtracer would answer the fatal signal first; libFuzzer and ASan report instead.
    TMPDIR="$PWD/$tmp" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:symbolize=1:${ASAN_OPTIONS:-}" \
        nice -n 19 "$binary" "${args[@]}" "$corpus" > "$log" 2>&1
    local status=$?
    rm -rf "$tmp"
    local text runs stats
    text=$(cat "$log")
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' <<< "$text" | awk '{print $2}')
    [ -n "$runs" ] || runs=$(grep -oE '^Done [0-9]+ runs' <<< "$text" | awk '{print $2}')
    [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' <<< "$text" | tail -1 | tr -d '#')
    stats=$(grep -E '^#[0-9]+.*cov: ' <<< "$text" | tail -1)
    local new
    new=$(comm -13 <(echo "$before") <(ls "$artifacts" | grep -E '^(crash|timeout|oom|leak|slow-unit)-' | sort) | grep -v '^$' || true)
    local findings=0
    [ -n "$new" ] && findings=$(wc -l <<< "$new")
    printf '%-9s executions %-9s cov %-6s ft %-7s corpus %-5s exec/s %-6s findings %s (exit %s)\n' "$t" "${runs:-?}" \
        "$(stat_field cov "$stats")" "$(stat_field ft "$stats")" "$(ls "$corpus" | wc -l)" "$(stat_field 'exec/s' "$stats")" "$findings" "$status"
    grep -h '^fuzz-note:' "$log" | sort -u | head -5
    for f in $new; do
        echo "  finding: $artifacts/$f"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz-oracle|Fatal error|.*Fatal error:)' "$log" | head -3 | sed 's/^/    /'
        case $f in crash-*|timeout-*)
            echo "  minimising into $artifacts/min-$f …"
            mkdir -p "$tmp"
            TMPDIR="$PWD/$tmp" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0" nice -n 19 "$binary" -minimize_crash=1 -runs=20000 \
                -timeout=10 -rss_limit_mb=2048 -exact_artifact_path="$artifacts/min-$f" "$artifacts/$f" > "$work/logs/$t-minimize.log" 2>&1
            rm -rf "$tmp"
            [ -f "$artifacts/min-$f" ] && echo "    $(stat -c %s "$artifacts/min-$f") bytes, base64 $(base64 -w0 "$artifacts/min-$f" | head -c 400)"
            ;;
        esac
    done
}

[ "${FUZZ_BUILD:-1}" = 1 ] && build
[ "$seconds" -gt 0 ] || exit 0   # 0 seconds: build only (libFuzzer's -max_total_time=0 would mean forever)
for t in "${targets[@]}"; do run "$t"; done
