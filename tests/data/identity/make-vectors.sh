#!/bin/sh
# Makes the identity test fixtures with tools independent of the code under test (GnuTLS certtool
# for certificates, OpenSSL for the SubjectPublicKeyInfo DER, sha256sum, basenc, python3 for the
# IPv6 text), and writes the expected ids to expected.txt.
#
# Run from anywhere: tests/data/identity/make-vectors.sh. Regenerates every file (new keys).
# Certificates are valid for 30 years, except expired.crt (2020-01-01 .. 2021-01-01).
#
# expected.txt, one line per certificate:
#   <file> spki_sha256=<64 hex> text_id=<16 base32> [ipv6=<address under ca.crt>] [prefix=<cluster /48>]
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() {  # key FILE TYPE
  case $2 in
    ed25519) certtool --generate-privkey --key-type=ed25519 --outfile "$1" 2>/dev/null ;;
    p256) certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null ;;
  esac
}

ca() {  # ca NAME CN TYPE
  key "$1.key" "$3"
  printf 'cn = "%s"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 10950\n' "$2" > "$tmp/t"
  certtool --generate-self-signed --load-privkey "$1.key" --template "$tmp/t" --outfile "$1.crt" 2>/dev/null
}

inter() {  # inter NAME CN ISSUER
  key "$1.key" ed25519
  printf 'cn = "%s"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 10950\n' "$2" > "$tmp/t"
  certtool --generate-certificate --load-privkey "$1.key" --load-ca-certificate "$3.crt" \
    --load-ca-privkey "$3.key" --template "$tmp/t" --outfile "$1.crt" 2>/dev/null
}

leaf() {  # leaf NAME CN ISSUER TYPE [template lines]
  name=$1 cn=$2 issuer=$3 type=$4
  shift 4
  key "$name.key" "$type"
  printf 'cn = "%s"\ntls_www_server\ntls_www_client\nsigning_key\n' "$cn" > "$tmp/t"
  if [ $# -gt 0 ]; then printf '%s\n' "$@" >> "$tmp/t"; else echo 'expiration_days = 10950' >> "$tmp/t"; fi
  certtool --generate-certificate --load-privkey "$name.key" --load-ca-certificate "$issuer.crt" \
    --load-ca-privkey "$issuer.key" --template "$tmp/t" --outfile "$name.crt" 2>/dev/null
}

ca ca "qc test CA" ed25519
ca ca-p256 "qc test CA P-256" p256
ca other-ca "some other CA" ed25519
inter inter "qc test intermediate" ca
leaf node-a node-a ca ed25519
leaf node-p256 node-p256 ca p256
leaf node-i node-i inter ed25519
leaf other-node other-node other-ca ed25519
leaf expired expired ca ed25519 'activation_date = "2020-01-01 00:00:00 UTC"' \
  'expiration_date = "2021-01-01 00:00:00 UTC"'
cat node-i.crt inter.crt > node-i-chain.crt

spki_hash() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }
text_id() { printf '%s' "$1" | cut -c1-20 | xxd -r -p | basenc --base32 | tr 'A-Z' 'a-z' | tr -d '=\n'; }

cluster=$(spki_hash ca.crt)
{
  for f in ca.crt ca-p256.crt other-ca.crt inter.crt; do
    h=$(spki_hash $f)
    prefix=$(python3 -c "import ipaddress,sys; print(ipaddress.IPv6Network((bytes.fromhex('fdcc'+sys.argv[1][:8]+'00'*10),48)))" "$h")
    echo "$f spki_sha256=$h text_id=$(text_id "$h") prefix=$prefix"
  done
  for f in node-a.crt node-p256.crt node-i.crt other-node.crt expired.crt; do
    h=$(spki_hash $f)
    ip=$(python3 -c "import ipaddress,sys; print(ipaddress.IPv6Address(bytes.fromhex('fdcc'+sys.argv[1][:8]+sys.argv[2][:20])))" "$cluster" "$h")
    echo "$f spki_sha256=$h text_id=$(text_id "$h") ipv6=$ip"
  done
} > expected.txt
cat expected.txt
