#!/usr/bin/env bash
# Creates the test PKI of the fake DIRAC server in DIR (default ./pki), all with openssl:
#   ca/ca.pem, certificates/ (hashed CA directory, X509_CERT_DIR), hostcert.pem + hostkey.pem
#   (CN=localhost, SAN localhost and 127.0.0.1), usercert.pem + userkey.pem, proxy.pem (RFC3820
#   proxy + key + user certificate, DIRAC group extension 1.2.42.42 = testvo_pilot), user_proxy.pem
#   (group testvo_user, no GenericPilot), expired_proxy.pem (validity in 2020), future_proxy.pem
#   (validity in 2099), the job owner's certificate ownercert.pem + ownerkey.pem (another DN than
#   the pilot's) with the proxy the fake ProxyManager holds for it, owner_stored_proxy.pem
#   (2048-bit RSA, group testvo_user), server certificates to refuse (each with its
#   <name>_hostkey.pem): expired_hostcert.pem (2020), othername_hostcert.pem (CN and SAN
#   elsewhere.example, 192.0.2.1), selfsigned_hostcert.pem (CN=localhost, signed by itself), and a
#   second, untrusted CA: wrong-certificates/, wrong_hostcert.pem + wrong_hostkey.pem, wrong_proxy.pem.
set -euo pipefail
dir=${1:-pki}
mkdir -p "$dir"
cd "$dir"
umask 077
export OPENSSL_CONF=/dev/null  # the system configuration must not change what we make

# P-256 keys by default: RSA key generation takes seconds on a busy CI machine; PKI_KEY=rsa gives
# 2048-bit RSA keys as grid CAs issue them.
key() {
  if [ "${PKI_KEY:-ec}" = rsa ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  fi
}

cat > ext.cnf <<'EXT'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[host]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[othername]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:elsewhere.example, IP:192.0.2.1
[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[proxy_pilot]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
proxyCertInfo = critical, language:id-ppl-inheritAll
1.2.42.42 = ASN1:IA5:testvo_pilot
[proxy_user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
proxyCertInfo = critical, language:id-ppl-inheritAll
1.2.42.42 = ASN1:IA5:testvo_user
EXT

make_ca() {  # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "$2" -days 30 -sha256 -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
sign() {  # out key subject issuer-cert issuer-key extensions serial [days]
  openssl req -new -key "$2" -subj "$3" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$4" -CAkey "$5" -set_serial "$7" -days "${8:-30}" -sha256 \
    -extfile ext.cnf -extensions "$6" -out "$1" 2>/dev/null
  rm -f "$1.csr"
}
hashed_dir() {  # dir ca.pem
  mkdir -p "$1"
  cp "$2" "$1/"
  openssl rehash "$1" 2>/dev/null || c_rehash "$1" >/dev/null
}

user_dn="/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot"

make_ca ca "/C=ch/O=DIRAC/CN=DIRAC Test CA"
hashed_dir certificates ca.pem
key hostkey.pem
sign hostcert.pem hostkey.pem "/C=ch/O=DIRAC/CN=localhost" ca.pem ca.key host 1001
key userkey.pem
sign usercert.pem userkey.pem "$user_dn" ca.pem ca.key user 1002

make_proxy() {  # out group-section serial
  key "$1.key"
  sign "$1.crt" "$1.key" "$user_dn/CN=$3" usercert.pem userkey.pem "$2" "$3" 1
  cat "$1.crt" "$1.key" usercert.pem > "$1"
  rm -f "$1.crt" "$1.key"
}
make_proxy proxy.pem proxy_pilot 20001
make_proxy user_proxy.pem proxy_user 20002

# The job owner and the proxy the ProxyManager stores for it: RSA, since getStoredProxyStrength
# reports its bits and the pilot makes a key of that strength.
owner_dn="/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner"
key ownerkey.pem
sign ownercert.pem ownerkey.pem "$owner_dn" ca.pem ca.key user 1003
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out owner_stored.key 2>/dev/null
sign owner_stored.crt owner_stored.key "$owner_dn/CN=20003" ownercert.pem ownerkey.pem proxy_user 20003 30
cat owner_stored.crt owner_stored.key ownercert.pem > owner_stored_proxy.pem
rm -f owner_stored.crt owner_stored.key

# Certificates with chosen validity dates: `openssl x509 -req` cannot back-date, `openssl ca`
# can (-startdate/-enddate), so no faked clock is needed.
cat > dated.cnf <<'CNF'
[ca]
default_ca = dated
[dated]
database = dated.db/index.txt
serial = dated.db/serial
new_certs_dir = dated.db
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
CNF
sign_dated() {  # out key subject issuer-cert issuer-key extensions serial start end
  rm -rf dated.db && mkdir dated.db && : > dated.db/index.txt && echo "$7" > dated.db/serial
  openssl req -new -key "$2" -subj "$3" -out "$1.csr"
  openssl ca -batch -config dated.cnf -cert "$4" -keyfile "$5" -in "$1.csr" -out "$1" \
    -startdate "$8" -enddate "$9" -preserveDN -notext -extfile ext.cnf -extensions "$6" 2>/dev/null
  rm -rf "$1.csr" dated.db
}
make_dated_proxy() {  # out serial start end
  key "$1.key"
  sign_dated "$1.crt" "$1.key" "$user_dn/CN=$2" usercert.pem userkey.pem proxy_pilot "$2" "$3" "$4"
  cat "$1.crt" "$1.key" usercert.pem > "$1"
  rm -f "$1.crt" "$1.key"
}
make_dated_proxy expired_proxy.pem 3001 20200101000000Z 20200102000000Z
make_dated_proxy future_proxy.pem 3002 20990101000000Z 20990102000000Z

# Server certificates a client must refuse: expired, for another host name, self-signed.
key expired_hostkey.pem
sign_dated expired_hostcert.pem expired_hostkey.pem "/C=ch/O=DIRAC/CN=localhost" ca.pem ca.key host 3003 \
  20200101000000Z 20200102000000Z
key othername_hostkey.pem
sign othername_hostcert.pem othername_hostkey.pem "/C=ch/O=DIRAC/CN=elsewhere.example" ca.pem ca.key othername 3004
key selfsigned_hostkey.pem
openssl req -x509 -new -key selfsigned_hostkey.pem -subj "/C=ch/O=DIRAC/CN=localhost" -days 30 -sha256 \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "extendedKeyUsage=serverAuth" \
  -out selfsigned_hostcert.pem
rm -f dated.cnf

# A CA nobody trusts, with a host and a proxy of its own.
make_ca wrongca "/C=ch/O=Elsewhere/CN=Untrusted CA"
hashed_dir wrong-certificates wrongca.pem
key wrong_hostkey.pem
sign wrong_hostcert.pem wrong_hostkey.pem "/C=ch/O=Elsewhere/CN=localhost" wrongca.pem wrongca.key host 4001
key wrong_userkey.pem
sign wrong_usercert.pem wrong_userkey.pem "/C=ch/O=Elsewhere/CN=pilot" wrongca.pem wrongca.key user 4002
key wrong_proxy.key
sign wrong_proxy.crt wrong_proxy.key "/C=ch/O=Elsewhere/CN=pilot/CN=4003" wrong_usercert.pem wrong_userkey.pem proxy_pilot 4003 1
cat wrong_proxy.crt wrong_proxy.key wrong_usercert.pem > wrong_proxy.pem
rm -f wrong_proxy.crt wrong_proxy.key ext.cnf
chmod 600 ./*.pem
echo "test PKI ready in $(pwd)"
