#!/usr/bin/env bash
# The README's main job, until recipes land: package a small staged tree as rpm and deb with
# `pkglayer package` (fpm's flags), then show that the real rpm and dpkg accept the results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
bin=.build/release/pkglayer

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/usr/bin" "$root/etc/hello" "$root/usr/share/doc/hello"
printf '#!/bin/sh\necho "hello from pkglayer"\n' > "$root/usr/bin/hello"
chmod 0755 "$root/usr/bin/hello"
echo "greeting=hello" > "$root/etc/hello/hello.conf"
echo "A tiny demo package." > "$root/usr/share/doc/hello/README"
printf 'echo "installed hello $1"\n' > "$work/after-install.sh"

mkdir -p out
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} "$bin" package -s dir -t rpm -t deb \
  -n hello -v 1.0 --iteration 1 -a native -m "pkglayer <pkglayer@example.org>" --license MIT \
  --description "Demo package made by pkglayer" --url https://example.org/hello \
  --after-install "$work/after-install.sh" -C "$root" -p out/ -f .

rpm -K out/hello-1.0-1.*.rpm
rpm -qpil out/hello-1.0-1.*.rpm
dpkg-deb -I out/hello_1.0-1_*.deb
dpkg-deb -c out/hello_1.0-1_*.deb
ls -l out/
