#!/usr/bin/env bash
# The registry section of scripts/bench.sh: pkglayer push/pull against `skopeo copy` on the same image
# and the same local registry (docker-registry, TLS with a private CA, htpasswd bcrypt auth), in one run.
#
#   PKGLAYER=.build/release/pkglayer scripts/bench/registry.sh
#
# Settings (environment):
#   PKGLAYER=path          the binary to time (required)
#   REG_RUNS=3             timed runs per cell (medians are reported)
#   REG_TREES="..."        directories stacked as layers with umoci (default: perl's library and the
#                          Swift toolchain's static libraries, about 60 MB compressed)
#   REG_TSV=path           append TSV lines (bench.sh's columns) to this file
#
# Each push goes to a registry whose storage was just emptied (so every blob is uploaded), each pull
# into an empty directory. "repeat push" is a push of the same image again: it should send 0 blob
# bytes; the bytes come from pkglayer's own count and the upload requests from the registry's log.
set -euo pipefail

PKGLAYER=${PKGLAYER:?set PKGLAYER to the pkglayer binary}
REG_RUNS=${REG_RUNS:-3}
REG_TREES=${REG_TREES:-"/usr/lib/x86_64-linux-gnu/perl /opt/swift/usr/lib/swift_static"}
REG_TSV=${REG_TSV:-}

say() { printf '[bench registry %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench registry: error: %s\n' "$*" >&2; exit 1; }

