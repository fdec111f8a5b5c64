package broker

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// Files of the broker that the organisation's records make (WriteFiles),
// inside ConfDir.
const (
	PeopleACLFile    = "people.acl"
	PeoplePasswdFile = "people.passwd"
)

// PasswordFile is the file in a person's folder that holds their broker
// password (0600), the browser's login on the WebSockets listener.
const PasswordFile = "broker-password"

// PersonSpec is a person to make (hearthctl provision person).
type PersonSpec struct {
	ID, Name string
	Admin    bool          // a fleet admin (Person.Admin)
	Valid    time.Duration // the certificate's life
	// NoPassword leaves them without a broker password (certificate
	// only: hearthctl, not the browser).
	NoPassword bool
}

// NewPerson makes everything a person needs, in outDir, under one id: the
// people CA's client certificate (IssuePerson: client.crt, client.key,
// ca.crt, for hearthctl --tls), their caller signing key (caller.json,
// caller.key, caller.pub: provisioning.NewCaller, for --caller and the
// browser's one-time import) and a random broker password
// (broker-password, 0600); and records them in the organisation's
// registry with the password's hash. It returns the password.
func NewPerson(orgDir string, spec PersonSpec, now time.Time, outDir string) (string, error) {
	if !proto.ValidID(spec.ID) {
		return "", fmt.Errorf("new person: id %q is not valid (letters, digits, . _ -)", spec.ID)
	}
	reg, err := provisioning.ReadRegistry(orgDir)
	if err != nil {
		return "", fmt.Errorf("new person: %w", err)
	}
	if p, ok := reg.Find(spec.ID); ok {
		if !p.Active() {
			return "", fmt.Errorf("new person %s: %w: revoked on %s; give them a new id", spec.ID, provisioning.ErrExists, p.Revoked.Format(time.DateOnly))
		}
		return "", fmt.Errorf("new person %s: %w in the registry", spec.ID, provisioning.ErrExists)
	}
	for _, f := range []string{provisioning.ClientKeyFile, provisioning.CallerKeyFile, PasswordFile} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err == nil {
			return "", fmt.Errorf("new person in %s: %w (%s)", outDir, provisioning.ErrExists, f)
		}
	}
	c, err := provisioning.NewCaller(outDir, spec.ID, spec.Name)
	if err != nil {
		return "", fmt.Errorf("new person: %w", err)
	}
	if err := IssuePerson(orgDir, spec.ID, spec.Valid, now, outDir); err != nil {
		return "", fmt.Errorf("new person: %w", err)
	}
	p := provisioning.Person{ID: spec.ID, Name: spec.Name, Key: c.Public(), Admin: spec.Admin, Added: now.UTC()}
	var pw string
	if !spec.NoPassword {
		pw = provisioning.NewPassword()
		if p.Password, err = provisioning.HashPassword(pw); err != nil {
			return "", fmt.Errorf("new person: %w", err)
		}
		if err := provisioning.WriteFile(filepath.Join(outDir, PasswordFile), []byte(pw+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("new person: %w", err)
		}
	}
	if err := provisioning.AddPerson(orgDir, p); err != nil {
		return "", fmt.Errorf("new person: %w", err)
	}
	return pw, nil
}

// rights are the topics one person may use on one device, from their
// entry on its allowlist (docs/broker.md, "ACL").
func rights(dev string, c proto.AllowedCaller) []string {
	t := func(access, sub string) string { return "topic " + access + " " + proto.Root + "/" + dev + "/" + sub }
	out := []string{
		t("read", "availability"), t("read", "state"), t("read", "heartbeat"), t("read", "allowlist"),
		t("read", "call/out/"+c.ID),
	}
	if c.May(proto.ModeForced) || c.May(proto.ModeSignalled) {
		out = append(out, t("write", "call/in"))
	}
	if c.May(proto.RightBook) {
		out = append(out, t("write", "booking"))
	}
	if c.May(proto.RightSend) {
		out = append(out, t("readwrite", "content/+"), t("read", "inventory"), t("read", "activity/+"))
	}
	// RightAdmin on a device implies RightSend (its owner-free removals
	// are the device's to judge); the broker-wide admin is Person.Admin.
	return out
}

