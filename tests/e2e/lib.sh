# Shared helpers for the end-to-end tests (bash). Source it; it sets a trap that stops every
# process started with `start_bg` and deletes every namespace made with `make_ns`, also on failure.
#
#   QC            path of the qc binary (from CTest: $QC_BINARY_DIR/qc)
#   WORK          a fresh temporary directory, removed at exit unless KEEP=1
set -u

QC="${QC:-${QC_BINARY_DIR:-$(pwd)/build}/qc}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qc-e2e.XXXXXX")"
PREFIX="qce$$"          # every namespace and link name this test creates starts with this
declare -a QC_PIDS=()
declare -a QC_NETNS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }
fail() {
  log "FAIL: $*"
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "---- $f (last 30 lines)"; tail -n 30 "$f"; }; done
  exit 1
}

# Our namespaces: every one named $PREFIX-* (make_ns runs in command substitutions, so a list
# kept in a variable would not survive).
our_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true; }

cleanup() {
  local rc=$?
  local pids=("${QC_PIDS[@]}") ns
  # Also whatever still runs inside our namespaces (children of the programs we started).
  for ns in $(our_netns); do pids+=($(ip netns pids "$ns" 2>/dev/null)); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  for ns in "${QC_NETNS[@]}" $(our_netns); do ip netns del "$ns" 2>/dev/null; done
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$PREFIX" || true); do
    ip link del "$l" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Exit code 77 tells CTest the test was skipped (SKIP_RETURN_CODE).
require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: this test needs root (network namespaces); run it as root, as CI does"
    exit 77
  fi
}

# start_bg NAME CMD...: runs CMD in the background, output to $WORK/NAME.log; sets $LAST_PID.
# `start_bg NAME in_ns NS CMD...` runs `ip netns exec` directly (it execs CMD), so $LAST_PID is
# CMD's own PID rather than a subshell's that a kill would leave CMD behind.
start_bg() {
  local name=$1; shift
  if [ "$1" = in_ns ]; then
    shift
    set -- ip netns exec "$@"
  fi
  "$@" >"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  QC_PIDS+=("$LAST_PID")
}

# stop_pid PID [SIGNAL]: signals one process we started and waits for it.
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill -s "$sig" "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null
}

# wait_for FILE REGEX SECONDS [COUNT]: waits until FILE has COUNT (default 1) lines matching REGEX.
wait_for() {
  local file=$1 re=$2 secs=$3 count=${4:-1}
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -le $deadline ]; do
    local n
    n=$(grep -cE "$re" "$file" 2>/dev/null || true)
    [ "${n:-0}" -ge "$count" ] && return 0
    sleep 0.1
  done
  return 1
}

# make_ns NAME: creates namespace $PREFIX-NAME with loopback up; echoes its full name.
make_ns() {
  local ns="$PREFIX-$1"
  ip netns add "$ns" || fail "ip netns add $ns"
  QC_NETNS+=("$ns")
  ip -n "$ns" link set lo up
  echo "$ns"
}

# make_pki DIR NODE...: a CA in DIR/ca and one directory per node with cert.crt, key.pem, ca.crt.
make_pki() {
  local dir=$1; shift
  "$QC" cert ca --name "e2e test CA" --out "$dir/ca" >/dev/null || fail "qc cert ca"
  for n in "$@"; do
    "$QC" cert sign --ca-crt "$dir/ca/ca.crt" --ca-key "$dir/ca/ca.key" --name "$n" --out "$dir/$n" \
      >/dev/null || fail "qc cert sign $n"
  done
}

# text_id DIR: the text id of the node whose files are in DIR.
text_id() {
  "$QC" cert print --json "$1/cert.crt" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["text_id"])'
}

