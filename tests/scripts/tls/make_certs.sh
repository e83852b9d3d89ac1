#!/bin/sh
# make_certs.sh DIR — a throwaway PKI for the TLS and HTTPS tests, made with the openssl tool.
#   ca.pem ca.key              a test CA (not trusted by the system)
#   server.pem server.key      CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, signed by the CA
#   other.pem other.key        CN=other.test, SAN DNS:other.test only (a host-name mismatch)
#   expired.pem expired.key    SAN as server.pem, valid 2020-01-01 .. 2020-01-02 (expired)
#   client.pem client.key      CN=test-client, clientAuth, signed by the CA
#   self.pem self.key          self-signed CN=localhost (not signed by the CA)
#   chain.pem                  server.pem followed by ca.pem
# Keys are EC P-256 (fast handshakes). Exit 0 when every file was made; otherwise openssl's
# message is printed and the exit status is 1.
set -eu
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
log=make_certs.log
: >"$log"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>>"$log"; }
fail() { echo "make_certs.sh: $1 failed:" >&2; cat "$log" >&2; exit 1; }

key ca.key || fail "CA key"
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=mrprof test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>>"$log" || fail "CA certificate"

# leaf NAME CN SAN EKU — a certificate signed by the CA, valid for ten years from now
leaf() {
    key "$1.key" || fail "$1 key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>>"$log" || fail "$1 request"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
        "$4" "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
        -extfile "$1.ext" -out "$1.pem" 2>>"$log" || fail "$1 certificate"
    rm -f "$1.csr" "$1.ext"
}
leaf server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth
leaf other other.test "subjectAltName=DNS:other.test" serverAuth
leaf client test-client "" clientAuth

# An expired certificate needs explicit dates, which only `openssl ca` sets in OpenSSL 3.0.
key expired.key || fail "expired key"
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>>"$log" || fail "expired request"
mkdir -p ca.db
: >ca.db/index.txt
echo 1000 >ca.db/serial
cat >ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = ca.db
database = ca.db/index.txt
serial = ca.db/serial
new_certs_dir = ca.db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
copy_extensions = none
x509_extensions = ext
unique_subject = no
[ anything ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
CNF
openssl ca -batch -config ca.cnf -in expired.csr -startdate 20200101000000Z \
    -enddate 20200102000000Z -out expired.pem >>"$log" 2>&1 || fail "expired certificate"
rm -rf expired.csr ca.cnf ca.db

key self.key || fail "self-signed key"
openssl req -x509 -new -key self.key -sha256 -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out self.pem 2>>"$log" || fail "self-signed certificate"

cat server.pem ca.pem >chain.pem
rm -f "$log" ca.srl
