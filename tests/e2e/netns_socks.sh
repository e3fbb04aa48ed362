#!/bin/bash
# SOCKS5 across the mesh with real curl: qa - qr - qb in namespaces (qa and qb share no link),
# on IPv4-only LANs (the nodes find each other by IPv4 broadcast beacons).
# qb runs an HTTP server on 127.0.0.1:8000 and exposes it as mesh port 8080; qa's node runs the
# SOCKS5 proxy. From qa, `curl --socks5-hostname` fetches http://<qb id>.fuse:8080/ through the
# circuit qa -> qr -> qb and the end-to-end channel:
#   - a large file arrives intact (sha256), and qa's node shows the circuit through qr;
#   - 200 parallel fetches all succeed;
#   - a port qb does not expose is refused with SOCKS reply 0x02;
#   - an unknown node is answered host unreachable (0x04) within 5 s;
#   - garbage on the proxy port does not hurt the node.
# Needs root (network namespaces).
source "$(dirname "$0")/lib.sh"
require_root

IPV4_LAN=1 make_line 93

make_pki "$WORK" qa qr qb
LOG_LEVEL=info
node_config "$WORK/qa/node.toml" "$WORK/qa" '[socks]' 'listen = "127.0.0.1:1080"'
node_config "$WORK/qr/node.toml" "$WORK/qr"
node_config "$WORK/qb/node.toml" "$WORK/qb" '[expose]' 'ports = ["8080=127.0.0.1:8000"]'
A_ID=$(text_id "$WORK/qa"); R_ID=$(text_id "$WORK/qr"); B_ID=$(text_id "$WORK/qb")
log "qa=$A_ID qr=$R_ID qb=$B_ID"

mkdir -p "$WORK/www"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$WORK/www/big.bin"
echo "hello from qb" >"$WORK/www/small.txt"
WANT=$(sha256sum "$WORK/www/big.bin" | cut -d' ' -f1)
start_bg www in_ns "$QB" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$WORK/www"

start_bg qa in_ns "$QA" "$QC" node --config "$WORK/qa/node.toml"; APID=$LAST_PID
start_bg qr in_ns "$QR" "$QC" node --config "$WORK/qr/node.toml"
start_bg qb in_ns "$QB" "$QC" node --config "$WORK/qb/node.toml"
wait_for "$WORK/qa.log" "SOCKS5 proxy on 127.0.0.1:1080" 15 || fail "qa's SOCKS5 proxy did not start"
wait_for "$WORK/qa.log" "session up: $R_ID" 30 || fail "qa found no session with qr"
wait_for "$WORK/qb.log" "session up: $R_ID" 30 || fail "qb found no session with qr"
grep "session up: $R_ID" "$WORK/qa.log" | grep -q "at \[::ffff:10\.93\.1\.2\]:7420" ||
  fail "qa's session with qr is not over IPv4: $(grep "session up: $R_ID" "$WORK/qa.log")"
log "qa and qb met qr by IPv4 broadcast beacons"
for _ in $(seq 100); do in_ns "$QB" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8000), 1)' 2>/dev/null && break; sleep 0.1; done

URL="http://$B_ID.fuse:8080"
CURL=(ip netns exec "$QA" curl -sS --max-time 120 --socks5-hostname 127.0.0.1:1080)
# The first circuit may take a moment after the sessions come up (until then the routing core
# answers "unreachable"): wait until a small fetch works.
for _ in $(seq 60); do
  "${CURL[@]}" -o /dev/null "$URL/small.txt" 2>/dev/null && break
  sleep 0.5
done