// adminBlock is a fleet admin's reach: every device's topics to read,
// content, allowlists and admin commands to write (the lists and commands
// are signed by the organisation; content by its sender).
var adminBlock = []string{
	"topic read " + proto.Root + "/#",
	"topic readwrite " + proto.Root + "/+/content/+",
	"topic readwrite " + proto.Root + "/+/allowlist",
	"topic write " + proto.Root + "/+/admin",
}

// PeopleACL is the people's listeners' ACL file (people.acl) for the
// organisation's records: one user block per person who is a fleet admin
// or on at least one device's allowlist, with only those devices' topics,
// by right. Revoked people are left out even if a list still names them.
// Nothing else: no pattern, so a person on no list may do nothing.
func PeopleACL(reg provisioning.Registry, lists map[string]proto.Allowlist) []byte {
	topics := map[string][]string{}
	for _, p := range reg.People {
		if p.Active() && p.Admin {
			topics[p.ID] = append(topics[p.ID], adminBlock...)
		}
	}
	for _, d := range slices.Sorted(maps.Keys(lists)) {
		for _, c := range lists[d].Callers {
			if !reg.Revoked(c.ID) && len(c.Mode) > 0 {
				topics[c.ID] = append(topics[c.ID], rights(d, c)...)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(aclHeader)
	for _, id := range slices.Sorted(maps.Keys(topics)) {
		fmt.Fprintf(&b, "\nuser %s\n", id)
		for _, l := range topics[id] {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes()
}

const aclHeader = `# Hearth people.acl, made by hearthctl provision broker-files from the
# organisation's registry (ORG/people/registry.json) and its signed
# allowlists (ORG/allowlists/*.json). Do not edit: make it again instead.
# One block per person: only the screens they are on, by their rights
# there (docs/broker.md, "ACL"); fleet admins everything.
`

// PeoplePasswd is the browser listener's password file (people.passwd):
// "id:$7$..." for every person with a broker password who is not revoked.
func PeoplePasswd(reg provisioning.Registry) []byte {
	var b bytes.Buffer
	for _, p := range reg.People {
		if p.Active() && p.Password != "" {
			fmt.Fprintf(&b, "%s:%s\n", p.ID, p.Password)
		}
	}
	return b.Bytes()
}

// Written is what WriteFiles wrote: file name (in the output folder) ->
// what it is.
type Written struct {
	Dir    string
	Files  []string
	People int // user blocks in people.acl
}

// WriteFiles writes the broker's files that come from the organisation's
// records into outDir, under the names hearth.conf gives them: people.acl
// and people.passwd (0640), crl.pem and people-crl.pem (the CRLs as they
// are now in ORG) and people-ca.crt. Copy them to ConfDir and reload
// Mosquitto (or restart it to drop revoked people who are connected).
func WriteFiles(orgDir, outDir string) (Written, error) {
	w := Written{Dir: outDir}
	reg, err := provisioning.ReadRegistry(orgDir)
	if err != nil {
		return w, fmt.Errorf("broker files: %w", err)
	}
	lists, err := provisioning.ReadAllowlists(orgDir)
	if err != nil {
		return w, fmt.Errorf("broker files: %w", err)
	}
	people, err := provisioning.PeopleCA(orgDir) // makes it (and its CRL) in an older folder
	if err != nil {
		return w, fmt.Errorf("broker files: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return w, fmt.Errorf("broker files: %w", err)
	}
	acl := PeopleACL(reg, lists)
	w.People = bytes.Count(acl, []byte("\nuser "))
	files := []struct {
		name string
		b    []byte
		from string
		mode os.FileMode
	}{
		{name: PeopleACLFile, b: acl, mode: 0o640},
		{name: PeoplePasswdFile, b: PeoplePasswd(reg), mode: 0o640},
		{name: PeopleCAFile, b: people.PEM, mode: 0o644},
		{name: CRLFile, from: filepath.Join(orgDir, provisioning.CRLFile), mode: 0o644},
		{name: PeopleCRLFile, from: filepath.Join(orgDir, provisioning.PeopleDir, provisioning.CRLFile), mode: 0o644},
	}
	for _, f := range files {
		if f.from != "" {
			if f.b, err = os.ReadFile(f.from); err != nil {
				return w, fmt.Errorf("broker files: %w (hearthctl provision crl --ca makes it)", err)
			}
		}
		if err := provisioning.WriteFile(filepath.Join(outDir, f.name), f.b, f.mode); err != nil {
			return w, fmt.Errorf("broker files: %w", err)
		}
		w.Files = append(w.Files, f.name)
	}
	return w, nil
}
