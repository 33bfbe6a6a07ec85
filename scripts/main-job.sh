#!/usr/bin/env bash
# The README's main job: set up, then `pkglayer build recipes/nginx.yml`, ending in an rpm and a deb
# (and their nginx-doc companions) and the nginx image (OCI layout, oci-archive, docker-archive, SBOM)
# under out/. Sources come from ../shared/sources offline; the image's runtime closure (libc6,
# libssl3, …) is resolved from the host's apt sources, verified against Debian's keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
export PKGLAYER_SOURCES="${PKGLAYER_SOURCES:-$(cd .. && pwd)/shared/sources}"
.build/release/pkglayer build recipes/nginx.yml -o out
rpm -K out/nginx-1.22.1-1.*.rpm
dpkg-deb -f out/nginx_1.22.1-1_*.deb Package Version Depends
oci-image-tool validate --type image out/nginx-1.22.1.oci
skopeo inspect --config oci:out/nginx-1.22.1.oci:1.22.1 | jq -r '.history[].created_by'
skopeo inspect docker-archive:out/nginx-1.22.1.docker.tar | jq -r .Digest
