#!/bin/sh
# End-to-end test of `qc cert` (ca, sign, print, verify) in a temp dir. Ids are checked against
# openssl + sha256sum + basenc, not against the code under test.
# Usage: cert_cli_test.sh PATH/TO/qc
set -u
QC=${1:?usage: cert_cli_test.sh PATH/TO/qc}
case $QC in /*) ;; *) QC=$(pwd)/$QC ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { "$@" > out.txt 2> err.txt || { fail "$* (exit $?): $(cat err.txt)"; return 1; }; }
mode() { stat -c %a "$1"; }
spki_hash() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }
text_id() { printf '%s' "$1" | cut -c1-20 | xxd -r -p | basenc --base32 | tr 'A-Z' 'a-z' | tr -d '=\n'; }

for sub in "" ca sign print verify; do
  ok "$QC" cert $sub --help || true
done

# CA, and no overwrite without --force.
ok "$QC" cert ca --name "CLI test CA" --out ca
[ "$(mode ca/ca.key)" = 600 ] || fail "ca.key mode is $(mode ca/ca.key)"
if "$QC" cert ca --name again --out ca > out.txt 2> err.txt; then fail "second qc cert ca succeeded"; fi
grep -q -- "--force" err.txt || fail "no --force hint: $(cat err.txt)"
before=$(spki_hash ca/ca.crt)
ok "$QC" cert ca --name "CLI test CA" --out ca --force
[ "$before" != "$(spki_hash ca/ca.crt)" ] || fail "--force did not replace the CA"

# A node.
ok "$QC" cert sign --ca-crt ca/ca.crt --ca-key ca/ca.key --name node1 --out n1
for f in ca.crt cert.crt key.pem; do [ -f n1/$f ] || fail "n1/$f missing"; done
[ "$(mode n1/key.pem)" = 600 ] || fail "key.pem mode is $(mode n1/key.pem)"
if "$QC" cert sign --ca-crt ca/ca.crt --ca-key ca/ca.key --name node1 --out n1 > out.txt 2>&1; then
  fail "sign over existing files succeeded"
fi
h=$(spki_hash n1/cert.crt)
t=$(text_id "$h")
c=$(spki_hash ca/ca.crt)
ok "$QC" cert verify --ca ca/ca.crt --cert n1/cert.crt --key n1/key.pem
[ "$(cat out.txt)" = "OK $t" ] || fail "verify printed '$(cat out.txt)', expected 'OK $t'"
ok "$QC" cert print n1/cert.crt --ca ca/ca.crt
grep -q "node id: $h" out.txt || fail "print: no node id $h"
grep -q "hostname: $t.fuse" out.txt || fail "print: no hostname $t.fuse"
ip=$(python3 -c "import ipaddress,sys; print(ipaddress.IPv6Address(bytes.fromhex('fdcc'+sys.argv[1][:8]+sys.argv[2][:20])))" "$c" "$h")
grep -q "ipv6: $ip\$" out.txt || fail "print: no ipv6 $ip: $(cat out.txt)"
grep -q "chain: ok" out.txt || fail "print: chain not ok"
ok "$QC" cert print n1/cert.crt --ca ca/ca.crt --json
python3 -c "import json,sys; d=json.load(open('out.txt')); assert d[0]['node_id']=='$h' and d[0]['ipv6']=='$ip', d" \
  || fail "print --json"
ok "$QC" cert print ca/ca.crt
grep -q "cluster id: $c" out.txt || fail "print: no cluster id"

# Another CA's node is rejected.
ok "$QC" cert ca --name other --out other
ok "$QC" cert sign --ca-crt other/ca.crt --ca-key other/ca.key --name rogue --out rogue
if "$QC" cert verify --ca ca/ca.crt --cert rogue/cert.crt > out.txt 2> err.txt; then
  fail "verify accepted another CA's node"
fi
grep -q "FAILED" err.txt || fail "verify gave no reason: $(cat err.txt)"
if "$QC" cert verify --ca ca/ca.crt --cert n1/cert.crt --key rogue/key.pem > out.txt 2> err.txt; then
  fail "verify accepted a mismatched key"
fi

# An intermediate, and a P-256 node under it.
ok "$QC" cert sign --ca-crt ca/ca.crt --ca-key ca/ca.key --name inter --intermediate --out int
[ "$(mode int/intermediate.key)" = 600 ] || fail "intermediate.key mode"
ok "$QC" cert sign --ca-crt int/intermediate.crt --ca-key int/intermediate.key --name node2 \
  --key-type p256 --suffix mesh --out n2
ok "$QC" cert verify --ca ca/ca.crt --cert n2/cert.crt --key n2/key.pem
[ "$(cat out.txt)" = "OK $(text_id "$(spki_hash n2/cert.crt)")" ] || fail "n2 verify: $(cat out.txt)"
cmp -s n2/ca.crt ca/ca.crt || fail "n2/ca.crt is not the root"
certtool --verify --load-ca-certificate ca/ca.crt --infile n2/cert.crt 2>/dev/null | grep -q "Verified" \
  || fail "certtool does not verify n2's chain"
# With an explicit --root instead of the root inside intermediate.crt.
head -n "$(grep -n 'END CERTIFICATE' int/intermediate.crt | head -1 | cut -d: -f1)" int/intermediate.crt > int-only.crt
if "$QC" cert sign --ca-crt int-only.crt --ca-key int/intermediate.key --name n3 --out n3 > out.txt 2> err.txt; then
  fail "sign with an intermediate and no root succeeded"
fi
grep -q -- "--root" err.txt || fail "no --root hint: $(cat err.txt)"
ok "$QC" cert sign --ca-crt int-only.crt --ca-key int/intermediate.key --root ca/ca.crt --name n3 --out n3
ok "$QC" cert verify --ca ca/ca.crt --cert n3/cert.crt --key n3/key.pem

# Garbage is reported, not crashed on.
printf 'garbage' > junk.crt
if "$QC" cert print junk.crt > out.txt 2> err.txt; then fail "print accepted garbage"; fi
[ -s err.txt ] || fail "print gave no message for garbage"
if "$QC" cert verify --ca junk.crt --cert n1/cert.crt > out.txt 2> err.txt; then fail "verify accepted a junk CA"; fi
if "$QC" cert sign --ca-crt ca/ca.crt --ca-key junk.crt --name x --out x > out.txt 2> err.txt; then
  fail "sign accepted a junk key"
fi
if "$QC" cert ca --name x --key-type rsa --out y > out.txt 2> err.txt; then fail "rsa accepted"; fi

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all qc cert checks passed"
