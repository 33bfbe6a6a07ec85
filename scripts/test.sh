#!/usr/bin/env bash
# The README's test command: install what the tests need, build, and run every test.
# Tests check outputs with the real consumers (rpm, dpkg, lintian, rpmlint, tar, cpio).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