# make_veth NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces with IPv4 addresses
# (CIDR) on both ends; both ends up. Interface names are local to the namespaces. By default the
# IPv4 addresses have no broadcast address, so nodes beacon and meet over IPv6 link-local only.
# With IPV4_LAN=1 the link is an IPv4-only LAN instead: broadcast addresses, and IPv6 off on
# both ends (so nodes can meet over IPv4 beacons only).
make_veth() {
  local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
  local tmp1="${PREFIX}a$RANDOM" tmp2="${PREFIX}b$RANDOM"
  local brd=()
  ip link add "$tmp1" type veth peer name "$tmp2" || fail "ip link add veth"
  ip link set "$tmp1" netns "$ns1" name "$if1" || fail "move $tmp1"
  ip link set "$tmp2" netns "$ns2" name "$if2" || fail "move $tmp2"
  if [ "${IPV4_LAN:-}" = 1 ]; then
    brd=(broadcast +)
    ip netns exec "$ns1" sysctl -qw "net.ipv6.conf.$if1.disable_ipv6=1" || fail "disable IPv6"
    ip netns exec "$ns2" sysctl -qw "net.ipv6.conf.$if2.disable_ipv6=1" || fail "disable IPv6"
  fi
  ip -n "$ns1" addr add "$a1" "${brd[@]}" dev "$if1"
  ip -n "$ns2" addr add "$a2" "${brd[@]}" dev "$if2"
  ip -n "$ns1" link set "$if1" up
  ip -n "$ns2" link set "$if2" up
}

# make_line NET: namespaces qa - qr - qb (names in QA, QR, QB), linked on 10.NET.1.0/24 (qa eth0
# .1, qr eth0 .2) and 10.NET.2.0/24 (qr eth1 .2, qb eth0 .1).
make_line() {
  local n=$1
  QA=$(make_ns qa); QR=$(make_ns qr); QB=$(make_ns qb)
  make_veth "$QA" eth0 "10.$n.1.1/24" "$QR" eth0 "10.$n.1.2/24"
  make_veth "$QR" eth1 "10.$n.2.2/24" "$QB" eth0 "10.$n.2.1/24"
}

# make_diamond NET: namespaces qa, qr1, qr2, qb (names in QA, QR1, QR2, QB) in a diamond: qa -
# qr1 - qb on 10.NET.1.0/24 and 10.NET.2.0/24, qa - qr2 - qb on 10.NET.3.0/24 and 10.NET.4.0/24;
# qa and qb share no link. A relay's eth0 faces qa and its eth1 qb; qa's and qb's eth0 face qr1.
make_diamond() {
  local n=$1
  QA=$(make_ns qa); QR1=$(make_ns qr1); QR2=$(make_ns qr2); QB=$(make_ns qb)
  make_veth "$QA" eth0 "10.$n.1.1/24" "$QR1" eth0 "10.$n.1.2/24"
  make_veth "$QR1" eth1 "10.$n.2.2/24" "$QB" eth0 "10.$n.2.1/24"
  make_veth "$QA" eth1 "10.$n.3.1/24" "$QR2" eth0 "10.$n.3.2/24"
  make_veth "$QR2" eth1 "10.$n.4.2/24" "$QB" eth1 "10.$n.4.1/24"
}

# node_config [--address ADDR] [--port PORT] FILE DIR [EXTRA...]: writes a node configuration for
# the node files in DIR, listening on ADDR (default ::) port PORT (default 7420), log level
# $LOG_LEVEL (default debug), with EXTRA lines appended (tables).
node_config() {
  local address="::" port=7420
  while [ $# -gt 0 ]; do
    case "$1" in
      --address) address=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local file=$1 dir=$2; shift 2
  {
    echo "log_level = \"${LOG_LEVEL:-debug}\""
    echo "data_dir = \"$dir\""
    echo "[identity]"
    echo "ca = \"$dir/ca.crt\""
    echo "cert = \"$dir/cert.crt\""
    echo "key = \"$dir/key.pem\""
    echo "[listen]"
    echo "address = \"$address\""
    echo "port = $port"
    for l in "$@"; do echo "$l"; done
  } >"$file"
}

# free_udp_port: a UDP port free on 127.0.0.1 now.
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# in_ns NS CMD...: runs CMD inside namespace NS.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
