#!/usr/bin/env bash
# The README's test command: install what the tests need, build, and run every test.
# Tests check outputs with the real consumers (rpm, dpkg, lintian, rpmlint, tar, cpio).
#
# PKGLAYER_REQUIRE_ALL=1: a test whose tool, fixture or machine condition is missing FAILS instead of
# skipping (Tests/PkgLayerTestSupport/Requirements.swift), so a machine without skopeo, runc, rpm,
# lintian, … cannot report green. Opt-in tests still skip unless their variable is set:
# PKGLAYER_RPM_LARGE_TESTS=1 (a 4 GiB rpm) and PKGLAYER_OCI_BENCH=1 (the assembly benchmark).
#
# The last line is `N passed, N failed, N skipped`; the exit status is swift test's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests

export PKGLAYER_REQUIRE_ALL=1
log=$(mktemp "${TMPDIR:-/tmp}/pkglayer-test.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?

# XCTest ends with the suite of everything it ran ('All tests', or 'Selected tests' under --filter):
#   Test Suite 'All tests' failed at 2026-01-01 00:00:00.000
#        Executed 812 tests, with 3 tests skipped and 2 failures (0 unexpected) in 301.2 (301.5) seconds
# "executed" comes from that line. Its "N failures" counts failed assertions, not tests, and its
# "N skipped" also counts a test whose setUp threw an error (XCTest reports it failed, and skipped), so
# failed and skipped tests are counted from the one line XCTest prints per test ("Test Case '…' failed (",
# "… skipped ("), and passed = executed - skipped - failed.
summary=$(grep -A1 -E "^Test Suite '(All tests|Selected tests)' (passed|failed)" "$log" | grep -E 'Executed [0-9]+ tests?' | tail -n 1 || true)
failed=$(grep -cE "^Test Case '.*' failed \(" "$log" || true)
skipped=$(grep -cE "^Test Case '.*' skipped \(" "$log" || true)
if [ -n "$summary" ]; then
  executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
  assertion_failures=$(sed -E 's/.* ([0-9]+) failures? \(.*/\1/' <<<"$summary")
  # Failures with no "Test Case … failed" line (it should not happen) still count.
  if [ "$failed" -eq 0 ] && [ "$assertion_failures" -gt 0 ]; then failed=$assertion_failures; fi
  passed=$((executed - skipped - failed))
  [ "$passed" -ge 0 ] || passed=0
else
  # No summary: the test process died (a crash, a signal) or the output is not XCTest's. Count what ran.
  echo "test.sh: no XCTest summary line in the output (swift test exited $status)" >&2
  passed=$(grep -cE "^Test Case '.*' passed \(" "$log" || true)
  [ "$status" -ne 0 ] || status=1
  [ "$failed" -gt 0 ] || failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
