#!/bin/bash
# VPN mode without CAP_NET_ADMIN: the node says what to do (run as root, grant the capability, or
# turn VPN mode off) and keeps running without it: its control socket answers and status shows no
# VPN. As root the node runs as `nobody` with no capabilities; as another user it runs as is.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK" alpha
node_config "$WORK/alpha/node.toml" "$WORK/alpha" '[discovery]' 'enabled = false' \
  '[vpn]' 'enabled = true' 'device = "qcperm0"'
sed -i 's/^port = 7420$/port = 0/' "$WORK/alpha/node.toml"
RUN=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || { echo "SKIPPED: setpriv (util-linux) is missing"; exit 77; }
  chmod -R a+rwX "$WORK"
  RUN=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all)
  "${RUN[@]}" test -x "$QC" || { echo "SKIPPED: user nobody cannot run $QC"; exit 77; }
elif command -v capsh >/dev/null && capsh --print | grep -q "Current:.*cap_net_admin"; then
  echo "SKIPPED: this user has CAP_NET_ADMIN"; exit 77
fi
start_bg alpha "${RUN[@]}" "$QC" node --config "$WORK/alpha/node.toml"; PID=$LAST_PID

wait_for "$WORK/alpha.log" "VPN mode off" 10 || fail "no VPN error in the log"
grep "VPN mode off" "$WORK/alpha.log"
grep -q "needs root or CAP_NET_ADMIN" "$WORK/alpha.log" || fail "the error does not say what VPN mode needs"
grep -q "turn VPN mode off" "$WORK/alpha.log" || fail "the error does not say how to run without it"
sleep 0.5
kill -0 "$PID" || fail "the node exited instead of running without VPN mode"
out=$("$QC" status --json --config "$WORK/alpha/node.toml") || fail "qc status: $out"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit("vpn" in d)' ||
  fail "status reports a VPN although the device could not be made"
ip link show qcperm0 >/dev/null 2>&1 && fail "a device qcperm0 exists"
log "PASS"
