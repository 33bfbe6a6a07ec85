#!/usr/bin/env bash
# The README's main job: set up, then `pkglayer build recipes/nginx.yml`, ending in an rpm and a deb
# (and their nginx-doc companions) under out/. Sources come from ../shared/sources offline; on a
# machine with internet access pkglayer would download the pinned upstream URLs instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
export PKGLAYER_SOURCES="${PKGLAYER_SOURCES:-$(cd .. && pwd)/shared/sources}"
.build/release/pkglayer build recipes/nginx.yml -o out
rpm -K out/nginx-1.22.1-1.*.rpm
dpkg-deb -f out/nginx_1.22.1-1_*.deb Package Version Depends
