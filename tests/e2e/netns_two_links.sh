#!/bin/bash
# Two nodes joined by two links (two veth pairs): each node keeps one session per link, so the
# peer is reachable over two paths, and `qc peers` names both interfaces. Needs root.
source "$(dirname "$0")/lib.sh"
require_root

QA=$(make_ns qa); QR=$(make_ns qr)
make_veth "$QA" eth0 10.93.1.1/24 "$QR" eth0 10.93.1.2/24
make_veth "$QA" eth1 10.93.2.1/24 "$QR" eth1 10.93.2.2/24
make_pki "$WORK" qa qr
for n in qa qr; do node_config "$WORK/$n/node.toml" "$WORK/$n"; done
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
log "PASS"
