#!/bin/bash
# VPN mode throughput against plain kernel routing, on three namespaces in a line:
#
#   qa (10.97.1.1) --veth-- (10.97.1.2) qr (10.97.2.2) --veth-- (10.97.2.1) qb
#
# 1. plain: qr forwards IPv4; iperf3 TCP qa -> qb over the veths (the ceiling).
# 2. quic-channel: qr forwarding off; a qc node in each namespace (LAN discovery), VPN mode on qa
#    and qb, qr relays the circuit; iperf3 TCP qa -> qb's cluster address on the TUN devices.
#    Twice, on fresh nodes: with merged TUN writes ([vpn] merge_writes, the default) and with
#    every packet written on its own, and their ratio.
# 3. with --peers DIR (the peers' benchmark scripts: testbed.sh, bench_*.sh): their testbed
#    (namespaces named qa, qr, qb) and plain routing, WireGuard-go, Nebula relayed by qr and
#    Yggdrasil relayed by qr (default MTU and 1420), each RUNS x DUR s, in the same invocation.
#    Needs wireguard-go, wireguard-tools, yggdrasil, nebula, jq, bc (scripts/deps --bench).
# Each is RUNS single-stream runs of DUR seconds (median, min-max), plus a ping RTT median and
# the qc processes' CPU. The table prints each as a ratio to plain routing measured in the same
# invocation; without --peers, next to the figures recorded for WireGuard-go, Yggdrasil and
# Nebula on the same kind of testbed.
#
# Usage (root): bench/vpn_peers.sh [--qc PATH] [--runs N] [--duration S] [--peers DIR]
#   QC=path/to/qc  RUNS=3  DUR=10  KEEP=1 (keep the work directory)
# Traffic stays inside the namespaces this script creates (prefix qcb<pid>); they, and every
# process started here, are removed at exit.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
QC=${QC:-$HERE/../build/qc}
RUNS=${RUNS:-3}
DUR=${DUR:-10}
PEERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --qc) QC=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --peers) PEERS=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vpn_peers.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "vpn_peers.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
for t in iperf3 ping python3; do
  command -v $t >/dev/null || { echo "vpn_peers.sh: $t is missing (scripts/deps)" >&2; exit 1; }
done
[ -x "$QC" ] || { echo "vpn_peers.sh: no qc binary at $QC (build it, or pass --qc)" >&2; exit 1; }
QC=$(cd "$(dirname "$QC")" && pwd)/$(basename "$QC")
if [ -n "$PEERS" ]; then
  for t in wireguard-go wg yggdrasil yggdrasilctl nebula nebula-cert jq bc; do
    command -v $t >/dev/null || { echo "vpn_peers.sh: --peers needs $t (scripts/deps --bench)" >&2; exit 1; }
  done
  for ns in qa qr qb; do
    ip netns list | awk '{print $1}' | grep -qx $ns &&
      { echo "vpn_peers.sh: namespace $ns exists; the peers' testbed needs the names qa, qr, qb" >&2; exit 1; }
  done
fi

WORK=$(mktemp -d /tmp/qc-vpn-bench.XXXXXX)
PREFIX="qcb$$"
declare -a PIDS=() NSS=()
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "$PEERS" ] && [ -e "$WORK/peers.up" ] && "$PEERS/testbed.sh" down >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bg() {  # bg NAME NS CMD...: runs CMD in NS in the background; sets LAST
  local name=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
  LAST=$!
  PIDS+=("$LAST")
}
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
}
ticks() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12+$13}' || echo 0; }

for n in qa qr qb; do
  ip netns add "$PREFIX-$n" || die "ip netns add"
  NSS+=("$PREFIX-$n")
  ip -n "$PREFIX-$n" link set lo up
