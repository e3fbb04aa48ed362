#!/bin/bash
# The README's first command runs `qc demo`: it must make its cluster, show every session up and
# exit 0, without root.
source "$(dirname "$0")/lib.sh"
out=$("$QC" demo --timeout 30 2>&1); rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "qc demo exited with $rc"
echo "$out" | grep -q "all sessions up" || fail "qc demo did not report its sessions up"
echo "$out" | grep -qE "circuit [0-9a-f]{16} established in .*alpha .* -> relay .* -> beta" ||
  fail "qc demo did not show the circuit alpha -> relay -> beta"
echo "$out" | grep -q "GET /     -> hello from beta, through the mesh" ||
  fail "qc demo did not fetch beta's web service through alpha's SOCKS5 proxy"
echo "$out" | grep -qE "GET /big  -> 67108864 bytes in .* identical to what beta served" ||
  fail "qc demo's 64 MiB fetch through the mesh did not arrive intact"
log "PASS"
