package provisioning

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names of a broker's server certificate (hearthctl provision
// broker-cert), as Mosquitto's certfile and keyfile.
const (
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// CA is one of the organisation's certificate authorities: the
// organisation's CA issues the devices' client certificates and the
// brokers' server certificates, the people CA (PeopleCA) people's client
// certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	PEM  []byte // Cert as PEM, as it goes into bundles
	// OrgDir is the organisation's folder: every certificate the CA issues
	// is recorded in its IssuedFile, so that it can be revoked later by
	// device or person. Empty records nothing. LoadCA and PeopleCA set it.
	OrgDir string
	// Clients is what IssueClient's certificates are recorded as:
	// KindDevice from the organisation's CA, KindPerson from the people CA.
	Clients Kind
}

// LoadCA reads the organisation's CA (ca.crt and ca.key) from its folder.
func LoadCA(dir string) (CA, error) {
	ca, err := loadCA(dir)
	ca.OrgDir, ca.Clients = dir, KindDevice
	return ca, err
}

// loadCA reads ca.crt and ca.key from dir.
func loadCA(dir string) (CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return CA{}, fmt.Errorf("load ca: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return CA{}, fmt.Errorf("load ca %s: %w", CACertFile, err)
	}
	if !cert.IsCA {
		return CA{}, fmt.Errorf("load ca %s: not a CA certificate", CACertFile)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	fi, err := os.Stat(keyPath)
	if err != nil {
		return CA{}, fmt.Errorf("load ca: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return CA{}, fmt.Errorf("load ca: %s: readable by others (mode %v); chmod 600 it", keyPath, fi.Mode().Perm())
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return CA{}, fmt.Errorf("load ca: %w", err)
	}
	key, err := parseECKey(keyPEM)
	if err != nil {
		return CA{}, fmt.Errorf("load ca %s: %w", CAKeyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return CA{}, fmt.Errorf("load ca: %s does not belong to %s", CAKeyFile, CACertFile)
	}
	return CA{Cert: cert, Key: key, PEM: certPEM}, nil
}

// IssueClient makes a key and a client certificate for a device (or an
// admin's hearthctl): CN is the id, which the broker takes as the user name
// (Mosquitto use_identity_as_username) for its per-device ACL.
func (ca CA) IssueClient(id string, valid time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: id, Organization: ca.Cert.Subject.Organization},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	kind := ca.Clients
	if kind == "" {
		kind = KindDevice
	}
	certPEM, keyPEM, err = ca.issue(tmpl, kind, id, valid, now)
	if err != nil {
		return nil, nil, fmt.Errorf("issue client certificate for %s: %w", id, err)
	}
	return certPEM, keyPEM, nil
}

// IssueServer makes a key and a server certificate for a broker reached as
// hosts (names or IP addresses).
func (ca CA) IssueServer(hosts []string, valid time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("issue server certificate: no host")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0], Organization: ca.Cert.Subject.Organization},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, err = ca.issue(tmpl, KindBroker, strings.Join(hosts, ","), valid, now)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate for %v: %w", hosts, err)
	}
	return certPEM, keyPEM, nil
}

// issue signs tmpl for a new key and records the certificate as kind id
// before it is handed out: a certificate that is not in the record could
// not be revoked by its device or person.
func (ca CA) issue(tmpl *x509.Certificate, kind Kind, id string, valid time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if valid <= 0 {
		return nil, nil, errors.New("validity must be positive")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	// An hour's slack for clocks that are a little behind.
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(valid)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if ca.OrgDir != "" {
		rec := Issued{Kind: kind, ID: id, Serial: SerialHex(tmpl.SerialNumber), NotAfter: tmpl.NotAfter.UTC(), Issued: now.UTC()}
		if err := appendIssued(ca.OrgDir, rec); err != nil {
			return nil, nil, err
		}
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// WriteServerCert writes a broker's certificate and key into dir (key 0600)
// and a copy of the CA beside them: Mosquitto's cafile, certfile, keyfile.
func WriteServerCert(dir string, ca CA, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write server certificate: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ServerKeyFile)); err == nil {
		return fmt.Errorf("write server certificate in %s: %w", dir, ErrExists)
	}
	if err := WriteFile(filepath.Join(dir, CACertFile), ca.PEM, 0o644); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, ServerCertFile), certPEM, 0o644); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, ServerKeyFile), keyPEM, 0o600)
}

// parseCert reads exactly one PEM certificate.
func parseCert(b []byte) (*x509.Certificate, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	if len(trimSpace(rest)) != 0 {
		return nil, errors.New("more than one PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// parseECKey reads a PKCS #8 ECDSA private key.
func parseECKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key (PKCS #8)")
	}
	if len(trimSpace(rest)) != 0 {
		return nil, errors.New("more than one PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%T, want ECDSA", k)
	}
	return ek, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// File names of a client's TLS folder (hearthctl provision client-cert;
// hearthctl --tls DIR), the same as a provisioned device's tls/ folder.
const (
	ClientCertFile = "client.crt"
	ClientKeyFile  = "client.key"
)

// WriteClientCert writes a client's certificate and key into dir (key 0600)
// with a copy of the CA: what hearthctl --tls DIR reads.
func WriteClientCert(dir string, ca CA, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write client certificate: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ClientKeyFile)); err == nil {
		return fmt.Errorf("write client certificate in %s: %w", dir, ErrExists)
	}
	if err := WriteFile(filepath.Join(dir, CACertFile), ca.PEM, 0o644); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, ClientCertFile), certPEM, 0o644); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, ClientKeyFile), keyPEM, 0o600)
}

// PeopleDir is the people CA's folder inside the organisation's folder.
const PeopleDir = "people"

// PeopleCA loads the people CA from the organisation's folder
// (orgDir/people/ca.crt and ca.key), making it and its CRL on first use
// (NewOrg makes it; older organisation folders have none until then).
func PeopleCA(orgDir string) (CA, error) {
	dir := filepath.Join(orgDir, PeopleDir)
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); errors.Is(err, os.ErrNotExist) {
		org, err := loadCA(orgDir)
		if err != nil {
			return CA{}, fmt.Errorf("people ca: %w", err)
		}
		name := "Hearth people CA"
		if o := org.Cert.Subject.Organization; len(o) > 0 {
			name = o[0] + " Hearth people CA"
		}
		if err := newCA(dir, name, org.Cert.Subject.Organization, time.Now()); err != nil {
			return CA{}, fmt.Errorf("people ca: %w", err)
		}
		// Its CRL at once, so that the broker's people listener can check
		// it from the start (WriteCRLs finds the CA made above).
		if _, err := WriteCRLs(orgDir, time.Now()); err != nil {
			return CA{}, fmt.Errorf("people ca: %w", err)
		}
	}
	ca, err := loadCA(dir)
	if err != nil {
		return CA{}, fmt.Errorf("people ca: %w", err)
	}
	ca.OrgDir, ca.Clients = orgDir, KindPerson
	return ca, nil
}

// newCA makes a self-signed CA for 20 years in dir: ca.key (0600), then
// ca.crt. The certificate last: a folder with a key but no certificate is
// taken for a broken one (loadCA fails) rather than silently replaced.
func newCA(dir, cn string, org []string, now time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: org},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	if err := writePrivate(filepath.Join(dir, CAKeyFile), key); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, CACertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
