#!/bin/bash
# `qc node` refuses bad input with a clear error and a non-zero exit: a config typo (names the key
# and the line), a missing identity file, a port already in use, and a peer with a certificate
# from another CA (refused in the handshake, refusal logged, no session).
source "$(dirname "$0")/lib.sh"

make_pki "$WORK" alpha
"$QC" cert ca --name "rogue CA" --out "$WORK/rogue-ca" >/dev/null || fail "rogue ca"
"$QC" cert sign --ca-crt "$WORK/rogue-ca/ca.crt" --ca-key "$WORK/rogue-ca/ca.key" --name mallory \
  --out "$WORK/mallory" >/dev/null || fail "rogue sign"

# 1. typo
cat >"$WORK/alpha/typo.toml" <<'EOT'
[identity]
ca = "ca.crt"
cert = "cert.crt"
key = "key.pem"
[listen]
prot = 7420
EOT
out=$("$QC" node --config "$WORK/alpha/typo.toml" 2>&1) && fail "a typo was accepted"
echo "$out" | grep -q "typo.toml:6: key 'listen.prot'" || fail "typo error does not name key and line: $out"
log "typo: $out"

# 2. missing key file
cat >"$WORK/alpha/nokey.toml" <<'EOT'
[identity]
ca = "ca.crt"
cert = "cert.crt"
key = "missing.pem"
EOT
out=$("$QC" node --config "$WORK/alpha/nokey.toml" 2>&1) && fail "a missing key file was accepted"
echo "$out" | grep -q "missing.pem" || fail "error does not name the missing file: $out"
log "missing key: $(echo "$out" | tail -n1)"

# 3. a listening node, then a second one on the same port
PORT=$(free_udp_port)
node_config --address 127.0.0.1 --port "$PORT" "$WORK/alpha/node.toml" "$WORK/alpha" \
  '[discovery]' 'enabled = false'
start_bg alpha "$QC" node --config "$WORK/alpha/node.toml"; A=$LAST_PID
wait_for "$WORK/alpha.log" "listening on" 10 || fail "alpha did not start"
out=$("$QC" node --config "$WORK/alpha/node.toml" 2>&1) && fail "a second node on a used port started"
echo "$out" | grep -q "cannot listen" || fail "port-in-use error unclear: $out"
log "port in use: $(echo "$out" | tail -n1)"

# 4. a node of another CA dials alpha: refused, logged, no session
node_config --address 127.0.0.1 --port 0 "$WORK/mallory/node.toml" "$WORK/mallory" \
  '[discovery]' 'enabled = false' '[peers]' "static = [\"127.0.0.1:$PORT\"]"
start_bg mallory "$QC" node --config "$WORK/mallory/node.toml"; M=$LAST_PID
wait_for "$WORK/alpha.log" "refus|verif|alert" 10 || fail "alpha did not log the refusal"
sleep 1
grep -q "session up" "$WORK/alpha.log" && fail "alpha brought up a session with a rogue-CA node"
grep -q "session up" "$WORK/mallory.log" && fail "the rogue node got a session"
log "rogue refused: $(grep -E 'refus|verif|alert' "$WORK/alpha.log" | head -n1)"
kill -0 "$A" || fail "alpha died"
log "PASS"
