// Package broker ships Hearth's Mosquitto configuration (hearth.conf,
// devices.acl, people.acl; see docs/broker.md) and issues the client
// certificates of callers, senders and admins from the people CA.
//
// Devices and people are told apart by who signed their certificate: the
// organisation's CA (provisioning.NewOrg) signs devices, the people CA
// (provisioning.PeopleCA) signs people, and each broker listener trusts
// exactly one of them, and checks that CA's CRL. A stolen device
// certificate therefore opens only that device's own topics, never a
// caller's or an admin's, and only until it is revoked.
package broker

import (
	"embed"
	"fmt"
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

// PeopleCAFile is the people CA's certificate as the broker's people
// listener names it (cafile) inside ConfDir.
const PeopleCAFile = "people-ca.crt"

// The CRLs inside ConfDir (crlfile): the organisation's CA's
// (ORG/crl.pem) on the devices' listener, the people CA's
// (ORG/people/crl.pem) on the people's listener. Both must be there before
// the broker starts, and be signed again before they expire
// (provisioning.CRLValid): Mosquitto refuses every client of a listener
// whose CRL has expired.
const (
	CRLFile       = provisioning.CRLFile
	PeopleCRLFile = "people-crl.pem"
)

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
	ca, err := provisioning.PeopleCA(orgDir)
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
