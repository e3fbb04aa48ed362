#!/bin/bash
# Three namespaces in a line, qa - qr - qb (veth pairs; qa and qb share no link). The nodes find
# each other by LAN discovery alone (no static peers). qa asks for qb; `qc circuits` on all three
# shows the same circuit qa -> qr -> qb, ESTABLISHED; `qc ping` crosses it and `qc trace` shows
# its two hops with RTTs (from both ends). Cutting the qr - qb link makes the circuit
# go away at qa and qr. Needs root (network namespaces).
source "$(dirname "$0")/lib.sh"
require_root

make_line 91

make_pki "$WORK" qa qr qb
for n in qa qr qb; do
  node_config "$WORK/$n/node.toml" "$WORK/$n" \
    '[session]' 'idle_timeout = 4' 'keepalive = 1'
done
A_ID=$(text_id "$WORK/qa"); R_ID=$(text_id "$WORK/qr"); B_ID=$(text_id "$WORK/qb")
log "qa=$A_ID qr=$R_ID qb=$B_ID"

start_bg qa in_ns "$QA" "$QC" node --config "$WORK/qa/node.toml"
start_bg qr in_ns "$QR" "$QC" node --config "$WORK/qr/node.toml"; RPID=$LAST_PID
start_bg qb in_ns "$QB" "$QC" node --config "$WORK/qb/node.toml"

wait_for "$WORK/qa.log" "session up: $R_ID" 30 || fail "qa found no session with qr by discovery"
wait_for "$WORK/qb.log" "session up: $R_ID" 30 || fail "qb found no session with qr by discovery"
wait_for "$WORK/qr.log" "session up: ($A_ID|$B_ID)" 10 2 || fail "qr does not have both sessions"
log "discovery: qa - qr - qb sessions up"
grep -q "session up: $B_ID" "$WORK/qa.log" && fail "qa has a session with qb although they share no link"

# Right after the sessions come up the routing core may still answer "unreachable" (a relay
# whose new session is not in its table yet answers dead-end): ask again for a few seconds.
for _ in $(seq 20); do
  out=$(in_ns "$QA" "$QC" connect --config "$WORK/qa/node.toml" "$B_ID" --timeout 20 2>&1) && break
  echo "$out" | grep -qi "unreachable" || break
  sleep 0.5
done
echo "$out" | grep -q "established\|$A_ID -> " || fail "qc connect from qa to qb failed: $out"
log "qa: $out"
echo "$out" | grep -q "$A_ID -> $R_ID -> $B_ID" || fail "circuit path is not qa -> qr -> qb: $out"
CID=$(echo "$out" | awk '{print $2}')

# The same circuit, ESTABLISHED, on all three nodes.
for n in qa qr qb; do
  ns_var="Q$(echo ${n:1} | tr a-z A-Z)"; ns=${!ns_var}
  ok=0
  for _ in $(seq 200); do  # up to 20 s: slow under the sanitizers
    js=$(in_ns "$ns" "$QC" circuits --json --config "$WORK/$n/node.toml") || fail "qc circuits on $n"
    if echo "$js" | python3 -c '
import json, sys
cid, path = sys.argv[1], sys.argv[2].split(",")
d = json.load(sys.stdin)
for c in d["circuits"]:
    if c["circuit_id"] == cid and c["state"] == "ESTABLISHED" and c["path"] == path:
        sys.exit(0)
sys.exit(1)' "$CID" "$A_ID,$R_ID,$B_ID"; then ok=1; break; fi
    sleep 0.1
  done
  [ $ok = 1 ] || { echo "$js"; fail "$n does not show circuit $CID qa -> qr -> qb ESTABLISHED within 20 s"; }
  log "$n: circuit $CID ESTABLISHED: $(in_ns "$ns" "$QC" circuits --config "$WORK/$n/node.toml" | grep "$CID")"
done

in_ns "$QA" "$QC" peers --config "$WORK/qa/node.toml" | head -n 5
in_ns "$QA" "$QC" routes --config "$WORK/qa/node.toml" | grep -q "$B_ID" || fail "qa did not cache the route to qb"

# Round trips over the end-to-end channel (QUIC inside the circuit's DATAGRAMs).
out=$(in_ns "$QA" "$QC" ping --config "$WORK/qa/node.toml" "$B_ID" -n 3 --timeout 20) ||
  fail "qc ping over the channel failed: $out"
echo "$out"
echo "$out" | grep -q "3 replies, 0 lost" || fail "qc ping did not get 3 replies: $out"

# qc trace: the circuit hop by hop, qr first then qb, with numeric RTTs from the stats probes.
out=$(in_ns "$QA" "$QC" trace --config "$WORK/qa/node.toml" "$B_ID" -n 5 --timeout 20) ||
  fail "qc trace failed: $out"
echo "$out"
js=$(in_ns "$QA" "$QC" trace --json --config "$WORK/qa/node.toml" "$B_ID" -n 5 --timeout 20) ||
  fail "qc trace --json failed: $js"
echo "$js" | python3 -c '
import json, numbers, sys
a, r, b = sys.argv[1:4]
d = json.load(sys.stdin)
cs = d["circuits"]
assert cs, "no circuit in the trace"
for c in cs:
    assert c["path"] == [a, r, b], c["path"]
    assert c["answered"] >= 1, c
    hops = c["hops"]
    assert [h["peer"] for h in hops] == [r, b], hops
    assert [h["hop"] for h in hops] == [1, 2]
    for h in hops:
        for k in ("rtt_ms", "step_ms"):
            for m in ("min", "median"):
                v = h[k][m]
                assert isinstance(v, numbers.Real) and v >= 0, (k, m, v)
        assert h["rtt_ms"]["min"] <= h["rtt_ms"]["median"]
    assert hops[1]["rtt_ms"]["min"] >= hops[0]["rtt_ms"]["min"]
    assert c["relays_reported"] == 1
    assert isinstance(c["round_trip_ms"]["median"], numbers.Real)
' "$A_ID" "$R_ID" "$B_ID" || { echo "$js"; fail "qc trace does not show qa -> qr -> qb with RTTs"; }
log "qc trace: 2 hops, qr then qb, with RTTs"
# The far end traces back the same circuit, reversed.
js=$(in_ns "$QB" "$QC" trace --json --config "$WORK/qb/node.toml" "$A_ID" -n 3 --timeout 20) ||
  fail "qc trace from qb failed: $js"
echo "$js" | python3 -c '
import json, sys
a, r = sys.argv[1:3]
d = json.load(sys.stdin)
assert any([h["peer"] for h in c["hops"]] == [r, a] and c["answered"] >= 1 for c in d["circuits"])
' "$A_ID" "$R_ID" || { echo "$js"; fail "qc trace from qb does not show qr then qa"; }

# Cut qr - qb: the circuit must disappear at qa and qr.
ip -n "$QR" link set eth1 down
log "cut qr - qb"
gone() {
  local ns=$1 n=$2
  js=$(in_ns "$ns" "$QC" circuits --json --config "$WORK/$n/node.toml") || return 1
  echo "$js" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(c["circuit_id"]!=sys.argv[1] for c in d["circuits"]) else 1)' "$CID"
}
for n in qr qa; do
  ns_var="Q$(echo ${n:1} | tr a-z A-Z)"; ns=${!ns_var}
  ok=0
  for _ in $(seq 300); do gone "$ns" "$n" && { ok=1; break; }; sleep 0.1; done
  [ $ok = 1 ] || fail "circuit $CID still present at $n 30 s after the cut"
  log "$n: circuit $CID gone"
done
kill -0 "$RPID" || fail "qr died"
log "PASS"
