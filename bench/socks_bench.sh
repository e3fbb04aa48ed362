#!/bin/bash
# SOCKS5 through the mesh against plain TCP, in one run, between network namespaces (root).
#
#   bench/socks_bench.sh [BUILD_DIR] [MIB] [RUNS]     (defaults: build 256 3)
#
# Namespaces qa - qr - qb (veth pairs; qr forwards IPv4 so plain TCP can cross it). `qc node` runs
# in each: qa's has the SOCKS5 proxy, qb's exposes a local HTTP server (python3 -m http.server) as
# mesh port 8080, qr relays. Each run fetches one MIB-MiB file with curl from qa:
#   plain  curl -> qb's HTTP server over plain TCP, routed by qr's kernel (the baseline)
#   mesh   curl -> qa's SOCKS5 proxy -> channel stream over the circuit qa -> qr -> qb -> server
# and prints the medians, and mesh / plain. The file is hash-checked after every mesh fetch.
set -u
BUILD=${1:-build}
MIB=${2:-256}
RUNS=${3:-3}
QC="$(cd "$BUILD" && pwd)/qc"
[ -x "$QC" ] || { echo "socks_bench: $QC not built (cmake --build $BUILD --target qc)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "socks_bench: needs root (network namespaces)" >&2; exit 2; }
command -v curl >/dev/null || { echo "socks_bench: needs curl (scripts/deps installs it)" >&2; exit 2; }
DIR=$(mktemp -d /tmp/qc-socks-bench.XXXXXX)
P="qcsb$$"
QA=$P-qa; QR=$P-qr; QB=$P-qb
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in $QA $QR $QB; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$DIR"
}
trap cleanup EXIT
for ns in $QA $QR $QB; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
veth() {  # veth NS1 IF1 ADDR1 NS2 IF2 ADDR2
  ip link add "${P}x" type veth peer name "${P}y"
  ip link set "${P}x" netns "$1" name "$2"; ip link set "${P}y" netns "$4" name "$5"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}
veth $QA eth0 10.97.1.1/24 $QR eth0 10.97.1.2/24
veth $QR eth1 10.97.2.2/24 $QB eth0 10.97.2.1/24
ip -n $QA route add 10.97.2.0/24 via 10.97.1.2
ip -n $QB route add 10.97.1.0/24 via 10.97.2.2
ip netns exec $QR sysctl -qw net.ipv4.ip_forward=1

"$QC" cert ca --name "bench CA" --out "$DIR/ca" >/dev/null
for n in a r b; do
  "$QC" cert sign --ca-crt "$DIR/ca/ca.crt" --ca-key "$DIR/ca/ca.key" --name "$n" --out "$DIR/$n" >/dev/null
done
B_ID=$("$QC" cert print --json "$DIR/b/cert.crt" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["text_id"])')
conf() {  # conf NAME EXTRA...
  local n=$1; shift
  {
    echo 'log_level = "warn"'
    echo "[identity]"; echo 'ca = "ca.crt"'; echo 'cert = "cert.crt"'; echo 'key = "key.pem"'
    for l in "$@"; do echo "$l"; done
  } >"$DIR/$n/node.toml"
}
conf r
conf a "[socks]" 'listen = "127.0.0.1:1080"'
conf b "[expose]" 'ports = ["8080=127.0.0.1:8000"]'

mkdir -p "$DIR/www"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$DIR/www/file.bin"
WANT=$(sha256sum "$DIR/www/file.bin" | cut -d' ' -f1)
# The HTTP server listens on all of qb's addresses: plain TCP reaches it at 10.97.2.1, the mesh
# at 127.0.0.1.
ip netns exec $QB python3 -m http.server 8000 --directory "$DIR/www" >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec $QR "$QC" node --config "$DIR/r/node.toml" >"$DIR/r.log" 2>&1 & PIDS+=($!)
ip netns exec $QA "$QC" node --config "$DIR/a/node.toml" >"$DIR/a.log" 2>&1 & PIDS+=($!)
ip netns exec $QB "$QC" node --config "$DIR/b/node.toml" >"$DIR/b.log" 2>&1 & PIDS+=($!)
SOCKS_PORT=1080
CURL=(ip netns exec $QA curl)
echo "socks_bench: ${MIB} MiB per fetch, $RUNS runs each; waiting for the mesh..." >&2
ok=0
for _ in $(seq 100); do
  if "${CURL[@]}" -s --max-time 5 --socks5-hostname "127.0.0.1:$SOCKS_PORT" -o /dev/null \
      "http://$B_ID.fuse:8080/" 2>/dev/null; then ok=1; break; fi
  sleep 0.3
done
[ $ok = 1 ] || { echo "socks_bench: the mesh did not come up; logs:" >&2; tail -n 5 "$DIR"/*.log >&2; exit 1; }

fetch() {  # fetch plain|mesh -> prints seconds
  local out="$DIR/got.bin" t
  if [ "$1" = plain ]; then
    t=$("${CURL[@]}" -s -o "$out" -w '%{time_total}' "http://10.97.2.1:8000/file.bin")
    [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$WANT" ] || { echo "socks_bench: plain fetch damaged" >&2; exit 1; }
  else
    t=$("${CURL[@]}" -s -o "$out" -w '%{time_total}' --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$B_ID.fuse:8080/file.bin")
    [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$WANT" ] || { echo "socks_bench: mesh fetch damaged" >&2; exit 1; }
  fi
  rm -f "$out"
  echo "$t"
}

declare -a PLAIN=() MESH=()
for i in $(seq "$RUNS"); do  # alternate, so both see the same machine load
  PLAIN+=("$(fetch plain)")
  MESH+=("$(fetch mesh)")
  echo "  run $i: plain ${PLAIN[-1]} s, mesh ${MESH[-1]} s" >&2
done
python3 - "$MIB" "${PLAIN[*]}" "${MESH[*]}" <<'EOF'
import statistics, sys
mib = int(sys.argv[1])
plain = [float(x) for x in sys.argv[2].split()]
mesh = [float(x) for x in sys.argv[3].split()]
mb = mib * 1048576 / 1e6
p, m = mb / statistics.median(plain), mb / statistics.median(mesh)
print(f"plain TCP qa -> qb (routed by qr):                 {p:8.1f} MB/s (median of {len(plain)})")
print(f"mesh: curl -> SOCKS5 -> qa -> qr -> qb -> server:   {m:8.1f} MB/s (median of {len(mesh)})")
print(f"ratio mesh / plain: {m / p:.3f}")
EOF
