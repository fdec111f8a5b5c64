// Package broker ships Hearth's Mosquitto configuration (hearth.conf,
// devices.acl, people.acl; see docs/broker.md) and the people CA that
// issues the client certificates of callers, senders and admins.
//
// Devices and people are told apart by who signed their certificate: the
// organisation's CA (provisioning.NewOrg) signs devices, the people CA
// signs people, and each broker listener trusts exactly one of them. A
// stolen device certificate therefore opens only that device's own topics,
// never a caller's or an admin's.
package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// Files holds the shipped configuration: hearth.conf (listeners),
// devices.acl and people.acl, written for /etc/mosquitto/hearth/.
//
//go:embed hearth.conf devices.acl people.acl
var Files embed.FS

// ConfDir is where the shipped hearth.conf expects certificates and ACLs.
const ConfDir = "/etc/mosquitto/hearth"

// Ports of the shipped listeners.
const (
	DevicePort   = 8883 // devices, MQTT over TLS, org CA
	PeoplePort   = 8884 // people, MQTT over TLS, people CA
	PeopleWSPort = 8885 // browser callers, secure WebSockets, password
)

// PeopleDir is the people CA's folder inside the organisation's folder.
const PeopleDir = "people"

// PeopleCAFile is the people CA's certificate as the broker's people
// listeners name it (cafile) inside ConfDir.
const PeopleCAFile = "people-ca.crt"

// PeopleCA loads the people CA from the organisation's folder
// (orgDir/people/ca.crt and ca.key), making it on first use.
func PeopleCA(orgDir string) (provisioning.CA, error) {
	dir := filepath.Join(orgDir, PeopleDir)
	if _, err := os.Stat(filepath.Join(dir, provisioning.CAKeyFile)); errors.Is(err, os.ErrNotExist) {
		org, err := provisioning.LoadCA(orgDir)
		if err != nil {
			return provisioning.CA{}, fmt.Errorf("people ca: %w", err)
		}
		if err := newCA(dir, org.Cert.Subject.Organization); err != nil {
			return provisioning.CA{}, fmt.Errorf("people ca: %w", err)
		}
	}
	ca, err := provisioning.LoadCA(dir)
	if err != nil {
		return provisioning.CA{}, fmt.Errorf("people ca: %w", err)
	}
	return ca, nil
}

func newCA(dir string, org []string) error {
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
	name := "Hearth people CA"
	if len(org) > 0 {
		name = org[0] + " Hearth people CA"
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: org},
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
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// The certificate last: PeopleCA takes a folder with a key but no
	// certificate for a broken one instead of making a second CA.
	if err := provisioning.WriteFile(filepath.Join(dir, provisioning.CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return provisioning.WriteFile(filepath.Join(dir, provisioning.CACertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// IssuePerson writes a person's client certificate from the people CA (CN =
// id, the caller id the broker's ACL knows them by) into outDir as
// hearthctl --tls reads it: client.crt, client.key and ca.crt, the
// organisation's CA that vouches for the broker.
func IssuePerson(orgDir, id string, valid time.Duration, now time.Time, outDir string) error {
	if !proto.ValidID(id) {
		return fmt.Errorf("issue person: id %q is not valid (letters, digits, . _ -)", id)
	}
	if _, err := os.Stat(filepath.Join(outDir, provisioning.ClientKeyFile)); err == nil {
		return fmt.Errorf("issue person in %s: %w", outDir, provisioning.ErrExists)
	}
	ca, err := PeopleCA(orgDir)
	if err != nil {
		return err
	}
	orgCA, err := os.ReadFile(filepath.Join(orgDir, provisioning.CACertFile))
	if err != nil {
		return fmt.Errorf("issue person: %w", err)
	}
	crt, key, err := ca.IssueClient(id, valid, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return fmt.Errorf("issue person: %w", err)
	}
	if err := provisioning.WriteFile(filepath.Join(outDir, provisioning.CACertFile), orgCA, 0o644); err != nil {
		return err
	}
	if err := provisioning.WriteFile(filepath.Join(outDir, provisioning.ClientCertFile), crt, 0o644); err != nil {
		return err
	}
	return provisioning.WriteFile(filepath.Join(outDir, provisioning.ClientKeyFile), key, 0o600)
}
