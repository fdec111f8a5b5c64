#!/bin/sh
# Makes the DEVELOPMENT keys in this folder again (see README.md): a CA
# whose certificate is the keyring, and a bundle-signing key and
# certificate issued by it. The CA's key is thrown away: a development
# keyring signs nothing else. Run from anywhere: make-dev-keys.sh
#
# Never use these keys for an image that leaves the bench: their private
# half is in a public repository.

set -eu

dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT
# Twenty years: a development image must not stop taking updates.
days=7305

cat >"${tmp}/ext.cnf" <<CNF
[req]
distinguished_name = dn
[dn]

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
# check-purpose=codesign in system.conf: only a code-signing
# certificate of this CA can sign a bundle.
extendedKeyUsage = critical, codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -x509 -newkey rsa:4096 -nodes -keyout "${tmp}/ca.key.pem" \
	-subj "/O=Hearth development (NOT FOR PRODUCTION)/CN=Hearth development update CA" \
	-days "${days}" -config "${tmp}/ext.cnf" -extensions ca -out "${tmp}/keyring.pem"
openssl req -new -newkey rsa:4096 -nodes -keyout "${tmp}/dev.key.pem" \
	-subj "/O=Hearth development (NOT FOR PRODUCTION)/CN=Hearth development bundle signer" \
	-config "${tmp}/ext.cnf" -out "${tmp}/dev.csr.pem"
openssl x509 -req -in "${tmp}/dev.csr.pem" -CA "${tmp}/keyring.pem" -CAkey "${tmp}/ca.key.pem" \
	-CAcreateserial -days "${days}" -extfile "${tmp}/ext.cnf" -extensions signer \
	-out "${tmp}/dev.cert.pem"
openssl verify -CAfile "${tmp}/keyring.pem" "${tmp}/dev.cert.pem"

cp "${tmp}/keyring.pem" "${tmp}/dev.key.pem" "${tmp}/dev.cert.pem" "${dir}/"
chmod 0644 "${dir}/keyring.pem" "${dir}/dev.cert.pem" "${dir}/dev.key.pem"
echo "make-dev-keys.sh: new development keyring.pem, dev.key.pem, dev.cert.pem in ${dir}"