done
QA=$PREFIX-qa QR=$PREFIX-qr QB=$PREFIX-qb
veth() {  # veth NS1 IF1 ADDR1 NS2 IF2 ADDR2
  ip link add "${PREFIX}x" type veth peer name "${PREFIX}y" || die "ip link add veth"
  ip link set "${PREFIX}x" netns "$1" name "$2"
  ip link set "${PREFIX}y" netns "$4" name "$5"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}
veth "$QA" eth0 10.97.1.1/24 "$QR" eth0 10.97.1.2/24
veth "$QR" eth1 10.97.2.2/24 "$QB" eth0 10.97.2.1/24
ip -n "$QA" route add 10.97.2.0/24 via 10.97.1.2
ip -n "$QB" route add 10.97.1.0/24 via 10.97.2.2

# measure NAME DEST [PIDS...]: RUNS iperf3 runs qa -> DEST, then 20 pings; one JSON line.
measure() {
  local name=$1 dest=$2; shift 2
  local qcpids=("$@")
  bg "iperf3-$name" "$QB" iperf3 -s -B "$dest"
  local spid=$LAST
  sleep 0.5
  local i
  for i in $(seq "$RUNS"); do
    local t0 c0=() c1=()
    for p in "${qcpids[@]}"; do c0+=("$(ticks "$p")"); done
    t0=$(date +%s.%N)
    ip netns exec "$QA" iperf3 -c "$dest" -t "$DUR" -J >"$WORK/$name.$i.json" 2>&1 ||
      log "iperf3 run $i of $name failed: $(tail -n 3 "$WORK/$name.$i.json")"
    local t1; t1=$(date +%s.%N)
    for p in "${qcpids[@]}"; do c1+=("$(ticks "$p")"); done
    local cpu=""
    for k in "${!qcpids[@]}"; do
      cpu="$cpu $(echo "scale=0; 100 * (${c1[$k]} - ${c0[$k]}) / $(getconf CLK_TCK) / ($t1 - $t0)" | bc)"
    done
    echo "$cpu" >"$WORK/$name.$i.cpu"
    log "$name run $i: $(python3 -c 'import json,sys
try:
    d=json.load(open(sys.argv[1])); print(round(d["end"]["sum_received"]["bits_per_second"]/1e6), "Mbit/s")
except Exception as e: print("failed")' "$WORK/$name.$i.json"); qc CPU %:${cpu:- -}"
  done
  stop "$spid"
  ip netns exec "$QA" ping -c 23 -i 0.2 "$dest" >"$WORK/$name.ping" 2>&1
  python3 - "$WORK" "$name" "$RUNS" <<'EOF'
import json, re, statistics, sys
work, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
mbps, retr, cpus = [], [], []
for i in range(1, runs + 1):
    try:
        d = json.load(open(f"{work}/{name}.{i}.json"))
        mbps.append(d["end"]["sum_received"]["bits_per_second"] / 1e6)
        retr.append(d["end"]["sum_sent"].get("retransmits", 0))
    except Exception:
        pass
    c = open(f"{work}/{name}.{i}.cpu").read().split()
    if c:
        cpus.append([int(x) for x in c])
rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", open(f"{work}/{name}.ping").read())][3:]
out = {"name": name, "mbps": mbps, "retransmits": retr,
       "rtt_ms": round(statistics.median(rtts), 3) if rtts else None,
       "cpu": [round(statistics.median(col)) for col in zip(*cpus)] if cpus else []}
print(json.dumps(out))
EOF
}

# 1. plain kernel routing
ip netns exec "$QR" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$QA" ping -c 1 -W 2 10.97.2.1 >/dev/null || die "plain routing does not work"
log "plain kernel routing qa -> qr -> qb: $RUNS x ${DUR}s"
measure plain 10.97.2.1 >"$WORK/plain.result" || die "plain measurement failed"

# 2. quic-channel VPN, relayed by qr
ip netns exec "$QR" sysctl -qw net.ipv4.ip_forward=0
"$QC" cert ca --name "bench CA" --out "$WORK/ca" >/dev/null || die "qc cert ca"
for n in qa qr qb; do
  "$QC" cert sign --ca-crt "$WORK/ca/ca.crt" --ca-key "$WORK/ca/ca.key" --name "$n" --out "$WORK/$n" \
    >/dev/null || die "qc cert sign"
