#!/usr/bin/env bash
# LNMP without a daemon: build php-fpm and nginx (with its LNMP configuration) from source into
# packages and images, unpack both images with umoci, run them with runc in one network namespace
# (nginx joins php-fpm's, as `docker run --net container:php` does) and fetch the PHP page through
# nginx. Run as root from anywhere; see README.md beside this file.
#
#   PKGLAYER    the pkglayer binary (default: .build/release/pkglayer, else .build/debug/pkglayer)
#   PHP_RECIPE  recipes/php-fpm-slim.yml (default, builds in minutes) or recipes/php-fpm.yml (full)
#   OUT         where packages and images go (default: out/lnmp)
#   KEEP=1      leave both containers running (stop them with `runc kill lnmp-nginx QUIT` and
#               `runc kill lnmp-php QUIT`, then `runc delete` each)
set -euo pipefail
cd "$(dirname "$0")/../.."

PKGLAYER=${PKGLAYER:-}
if [ -z "$PKGLAYER" ]; then
  if [ -x .build/release/pkglayer ]; then PKGLAYER=.build/release/pkglayer; else PKGLAYER=.build/debug/pkglayer; fi
fi
PHP_RECIPE=${PHP_RECIPE:-recipes/php-fpm-slim.yml}
OUT=${OUT:-out/lnmp}
# The pinned source tarballs, offline, when ../shared/sources holds them; otherwise they are downloaded.
if [ -z "${PKGLAYER_SOURCES:-}" ] && [ -d ../shared/sources ]; then
  PKGLAYER_SOURCES=$(cd ../shared/sources && pwd); export PKGLAYER_SOURCES
fi
for tool in umoci runc jq curl nsenter; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install umoci runc jq curl util-linux)" >&2; exit 1; }
done

# 1. Packages and images. Each build prints what it wrote; the OCI layout is NAME-TAG.oci.
"$PKGLAYER" build "$PHP_RECIPE" -o "$OUT"
"$PKGLAYER" build recipes/nginx-lnmp.yml -o "$OUT"
php_name=$(basename "$PHP_RECIPE" .yml)   # php-fpm-slim or php-fpm: the image's name, tagged with PHP's version
php_tag=8.2.32
php_layout="$OUT/$php_name-$php_tag.oci"
nginx_layout="$OUT/nginx-lnmp-1.22.1.oci"

# 2. Runtime bundles: rootfs + config.json. umoci's config grants three capabilities and a user
#    namespace; give both Docker's default capability set instead (nginx and php-fpm start as root
#    and switch their workers to nginx and www-data), no user namespace, and no terminal.
work=$(mktemp -d /tmp/lnmp.XXXXXX)
umoci unpack --image "$php_layout:$php_tag" "$work/php" >/dev/null
umoci unpack --image "$nginx_layout:1.22.1" "$work/nginx" >/dev/null
caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]'
configure() { # BUNDLE JQ-FILTER
  jq --argjson caps "$caps" '
    .process.terminal = false
    | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
    | .linux.namespaces |= map(select(.type != "user"))
    | del(.linux.uidMappings, .linux.gidMappings)
    | '"$2" "$1/config.json" >"$1/config.json.new"
  mv "$1/config.json.new" "$1/config.json"
}

# 3. php-fpm first, in a network namespace of its own (runc creates it with only lo, up).
configure "$work/php" '.'
stop() {
  for id in lnmp-nginx lnmp-php; do
    runc kill "$id" QUIT 2>/dev/null || true
    for _ in $(seq 50); do runc delete "$id" 2>/dev/null && break; sleep 0.1; done
    runc delete -f "$id" 2>/dev/null || true
  done
  rm -rf "$work"
}
[ "${KEEP:-}" = 1 ] || trap stop EXIT
runc run --detach --bundle "$work/php" lnmp-php </dev/null >"$work/php.log" 2>&1
php_pid=$(runc state lnmp-php | jq -r .pid)
netns=/proc/$php_pid/ns/net

# 4. nginx joins that namespace: 127.0.0.1:9000 in nginx.conf's fastcgi_pass is php-fpm.
configure "$work/nginx" '.linux.namespaces |= map(if .type == "network" then .path = "'"$netns"'" else . end)'
runc run --detach --bundle "$work/nginx" lnmp-nginx </dev/null >"$work/nginx.log" 2>&1

# 5. The page, through nginx on port 80 of the shared namespace: PHP's output, not its source.
page=
for _ in $(seq 100); do
  page=$(nsenter --net="$netns" curl -sf http://127.0.0.1/index.php) && break
  sleep 0.1
done
echo "GET http://127.0.0.1/index.php -> $page"
echo "--- php-fpm's log"; cat "$work/php.log"
echo "--- nginx's log"; cat "$work/nginx.log"
case "$page" in
  *"sum=42"*) echo "LNMP works: nginx passed index.php to php-fpm over FastCGI" ;;
  *) echo "run.sh: the page did not come back from PHP" >&2; exit 1 ;;
esac
if [ "${KEEP:-}" = 1 ]; then
  echo "still running: runc list; curl with: nsenter --net=$netns curl http://127.0.0.1/index.php"
fi
