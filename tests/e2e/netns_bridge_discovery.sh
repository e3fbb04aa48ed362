#!/bin/bash
# Three namespaces on one LAN segment (a bridge in a fourth namespace) discover each other with no
# static peers: every pair gets a session. Needs root (network namespaces).
source "$(dirname "$0")/lib.sh"
require_root

LAN=$(make_ns lan)
ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" link set br0 up
i=1
for n in n1 n2 n3; do
  ns=$(make_ns "$n")
  make_veth "$ns" eth0 "10.92.0.$i/24" "$LAN" "p$n" "10.92.255.$((200 + i))/32"
  ip -n "$LAN" addr flush dev "p$n"
  ip -n "$LAN" link set "p$n" master br0
  eval "NS_$n=$ns"
  i=$((i + 1))
done

make_pki "$WORK" n1 n2 n3
for n in n1 n2 n3; do node_config "$WORK/$n/node.toml" "$WORK/$n"; done
declare -A ID
for n in n1 n2 n3; do ID[$n]=$(text_id "$WORK/$n"); done
for n in n1 n2 n3; do
  ns_var="NS_$n"
  start_bg "$n" in_ns "${!ns_var}" "$QC" node --config "$WORK/$n/node.toml"
done
for n in n1 n2 n3; do
  for m in n1 n2 n3; do
    [ "$n" = "$m" ] && continue
    wait_for "$WORK/$n.log" "session up: ${ID[$m]}" 40 || fail "$n has no session with $m"
  done
  log "$n: sessions up with both others"
done
ns_var="NS_n1"
in_ns "${!ns_var}" "$QC" peers --config "$WORK/n1/node.toml"
log "PASS"
