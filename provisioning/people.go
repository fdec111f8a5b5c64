package provisioning

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// The organisation's own record of its people and of what it granted them,
// kept in its folder beside the CAs (docs/provisioning.md, "People and
// their rights"). The broker's people.acl and people.passwd are made from
// it (provisioning/broker.WriteFiles), so the broker and the devices'
// allowlists cannot drift apart.
const (
	// RegistryFile, in ORG/people/: every person (Registry), 0600: it
	// holds their broker password hashes.
	RegistryFile = "registry.json"
	// AllowlistsDir, in ORG/: DEVICE.json is the last allowlist the
	// organisation signed for that device (proto.Allowlist, as published).
	AllowlistsDir = "allowlists"
	// RegistryVersion is Registry.V.
	RegistryVersion = 1
)

// Registry is ORG/people/registry.json.
type Registry struct {
	V      int      `json:"v"`
	People []Person `json:"people"`
}

// Person is one person the organisation made (hearthctl provision person).
// Their id is one and the same everywhere: MQTT user name, CN of their
// people-CA certificate, login of their broker password, id on allowlists.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Key is their caller signing key's public half (Ed25519, 32 bytes):
	// what allowlists list for them.
	Key []byte `json:"key"`
	// Admin: a fleet admin; the broker lets them read every device's
	// topics and write allowlists, admin commands and content anywhere.
	Admin bool `json:"admin,omitempty"`
	// Password is their broker password's Mosquitto hash (HashPassword);
	// empty when they have none (certificate only) or are revoked.
	Password string    `json:"broker_password,omitempty"`
	Added    time.Time `json:"added"`
	// Revoked is when they were shut out (RevokePerson); zero while not.
	Revoked time.Time `json:"revoked,omitzero"`
	Reason  string    `json:"reason,omitempty"`
}

// Active reports whether p has not been revoked.
func (p Person) Active() bool { return p.Revoked.IsZero() }

// Find returns the person with id.
func (r Registry) Find(id string) (Person, bool) {
	i := slices.IndexFunc(r.People, func(p Person) bool { return p.ID == id })
	if i < 0 {
		return Person{}, false
	}
	return r.People[i], true
}

// Revoked reports whether id names a revoked person.
func (r Registry) Revoked(id string) bool {
	p, ok := r.Find(id)
	return ok && !p.Active()
}

// ReadRegistry reads ORG/people/registry.json; a missing file is an empty
// registry.
func ReadRegistry(orgDir string) (Registry, error) {
	b, err := os.ReadFile(filepath.Join(orgDir, PeopleDir, RegistryFile))
	if errors.Is(err, os.ErrNotExist) {
		return Registry{V: RegistryVersion}, nil
	}
	if err != nil {
		return Registry{}, fmt.Errorf("read registry: %w", err)
	}
	var r Registry
	if err := json.Unmarshal(b, &r); err != nil {
		return Registry{}, fmt.Errorf("read registry %s: %w", RegistryFile, err)
	}
	if r.V != RegistryVersion {
		return Registry{}, fmt.Errorf("read registry: version %d (want %d)", r.V, RegistryVersion)
	}
	seen := map[string]bool{}
	for _, p := range r.People {
		if !proto.ValidID(p.ID) || seen[p.ID] || len(p.Key) != ed25519.PublicKeySize {
			return Registry{}, fmt.Errorf("read registry: person %q (invalid id or key, or listed twice)", p.ID)
		}
		seen[p.ID] = true
	}
	return r, nil
}

// WriteRegistry saves r (0600) sorted by id.
func WriteRegistry(orgDir string, r Registry) error {
	r.V = RegistryVersion
	if r.People == nil {
		r.People = []Person{}
	}
	sort.Slice(r.People, func(i, j int) bool { return r.People[i].ID < r.People[j].ID })
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(orgDir, PeopleDir), 0o700); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	return WriteFile(filepath.Join(orgDir, PeopleDir, RegistryFile), append(b, '\n'), 0o600)
}

// AddPerson records p. An id already in the registry, revoked or not, is
// refused: a revoked id stays revoked (make the person again under a new
// id), and a live one is not overwritten.
func AddPerson(orgDir string, p Person) error {
	if !proto.ValidID(p.ID) || len(p.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("add person: id %q or key invalid", p.ID)
	}
	r, err := ReadRegistry(orgDir)
	if err != nil {
		return fmt.Errorf("add person: %w", err)
	}
	if old, ok := r.Find(p.ID); ok {
		if !old.Active() {
			return fmt.Errorf("add person %s: %w: revoked on %s; give them a new id", p.ID, ErrExists, old.Revoked.Format(time.DateOnly))
		}
		return fmt.Errorf("add person %s: %w", p.ID, ErrExists)
	}
	r.People = append(r.People, p)
	return WriteRegistry(orgDir, r)
}

