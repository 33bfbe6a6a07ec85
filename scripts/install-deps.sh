#!/usr/bin/env bash
# Installs the system packages pkglayer builds against and the real tools its tests check outputs with.
# Safe to run again: apt-get skips what is installed.
set -euo pipefail

packages=(
  # build: the C libraries behind the Archive and RPM rooms
  pkg-config librpm-dev libarchive-dev zlib1g-dev liblzma-dev libzstd-dev libdeflate-dev
  # the real consumers that tests and the benchmark use
  rpm rpm2cpio rpmlint cpio dpkg-dev lintian binutils tar gzip pigz xz-utils zstd
  libcap2-bin attr time
  # pkglayer build: the sandbox, patches, and the toolchain + libraries the shipped recipes declare
  bubblewrap patch gcc make libc6-dev libpcre2-dev libssl-dev zlib1g-dev libcurl4
  # images: the real consumers of OCI layouts and archives
  umoci skopeo runc oci-image-tool busybox-static jq
  # tests: a loopback HTTP server for source downloads, a venv for the SBOM validator, curl to ask the
  # nginx image for its page, useradd for the recipe account scripts
  python3 python3-venv curl passwd
  # package repositories: InRelease / repomd.xml signatures, a yum repository of our own rpms
  gpg gpgv debian-archive-keyring createrepo-c
  # signing and publishing (#14): the real clients that check signed packages and repositories, and the
  # peers the publish benchmark compares against (createrepo_c above; apt-ftparchive in apt-utils)
  dnf debsig-verify apt-utils rpm-common
  # the registry client's tests and benchmark: a real registry, htpasswd (bcrypt), a CA made with openssl
  docker-registry apache2-utils openssl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The apt lists (the repository tests mirror the host's signed InRelease files on loopback, and the
# .deb downloads below ask apt-cache for versions): fetch them if this machine has none yet.
if ! ls /var/lib/apt/lists/*_InRelease >/dev/null 2>&1; then
  echo "install-deps: no apt lists yet; running apt-get update"
  $SUDO apt-get update -qq
fi

# The SPDX 2.3 validator the SBOM test runs (PyPI's spdx-tools, in its own venv).
spdx=/opt/pkglayer-spdx
if [ ! -x "$spdx/bin/pyspdxtools" ]; then
  echo "install-deps: installing spdx-tools into $spdx"
  $SUDO python3 -m venv "$spdx"
  $SUDO "$spdx/bin/pip" install -q spdx-tools==0.8.5
fi

# check-jsonschema validates the CI files `pkglayer graph` writes against the published GitHub Actions
# and GitLab CI schemas, offline (it ships them).
schemas=/opt/pkglayer-check-jsonschema
if [ ! -x "$schemas/bin/check-jsonschema" ]; then
  echo "install-deps: installing check-jsonschema into $schemas"
  $SUDO python3 -m venv "$schemas"
  $SUDO "$schemas/bin/pip" install -q check-jsonschema
fi

# Real Debian bookworm packages for the apt repository tests (the runtime closure of the nginx image),
# as bookworm/main has them, so a loopback mirror of the host's real, signed InRelease can serve them.
# Fetched once through apt, like apt-get install; the tests themselves stay on 127.0.0.1.
debs=/var/cache/pkglayer-test/debs
$SUDO mkdir -p "$debs"
for p in libc6 libgcc-s1 gcc-12-base libssl3 libpcre2-8-0 zlib1g libcrypt1; do
  version=$(apt-cache madison "$p" | awk -F'|' '$3 ~ / bookworm\/main / { gsub(/ /, "", $2); print $2; exit }')
  [ -n "$version" ] || { echo "install-deps: $p is not in bookworm/main (apt-get update?)" >&2; continue; }
  ls "$debs/${p}_"*"_"*.deb >/dev/null 2>&1 && continue
  (cd "$debs" && $SUDO apt-get download -q "$p=$version" 2>&1 | grep -v "unsandboxed" || true)
done

# The same packages at the host's candidate versions (bookworm-security/-updates may be newer than
# bookworm/main): the nginx image test mirrors the host's own apt sources on loopback and resolves
# exactly what `pkglayer build recipes/nginx.yml` resolves on this machine.
candidates=/var/cache/pkglayer-test/debs-candidate
$SUDO mkdir -p "$candidates"
for p in libc6 libgcc-s1 gcc-12-base libssl3 libpcre2-8-0 zlib1g libcrypt1; do
  version=$(apt-cache policy "$p" | awk '/Candidate:/ { print $2; exit }')
  [ -n "$version" ] && [ "$version" != "(none)" ] || continue
  ls "$candidates/${p}_${version/:/%3a}_"*.deb >/dev/null 2>&1 && continue
  (cd "$candidates" && $SUDO apt-get download -q "$p=$version" 2>&1 | grep -v "unsandboxed" || true)
done
