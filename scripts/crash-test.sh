#!/usr/bin/env bash
# The full form of the crash-safety tests: kill -9 at POINTS points (default 20) spread over runs of
# `pkglayer package`, `build`, `image` and `push`; after each kill, every file under a final name must
# have the uninterrupted run's bytes, the next identical command must succeed with the same bytes, and
# the dead run's work directories and temporary files must be gone. CI runs the same tests with 3 points.
#
#   bash scripts/crash-test.sh [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
points="${1:-20}"
swift build --build-tests
log=$(mktemp "${TMPDIR:-/tmp}/pkglayer-crash.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
PKGLAYER_REQUIRE_ALL=1 PKGLAYER_CRASH_POINTS="$points" swift test --skip-build --filter 'CrashSafetyTests|PushCrashTests' 2>&1 | tee "$log" || status=$?
commands=4
grep -E "^crash-safety " "$log" || true
echo "kill points: $points per command, $((points * commands)) in all"
echo "leftovers and mismatched reruns: $(grep -cE "error: .*(left|partial|differs|rerun)" "$log" || true)"
exit "$status"