# A large file, hash-checked.
start=$(date +%s.%N)
"${CURL[@]}" -o "$WORK/got.bin" "$URL/big.bin" || fail "curl of big.bin through the mesh failed"
end=$(date +%s.%N)
GOT=$(sha256sum "$WORK/got.bin" | cut -d' ' -f1)
[ "$GOT" = "$WANT" ] || fail "big.bin arrived damaged ($GOT != $WANT)"
log "64 MiB through qa -> qr -> qb intact: $(python3 -c "print(f'{64*1.048576/($end-$start):.1f} MB/s')" )"
circ=$(in_ns "$QA" "$QC" circuits --config "$WORK/qa/node.toml")
echo "$circ" | grep -q "$A_ID -> $R_ID -> $B_ID" || { echo "$circ"; fail "qa shows no circuit qa -> qr -> qb"; }

# 200 parallel fetches.
seq 200 | xargs -P 200 -I{} "${CURL[@]}" -o "$WORK/par.{}" "$URL/small.txt" 2>"$WORK/par.err" ||
  { cat "$WORK/par.err"; fail "some of 200 parallel fetches failed"; }
ok=$(cat "$WORK"/par.* 2>/dev/null | grep -c "hello from qb")
[ "$ok" = 200 ] || fail "only $ok of 200 parallel fetches returned the file"
log "200 parallel fetches: all returned the file"

# A port qb does not expose: SOCKS reply 0x02 (connection not allowed by ruleset).
out=$("${CURL[@]}" "http://$B_ID.fuse:9999/" 2>&1) && fail "port 9999 of qb was reachable: $out"
echo "$out" | grep -qiE "not allowed|\(2\)" || fail "unexposed port not refused with 0x02: $out"
log "unexposed port: $out"

# A node that does not exist: host unreachable (0x04), promptly.
GHOST=$("$QC" cert ca --name ghost --out "$WORK/ghost" >/dev/null &&
        "$QC" cert sign --ca-crt "$WORK/ghost/ca.crt" --ca-key "$WORK/ghost/ca.key" --name g --out "$WORK/g" >/dev/null &&
        text_id "$WORK/g")
t0=$(date +%s.%N)
out=$("${CURL[@]}" "http://$GHOST.fuse:8080/" 2>&1) && fail "a nonexistent node answered: $out"
t1=$(date +%s.%N)
echo "$out" | grep -qiE "unreachable|\(4\)" || fail "unknown node not answered host unreachable: $out"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 5 else 1)" ||
  fail "host unreachable for an unknown node took $(python3 -c "print($t1-$t0)") s (want < 5 s)"
log "unknown node: $out"

# Garbage on the proxy port while a large fetch runs: the fetch must finish intact, and a normal
# fetch still works afterwards.
"${CURL[@]}" --limit-rate 20M -o "$WORK/during.bin" "$URL/big.bin" 2>"$WORK/during.err" &
DURING=$!
sleep 0.5
in_ns "$QA" python3 - <<'EOF'
import socket
for payload in [b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",          # SOCKS4
                b"GET / HTTP/1.1\r\n\r\n",                              # not SOCKS at all
                b"\x05\xff" + b"A" * 300,                                 # oversized greeting
                b"\x05",                                                  # truncated
                b"\x05\x01\x00\x05\x09\x00\x03\xff" + b"x" * 255 + b"\x00",  # bad command, long name
                b"\x05\x01\x00\x05\x01\x00\x07\x00\x00"]:             # bad address type
    s = socket.create_connection(("127.0.0.1", 1080), 2)
    s.sendall(payload)
    s.settimeout(2)
    try:
        s.recv(100)
    except Exception:
        pass
    s.close()
EOF
kill -0 "$APID" 2>/dev/null || fail "qa's node died after malformed SOCKS input"
wait "$DURING" || { cat "$WORK/during.err"; fail "the fetch running during the malformed input failed"; }
[ "$(sha256sum "$WORK/during.bin" | cut -d' ' -f1)" = "$WANT" ] ||
  fail "the fetch running during the malformed input arrived damaged"
"${CURL[@]}" "$URL/small.txt" | grep -q "hello from qb" || fail "fetch after malformed input failed"
log "malformed input ignored; node still serving"
log "PASS"
