#!/bin/bash
# VPN mode end to end: three namespaces in a line, qa - qr - qb (qa and qb share no link), VPN
# mode on qa and qb, qr only relays. Real programs over the cluster addresses on the TUN devices:
#   - `ping -6` from qa to qb's cluster address answers (through the circuit via qr);
#   - an `iperf3` TCP transfer qa -> qb completes and moves bytes, and qb wrote its segments to
#     the kernel merged (tun_gso_writes super-packets holding tun_gso_segments segments);
#   - a packet to a cluster address no node has gets ICMPv6 Destination Unreachable, and ping
#     gives up instead of hanging;
#   - a packet whose source is not the sending node's address is dropped by the receiver and
#     counted (mesh_spoofed), and gets no answer.
# Needs root (network namespaces, TUN devices).
source "$(dirname "$0")/lib.sh"
require_root
for tool in ping iperf3; do
  command -v $tool >/dev/null || { echo "SKIPPED: $tool is not installed (scripts/deps)"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIPPED: no /dev/net/tun (modprobe tun)"; exit 77; }

make_line 92

make_pki "$WORK" qa qr qb
VPN=('[vpn]' 'enabled = true' 'device = "qc0"')
node_config "$WORK/qa/node.toml" "$WORK/qa" '[session]' 'idle_timeout = 4' 'keepalive = 1' "${VPN[@]}"
node_config "$WORK/qr/node.toml" "$WORK/qr" '[session]' 'idle_timeout = 4' 'keepalive = 1'
# qb exposes iperf3's port only: other TCP ports of its address are closed to the mesh.
node_config "$WORK/qb/node.toml" "$WORK/qb" '[session]' 'idle_timeout = 4' 'keepalive = 1' "${VPN[@]}" \
  '[expose]' 'ports = ["5201"]'
A_ID=$(text_id "$WORK/qa"); R_ID=$(text_id "$WORK/qr"); B_ID=$(text_id "$WORK/qb")
log "qa=$A_ID qr=$R_ID qb=$B_ID"

start_bg qa in_ns "$QA" "$QC" node --config "$WORK/qa/node.toml"; APID=$LAST_PID
start_bg qr in_ns "$QR" "$QC" node --config "$WORK/qr/node.toml"
start_bg qb in_ns "$QB" "$QC" node --config "$WORK/qb/node.toml"; BPID=$LAST_PID

wait_for "$WORK/qa.log" "VPN mode: device qc0" 10 || fail "qa did not open its TUN device"
wait_for "$WORK/qb.log" "VPN mode: device qc0" 10 || fail "qb did not open its TUN device"
wait_for "$WORK/qa.log" "session up: $R_ID" 30 || fail "qa found no session with qr"
wait_for "$WORK/qb.log" "session up: $R_ID" 30 || fail "qb found no session with qr"

status() { in_ns "$1" "$QC" status --json --config "$WORK/$2/node.toml"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
A_ADDR=$(status "$QA" qa | jget address); B_ADDR=$(status "$QB" qb | jget address)
CLUSTER=$(status "$QA" qa | jget cluster)
log "qa address $A_ADDR, qb address $B_ADDR, cluster $CLUSTER"
ip -n "$QA" -6 addr show dev qc0 | grep -q "$A_ADDR/128" || fail "qc0 in qa lacks $A_ADDR/128"
ip -n "$QA" -6 route show dev qc0 | grep -q "${CLUSTER%/48}/48" || fail "no cluster route in qa"

# 1. ping through the relay. The first packets wait while the circuit and channel open.
ok=0
for _ in $(seq 10); do
  in_ns "$QA" ping -6 -c 1 -W 3 "$B_ADDR" >/dev/null 2>&1 && { ok=1; break; }
done
[ $ok = 1 ] || fail "no ping answer from qb's cluster address $B_ADDR"
out=$(in_ns "$QA" ping -6 -c 5 -i 0.2 -W 3 "$B_ADDR") || fail "ping qa -> qb: $out"
echo "$out" | tail -n 2
echo "$out" | grep -q " 0% packet loss" || fail "ping lost packets once the channel was up: $out"
in_ns "$QA" "$QC" circuits --config "$WORK/qa/node.toml" | grep -q "$A_ID -> $R_ID -> $B_ID" ||
  fail "qa has no circuit qa -> qr -> qb"
log "ping -6 qa -> qb through qr: ok"

# 2. iperf3 TCP over the cluster addresses.
start_bg iperf3-server in_ns "$QB" iperf3 -s -B "$B_ADDR" -1; SPID=$LAST_PID
sleep 0.5
js=$(in_ns "$QA" timeout 60 iperf3 -6 -c "$B_ADDR" -t 3 -J) || { echo "$js" | tail -n 20; fail "iperf3 qa -> qb failed"; }
bytes=$(echo "$js" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["end"]["sum_received"]["bytes"]))')
mbps=$(echo "$js" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["end"]["sum_received"]["bits_per_second"]/1e6))')
[ "$bytes" -gt 0 ] || fail "iperf3 moved no bytes"
log "iperf3 TCP qa -> qb: $bytes bytes received ($mbps Mbit/s, for information)"
stop_pid "$SPID"
gso_writes=$(status "$QB" qb | jget vpn.counters.tun_gso_writes)
gso_segments=$(status "$QB" qb | jget vpn.counters.tun_gso_segments)
log "qb wrote $gso_segments segments in $gso_writes merged writes"
[ "$gso_writes" -gt 0 ] && [ "$gso_segments" -ge $((2 * gso_writes)) ] ||
  fail "qb merged no TCP segments (tun_gso_writes $gso_writes, tun_gso_segments $gso_segments)"

