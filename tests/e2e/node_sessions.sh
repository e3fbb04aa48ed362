#!/bin/bash
# Two `qc node` processes on loopback: sessions come up and are logged with peer text ids; a peer
# killed with SIGKILL is seen going down and, once restarted, is re-dialled; SIGTERM stops cleanly.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK" alpha beta
A_ID=$(text_id "$WORK/alpha"); B_ID=$(text_id "$WORK/beta")
PORT=$(free_udp_port)
node_config --address 127.0.0.1 --port "$PORT" "$WORK/alpha/node.toml" "$WORK/alpha" \
  '[discovery]' 'enabled = false'
node_config --address 127.0.0.1 --port 0 "$WORK/beta/node.toml" "$WORK/beta" \
  '[discovery]' 'enabled = false' \
  '[peers]' "static = [\"127.0.0.1:$PORT\"]" \
  '[session]' 'idle_timeout = 3' 'keepalive = 1' 'redial_min = 0.2' 'redial_max = 1'

start_bg alpha "$QC" node --config "$WORK/alpha/node.toml"; A=$LAST_PID
start_bg beta "$QC" node --config "$WORK/beta/node.toml"; B=$LAST_PID
wait_for "$WORK/alpha.log" "session up: $B_ID" 10 || fail "alpha never logged session up with beta"
wait_for "$WORK/beta.log" "session up: $A_ID" 10 || fail "beta never logged session up with alpha"
log "sessions up both ways"

stop_pid "$A" KILL
wait_for "$WORK/beta.log" "session down: $A_ID" 10 || fail "beta did not notice alpha dying"
log "beta saw alpha go down"
mv "$WORK/alpha.log" "$WORK/alpha-1.log"
start_bg alpha "$QC" node --config "$WORK/alpha/node.toml"; A=$LAST_PID
wait_for "$WORK/beta.log" "session up: $A_ID" 15 2 || fail "beta did not reconnect to the restarted alpha"
wait_for "$WORK/alpha.log" "session up: $B_ID" 5 || fail "restarted alpha has no session with beta"
log "reconnected after restart"

stop_pid "$B" TERM
wait "$B"; rc=$?
[ "$rc" = 0 ] || fail "beta exited with $rc after SIGTERM"
grep -q "stopped" "$WORK/beta.log" || fail "beta did not log a clean stop"
wait_for "$WORK/alpha.log" "session down: $B_ID" 5 || fail "alpha was not told beta left"

# The peer database survives kill -9: alpha, killed and restarted alone, still knows beta (with
# its certificate) although no session to beta exists now.
stop_pid "$A" KILL
mv "$WORK/alpha.log" "$WORK/alpha-2.log"
start_bg alpha "$QC" node --config "$WORK/alpha/node.toml"; A=$LAST_PID
wait_for "$WORK/alpha.log" "listening on" 10 || fail "alpha did not restart"
known=$("$QC" peers --json --config "$WORK/alpha/node.toml") || fail "qc peers failed"
echo "$known" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert not d["sessions"], "no session expected now"
k = [p for p in d["known"] if p["peer"] == sys.argv[1]]
assert k and k[0]["certificate"], "beta not remembered with its certificate"
assert "session_up" in k[0]["last_seen_ms"], "no session_up time remembered"
' "$B_ID" || fail "alpha forgot beta after kill -9: $known"
log "peer database kept beta across kill -9"

stop_pid "$A" INT
wait "$A"; rc=$?
[ "$rc" = 0 ] || fail "alpha exited with $rc after SIGINT"
log "PASS"