// ReadAllowlist returns the last allowlist the organisation signed for
// device (ORG/allowlists/DEVICE.json), ok false when there is none.
func ReadAllowlist(orgDir, device string) (a proto.Allowlist, ok bool, err error) {
	if !proto.ValidID(device) {
		return a, false, fmt.Errorf("read allowlist: device id %q", device)
	}
	b, err := os.ReadFile(filepath.Join(orgDir, AllowlistsDir, device+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read allowlist: %w", err)
	}
	if a, err = proto.DecodeAllowlist(b); err != nil {
		return a, false, fmt.Errorf("read allowlist of %s: %w", device, err)
	}
	return a, true, nil
}

// ReadAllowlists returns every device's last signed allowlist, by device id.
func ReadAllowlists(orgDir string) (map[string]proto.Allowlist, error) {
	ents, err := os.ReadDir(filepath.Join(orgDir, AllowlistsDir))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]proto.Allowlist{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read allowlists: %w", err)
	}
	out := map[string]proto.Allowlist{}
	for _, e := range ents {
		dev, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !proto.ValidID(dev) {
			continue
		}
		a, ok, err := ReadAllowlist(orgDir, dev)
		if err != nil {
			return nil, err
		}
		if ok {
			out[dev] = a
		}
	}
	return out, nil
}

// WriteAllowlist records a as the last allowlist signed for device. A
// list with a serial not above the recorded one is refused: the record
// only moves forward, as the device does.
func WriteAllowlist(orgDir, device string, a proto.Allowlist) error {
	old, ok, err := ReadAllowlist(orgDir, device)
	if err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	if ok && a.Serial <= old.Serial && !slices.Equal(a.Sig, old.Sig) {
		return fmt.Errorf("write allowlist of %s: serial %d is not above the recorded %d", device, a.Serial, old.Serial)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	dir := filepath.Join(orgDir, AllowlistsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	return WriteFile(filepath.Join(dir, device+".json"), append(b, '\n'), 0o644)
}

// Resign returns list signed again with serial (its callers as they are),
// issued now.
func (o Org) Resign(list proto.Allowlist, serial uint64, now time.Time) proto.Allowlist {
	out := list
	out.V, out.Serial, out.Issued, out.Sig = proto.Version, serial, now.UTC(), nil
	if out.Callers == nil {
		out.Callers = []proto.AllowedCaller{}
	}
	out.Sig = ed25519.Sign(o.Key, out.SigningBytes())
	return out
}

// PersonRevokeResult is what RevokePerson did.
type PersonRevokeResult struct {
	Certs RevokeResult // the certificates (CRLs)
	// NoCertificate: the record names no certificate of theirs (a caller
	// made with caller new, known only from allowlists).
	NoCertificate bool
	// Registry: they were in the registry, now marked revoked, their
	// broker password hash dropped.
	Registry bool
	// Allowlists are the devices' lists that listed them, re-signed
	// without them with the next serial (recorded, not published).
	Allowlists map[string]proto.Allowlist
}

// RevokePerson shuts a person out in the organisation's records at once:
// every certificate of theirs into the CRL (Revoke), the registry entry
// marked revoked without its password hash, and every recorded allowlist
// that lists them re-signed without them, serial + 1. What reaches the
// broker and the devices from here: broker.WriteFiles (people.acl,
// people.passwd, CRLs) and publishing the lists (hearthctl allow
// --publish). An id found nowhere is ErrNotIssued.
func RevokePerson(orgDir, id, reason string, now time.Time) (PersonRevokeResult, error) {
	res := PersonRevokeResult{Allowlists: map[string]proto.Allowlist{}}
	if !proto.ValidID(id) {
		return res, fmt.Errorf("revoke person: id %q is not valid", id)
	}
	reg, err := ReadRegistry(orgDir)
	if err != nil {
		return res, fmt.Errorf("revoke person: %w", err)
	}
	lists, err := ReadAllowlists(orgDir)
	if err != nil {
		return res, fmt.Errorf("revoke person: %w", err)
	}
	_, inReg := reg.Find(id)
	listed := false
	for _, a := range lists {
		listed = listed || slices.ContainsFunc(a.Callers, func(c proto.AllowedCaller) bool { return c.ID == id })
	}
	res.Certs, err = Revoke(orgDir, Match{Person: id}, reason, now)
	if errors.Is(err, ErrNotIssued) && (inReg || listed) {
		res.NoCertificate, err = true, nil
	}
	if err != nil {
		return res, err
	}
	if inReg {
		for i := range reg.People {
			if p := &reg.People[i]; p.ID == id && p.Active() {
				p.Revoked, p.Reason, p.Password = now.UTC(), reason, ""
				res.Registry = true
			}
		}
		if err := WriteRegistry(orgDir, reg); err != nil {
			return res, fmt.Errorf("revoke person: %w", err)
		}
	}
	var org Org
	for _, dev := range slices.Sorted(maps.Keys(lists)) {
		a := lists[dev]
		if !slices.ContainsFunc(a.Callers, func(c proto.AllowedCaller) bool { return c.ID == id }) {
			continue
		}
		if org.Key == nil {
			if org, err = LoadOrg(orgDir); err != nil {
				return res, fmt.Errorf("revoke person: %w", err)
			}
		}
		next := org.Allow(a, proto.AllowedCaller{ID: id}, now) // no modes: removed, serial + 1
		if err := WriteAllowlist(orgDir, dev, next); err != nil {
			return res, fmt.Errorf("revoke person: %w", err)
		}
		res.Allowlists[dev] = next
	}
	return res, nil
}