for tool in docker-registry htpasswd openssl skopeo umoci python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[[ -x $PKGLAYER ]] || die "PKGLAYER=$PKGLAYER is not executable"
[[ $REG_RUNS =~ ^[1-9][0-9]*$ ]] || die "REG_RUNS must be a positive whole number"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkglayer-bench-registry-XXXXXX")
REG_PID=
cleanup() {
    [[ -z $REG_PID ]] || kill "$REG_PID" 2>/dev/null || true
    [[ -z $REG_PID ]] || wait "$REG_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT
USER_NAME=bench
PASSWORD=bench-$RANDOM$RANDOM
mkdir -p "$WORK/certs" "$WORK/docker"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/ca.key" -out "$WORK/certs/ca.crt" \
    -days 1 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/server.key" -out "$WORK/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/certs/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -out "$WORK/server.crt" \
    -days 1 -extfile "$WORK/server.ext" 2>/dev/null
htpasswd -Bbn "$USER_NAME" "$PASSWORD" >"$WORK/htpasswd"
cat >"$WORK/config.yml" <<YML
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $WORK/data
http:
  addr: $HOST
  secret: bench
  tls:
    certificate: $WORK/server.crt
    key: $WORK/server.key
auth:
  htpasswd:
    realm: bench
    path: $WORK/htpasswd
YML

start_registry() { # a registry with empty storage
    if [[ -n $REG_PID ]]; then kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK/data"
    docker-registry serve "$WORK/config.yml" >>"$WORK/registry.log" 2>&1 &
    REG_PID=$!
    local i
    for i in $(seq 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null; then return; fi
        sleep 0.1
    done
    die "the registry did not start (see $WORK/registry.log)"
}

say "building the image (umoci, layers: $REG_TREES)"
LAYOUT=$WORK/image
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:bench"
for tree in $REG_TREES; do
    [[ -d $tree ]] || die "REG_TREES: $tree is not a directory"
    umoci insert --rootless --image "$LAYOUT:bench" "$tree" "/layers$tree" >/dev/null
done
IMAGE_MB=$(du -sm "$LAYOUT/blobs" | cut -f1)

export DOCKER_CONFIG=$WORK/docker PKGLAYER_CACHE=$WORK/cache
TLS=(--ca-cert "$WORK/certs/ca.crt")
SK_TLS=(--dest-cert-dir "$WORK/certs" --dest-creds "$USER_NAME:$PASSWORD")
SK_SRC_TLS=(--src-cert-dir "$WORK/certs" --src-creds "$USER_NAME:$PASSWORD")
start_registry
printf '%s\n' "$PASSWORD" | "$PKGLAYER" login "$HOST" -u "$USER_NAME" --password-stdin "${TLS[@]}" >/dev/null

declare -A TIMES
timed() { # cell command...
    local cell=$1 start end
    shift
    start=$(date +%s.%N)
    "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; die "$cell failed"; }
    end=$(date +%s.%N)
    TIMES[$cell]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') "
}

REPEAT_BYTES=()
REPEAT_UPLOADS=()
for run in $(seq "$REG_RUNS"); do
    say "run $run/$REG_RUNS"
    start_registry
    timed "push pkglayer" "$PKGLAYER" push "oci:$LAYOUT:bench" "$HOST/bench/app:1" "${TLS[@]}"
    mark=$(wc -l <"$WORK/registry.log")
    timed "repeat push pkglayer" "$PKGLAYER" push "oci:$LAYOUT:bench" "$HOST/bench/app:1" "${TLS[@]}"
    REPEAT_BYTES+=("$(grep -o 'uploaded ([0-9]* bytes)' "$WORK/err" | grep -o '[0-9]*')")
    REPEAT_UPLOADS+=("$(tail -n +"$((mark + 1))" "$WORK/registry.log" | grep -cE '"(POST|PATCH|PUT) [^"]*/blobs/uploads/' || true)")
    rm -rf "$WORK/pull-pk" "$WORK/pull-sk"
    timed "pull pkglayer" "$PKGLAYER" pull "$HOST/bench/app:1" --output "oci:$WORK/pull-pk:bench" "${TLS[@]}"
    timed "pull skopeo" skopeo copy -q "${SK_SRC_TLS[@]}" "docker://$HOST/bench/app:1" "oci:$WORK/pull-sk:bench"
    start_registry
    timed "push skopeo" skopeo copy -q "${SK_TLS[@]}" "oci:$LAYOUT:bench" "docker://$HOST/bench/app:1"
    timed "repeat push skopeo" skopeo copy -q "${SK_TLS[@]}" "oci:$LAYOUT:bench" "docker://$HOST/bench/app:1"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "registry: push/pull of a ${IMAGE_MB} MB image ($(echo $REG_TREES | wc -w) layers) to docker-registry over TLS + basic auth on loopback, runs=$REG_RUNS"
printf '%-22s %10s %10s %8s\n' operation "pkglayer s" "skopeo s" ratio
for op in push "repeat push" pull; do
    pk=$(echo "${TIMES["$op pkglayer"]}" | median)
    sk=$(echo "${TIMES["$op skopeo"]}" | median)
    ratio=$(awk -v a="$pk" -v b="$sk" 'BEGIN { printf "%.2f", a / b }')
    printf '%-22s %10.2f %10.2f %8s\n' "$op" "$pk" "$sk" "$ratio"
    if [[ -n $REG_TSV ]]; then
        printf 'ratio\tREG\tregistry: pkglayer %s / skopeo copy\t\t\t\t\t\t\t\t%s\t\t\t\n' "$op" "$ratio" >>"$REG_TSV"
    fi
done
echo "repeat push: blob bytes sent ${REPEAT_BYTES[*]} (per run; target 0), upload requests in the registry log ${REPEAT_UPLOADS[*]}"
REPEAT_TOTAL=$(printf '%s\n' "${REPEAT_BYTES[@]}" | awk '{ s += $1 } END { print s + 0 }')
[[ -z $REG_TSV ]] || printf 'measure\tREG\tpkglayer repeat push blob bytes (all runs)\t%s\t\t\t\t\t\t\t%s\t0\t%s\t\n' "$REG_RUNS" "$REPEAT_TOTAL" \
    "$([[ $REPEAT_TOTAL == 0 ]] && echo met || echo missed)" >>"$REG_TSV"
