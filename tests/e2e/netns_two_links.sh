#!/bin/bash
# Two nodes joined by two links (two veth pairs): each node keeps one session per link, so the
# peer is reachable over two paths, and `qc peers` names both interfaces. The links bind the
# family of listen.address; an interface that goes down and up gets a new link that works. Needs
# root.
source "$(dirname "$0")/lib.sh"
require_root

QA=$(make_ns qa); QR=$(make_ns qr)
make_veth "$QA" eth0 10.93.1.1/24 "$QR" eth0 10.93.1.2/24
make_veth "$QA" eth1 10.93.2.1/24 "$QR" eth1 10.93.2.2/24
make_pki "$WORK" qa qr
# Short idle timeout: after the flap below, qr's side of the old eth1 session (it never heard the
# close) must go before the new one is kept.
SESSION=('[session]' 'idle_timeout = 4' 'keepalive = 1')
for n in qa qr; do node_config "$WORK/$n/node.toml" "$WORK/$n" "${SESSION[@]}"; done
R_ID=$(text_id "$WORK/qr")
start_bg qa in_ns "$QA" "$QC" node --config "$WORK/qa/node.toml"
start_bg qr in_ns "$QR" "$QC" node --config "$WORK/qr/node.toml"
wait_for "$WORK/qa.log" "session up: $R_ID" 30 2 || fail "qa does not have two sessions with qr"
ok=0
for _ in $(seq 50); do
  js=$(in_ns "$QA" "$QC" peers --json --config "$WORK/qa/node.toml") || fail "qc peers"
  if echo "$js" | python3 -c '
import json, sys
d = json.load(sys.stdin)
itfs = sorted(s["interface"] for s in d["sessions"] if s["peer"] == sys.argv[1])
sys.exit(0 if itfs == ["eth0", "eth1"] else 1)' "$R_ID"; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "$js"; fail "qa's sessions with qr are not one per interface"; }
in_ns "$QA" "$QC" peers --config "$WORK/qa/node.toml" | head -n 4

links() { in_ns "$1" "$QC" status --json --config "$WORK/$2/node.toml" |
  python3 -c 'import json,sys; print(" ".join(sorted(l["interface"]+"="+l["address"] for l in json.load(sys.stdin)["links"])))'; }
got=$(links "$QA" qa)
[ "$got" = "eth0=[::]:7420 eth1=[::]:7420 listen=[::]:7420" ] || fail "qa's links: $got"

# eth1 flaps on qa: its link closes, a new one opens (a new slot) and carries a session again,
# over which a circuit and the channel work.
ip -n "$QA" link set eth1 down
wait_for "$WORK/qa.log" "interface eth1 gone" 30 || fail "qa did not close eth1's link"
ip -n "$QA" link set eth1 up
wait_for "$WORK/qa.log" "interface eth1 \(id [0-9a-f]+\) up" 30 2 || fail "qa did not reopen eth1's link"
wait_for "$WORK/qa.log" "session up: $R_ID .* on eth1" 30 2 || fail "no new session on eth1"
got=$(links "$QA" qa)
[ "$got" = "eth0=[::]:7420 eth1=[::]:7420 listen=[::]:7420" ] || fail "qa's links after the flap: $got"
ip -n "$QA" link set eth0 down  # leave only the new eth1 link to qr
wait_for "$WORK/qa.log" "interface eth0 gone" 30 || fail "qa did not close eth0's link"
out=$(in_ns "$QA" "$QC" ping --config "$WORK/qa/node.toml" "$R_ID" -n 2 --timeout 30) ||
  fail "qc ping over the re-opened link failed: $out"
echo "$out" | grep -q "2 replies" || fail "qc ping over the re-opened link: $out"
log "ping over the re-opened eth1 link: ok"

# Per-interface links bind listen.address's family: qr restarted with 0.0.0.0 (IPv4 only).
for pid in $(ip netns pids "$QR"); do stop_pid "$pid"; done  # the qc node under in_ns
node_config --address 0.0.0.0 "$WORK/qr/node.toml" "$WORK/qr" "${SESSION[@]}"
start_bg qr2 in_ns "$QR" "$QC" node --config "$WORK/qr/node.toml"
wait_for "$WORK/qr2.log" "interface eth1 .* up: sessions on 0.0.0.0:7420" 20 ||
  fail "qr's eth1 link does not bind 0.0.0.0"
got=$(links "$QR" qr)
[ "$got" = "eth0=0.0.0.0:7420 eth1=0.0.0.0:7420 listen=0.0.0.0:7420" ] || fail "qr's links: $got"
log "links bind the listen address family"
log "PASS"