done
declare -A QPID
sessions() {  # sessions NS NODE: number of neighbour sessions
  ip netns exec "$1" "$QC" peers --json --config "$WORK/$2/node.toml" 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))' 2>/dev/null || echo 0
}
# start_qc MERGE: the three nodes, with [vpn] merge_writes = MERGE on qa and qb; waits until qa
# reaches qb's cluster address over the VPN; sets B_ADDR and MTU.
start_qc() {
  for n in qa qr qb; do
    vpn=false; [ $n != qr ] && vpn=true
    cat >"$WORK/$n/node.toml" <<EOF
log_level = "warn"
data_dir = "$WORK/$n"
[identity]
ca = "$WORK/$n/ca.crt"
cert = "$WORK/$n/cert.crt"
key = "$WORK/$n/key.pem"
[vpn]
enabled = $vpn
merge_writes = $1
[expose]
ports = ["5201"]
EOF
  done
  for n in qa qr qb; do
    ns_var="Q$(echo ${n:1} | tr a-z A-Z)"
    bg "qc-$n-$1" "${!ns_var}" "$QC" node --config "$WORK/$n/node.toml"
    QPID[$n]=$LAST
  done
  for _ in $(seq 300); do
    [ "$(sessions "$QA" qa)" -ge 1 ] && [ "$(sessions "$QB" qb)" -ge 1 ] && break
    sleep 0.1
  done
  B_ADDR=$(ip netns exec "$QB" "$QC" status --json --config "$WORK/qb/node.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') || die "qb status"
  local ok=0
  for _ in $(seq 20); do
    ip netns exec "$QA" ping -6 -c 1 -W 2 "$B_ADDR" >/dev/null 2>&1 && { ok=1; break; }
  done
  [ $ok = 1 ] || die "qa cannot reach qb's cluster address $B_ADDR over the VPN (logs: KEEP=1)"
  MTU=$(ip -n "$QA" -j link show qc0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')
}
# Merged TUN writes (the default), then every packet written on its own, on fresh nodes.
for merge in true false; do
  start_qc $merge
  log "quic-channel VPN qa -> qr -> qb ($B_ADDR, TUN MTU $MTU, merge_writes $merge): $RUNS x ${DUR}s"
  measure "qc-merge-$merge" "$B_ADDR" "${QPID[qa]}" "${QPID[qr]}" "${QPID[qb]}" \
    >"$WORK/qc-merge-$merge.result" || die "quic-channel measurement failed"
  for p in "${QPID[@]}"; do stop "$p"; done
done

# 3. the peers, on their own testbed, one after the other
if [ -n "$PEERS" ]; then
  log "peers: plain, WireGuard-go, Nebula relayed, Yggdrasil relayed (default MTU and 1420)"
  (
    export WORK=$WORK/peers RESULTS=$WORK/peers/raw.jsonl RUNS DUR QUIET_MAX=${QUIET_MAX:-5}
    mkdir -p "$WORK"
    "$PEERS/testbed.sh" up >/dev/null && touch "$(dirname "$WORK")/peers.up"
    "$PEERS/bench_plain.sh"
    "$PEERS/bench_wireguard.sh"
    "$PEERS/bench_nebula.sh" relay
    "$PEERS/bench_yggdrasil.sh" relay
    YGG_MTU=1420 "$PEERS/bench_yggdrasil.sh" relay
    "$PEERS/testbed.sh" down >/dev/null && rm -f "$(dirname "$WORK")/peers.up"
  ) >"$WORK/peers.log" 2>&1 || log "a peer benchmark failed (see $WORK/peers.log; KEEP=1 keeps it)"
fi

python3 - "$WORK/plain.result" "$WORK/qc-merge-true.result" "$MTU" "$RUNS" "$DUR" "$WORK/peers/raw.jsonl" "$WORK/qc-merge-false.result" <<'EOF'
import json, statistics, sys
plain = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
qc = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
single = json.loads(open(sys.argv[7]).read().strip().splitlines()[-1])
mtu, runs, dur = sys.argv[3], sys.argv[4], sys.argv[5]
def med(r): return statistics.median(r["mbps"]) if r["mbps"] else 0.0
p, q, s1 = med(plain), med(qc), med(single)
def span(r): return f"{min(r['mbps']):,.0f}-{max(r['mbps']):,.0f}" if r["mbps"] else "-"
print()
print(f"TCP qa -> qb, one stream, median of {runs} x {dur} s (this run)")
print()
print("| path | tunnel MTU | Mbit/s median (min-max) | ratio to plain | RTT ms | TCP retrans | qc CPU % of a core (qa, qr, qb) |")
print("|---|---|---|---|---|---|---|")
print(f"| plain kernel routing | 1500 | {p:,.0f} ({span(plain)}) | 1.000 | {plain['rtt_ms']} | {sum(plain['retransmits'])} | - |")
print(f"| quic-channel VPN, relayed by qr | {mtu} | {q:,.0f} ({span(qc)}) | {q / p if p else 0:.3f} | {qc['rtt_ms']} | {sum(qc['retransmits'])} | {', '.join(map(str, qc['cpu']))} |")
print(f"| same, merge_writes = false | {mtu} | {s1:,.0f} ({span(single)}) | {s1 / p if p else 0:.3f} | {single['rtt_ms']} | {sum(single['retransmits'])} | {', '.join(map(str, single['cpu']))} |")
print()
print(f"merged TUN writes / one write per packet: {q / s1 if s1 else 0:.2f}")
peers_file = sys.argv[6]
try:
    rows = [json.loads(l) for l in open(peers_file) if l.strip()]
except OSError:
    rows = []
if rows:
    # Runs the peers' scripts flagged as disturbed by foreign load ("clean": false) were
    # repeated; use the clean ones where there are any.
    by, dirty = {}, {}
    for r in rows:
        if r.get("test") == "tcp1" and r.get("mbps"):
            (by if r.get("clean", True) else dirty).setdefault(r["scenario"], []).append(r["mbps"])
    for sc, v in dirty.items():
        by.setdefault(sc, v)
    pp = statistics.median(by.get("plain", [0])) or 0
    print()
    print("Peers measured in this invocation on their testbed (same layout; ratio to the plain")
    print(f"routing measured there, {pp:,.0f} Mbit/s), and quic-channel's median over each:")
    print()
    print("| overlay (this run) | Mbit/s median (min-max) | ratio to plain | quic-channel / it |")
    print("|---|---|---|---|")
    for sc in sorted(by):
        v = by[sc]
        m = statistics.median(v)
        print(f"| {sc} | {m:,.0f} ({min(v):,.0f}-{max(v):,.0f}) | {m / pp if pp else 0:.3f} | "
              f"{q / m if m else 0:.2f} |")
print()
print("Recorded on this machine (bench/peers results.md, 2026-11-27; not rerun here): ratio to the")
print("plain routing recorded with them (19,944 Mbit/s), and quic-channel's median over each.")
print()
print("| overlay (recorded) | tunnel MTU | Mbit/s | ratio to plain | quic-channel / it |")
print("|---|---|---|---|---|")
for name, m, v in [("WireGuard-go, direct (qr routes)", "1420", 634),
                   ("Nebula, direct", "1300", 810),
                   ("Nebula, relayed by qr", "1300", 552),
                   ("Nebula, relayed by qr", "1420", 451),
                   ("Yggdrasil, relayed by qr", "53049", 1921),
                   ("Yggdrasil, relayed by qr", "1420", 175)]:
    print(f"| {name} | {m} | {v:,} | {v / 19944:.3f} | {q / v:.2f} |")
EOF