# 2b. The expose rules hold in VPN mode too: a listener on a port qb does not expose is not
# reachable from the mesh, and the connect fails at once (ICMPv6 administratively prohibited).
start_bg closed-server in_ns "$QB" python3 -c "
import socket; s = socket.socket(socket.AF_INET6); s.bind(('$B_ADDR', 2222)); s.listen(); s.accept()"
sleep 0.3
out=$(in_ns "$QA" python3 -c "
import socket, sys, time
t = time.time()
s = socket.socket(socket.AF_INET6); s.settimeout(20)
try:
    s.connect(('$B_ADDR', 2222)); print('connected'); sys.exit(1)
except OSError as e:
    print(f'{e} after {time.time() - t:.2f} s'); sys.exit(0 if time.time() - t < 10 else 2)
") || fail "a non-exposed port of qb was reachable over the VPN, or the refusal was slow: $out"
log "non-exposed port 2222 on qb over the VPN: $out"

# 3. A cluster address no node has: ICMPv6 unreachable, and ping ends instead of hanging.
UNKNOWN="${CLUSTER%::/48}:dead:beef:dead:beef:1"
out=$(in_ns "$QA" timeout 30 ping -6 -c 1 -W 25 "$UNKNOWN" 2>&1); rc=$?
echo "$out" | head -n 3
[ $rc = 124 ] && fail "ping to the unknown address $UNKNOWN hung"
[ $rc = 0 ] && fail "ping to the unknown address $UNKNOWN was answered"
echo "$out" | grep -qi "unreachable" || fail "no ICMPv6 unreachable for $UNKNOWN: $out"
log "unknown cluster address: ICMPv6 unreachable"

# 4. A spoofed source: qa holds a second cluster address (not its own) and pings qb from it.
SPOOF="${CLUSTER%::/48}:5bad:5bad:5bad:5bad:1"
before=$(status "$QB" qb | jget vpn.counters.mesh_spoofed)
ip -n "$QA" -6 addr add "$SPOOF/128" dev lo nodad
out=$(in_ns "$QA" ping -6 -c 3 -i 0.2 -W 2 -I "$SPOOF" "$B_ADDR" 2>&1) && fail "a spoofed ping was answered: $out"
after=$(status "$QB" qb | jget vpn.counters.mesh_spoofed)
log "qb mesh_spoofed: $before -> $after"
[ "$after" -ge $((before + 3)) ] || fail "qb did not count the 3 spoofed packets ($before -> $after)"
# The real address still works.
in_ns "$QA" ping -6 -c 1 -W 3 "$B_ADDR" >/dev/null || fail "ping from the real address failed after the spoof"

in_ns "$QA" "$QC" status --config "$WORK/qa/node.toml" | grep "^vpn " || fail "qc status shows no VPN line"
status "$QA" qa | python3 -c 'import json,sys; print("qa vpn:", json.dumps(json.load(sys.stdin)["vpn"]))'
status "$QB" qb | python3 -c 'import json,sys; print("qb vpn:", json.dumps(json.load(sys.stdin)["vpn"]))'
kill -0 "$APID" && kill -0 "$BPID" || fail "a node died"
log "PASS"
