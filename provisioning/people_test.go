package provisioning

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// TestRegistryAndAllowlistRecords: ids are not reused (a revoked one
// neither), a recorded allowlist only moves forward, and RevokePerson
// takes a caller known only from lists (no certificate) off every list
// that names them, serial + 1, and nothing else.
func TestRegistryAndAllowlistRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "org")
	org, err := NewOrg(dir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	key := func() []byte { k, _, _ := ed25519.GenerateKey(nil); return k }
	if err := AddPerson(dir, Person{ID: "anna", Name: "Anna", Key: key(), Added: now}); err != nil {
		t.Fatal(err)
	}
	if err := AddPerson(dir, Person{ID: "anna", Name: "Anna 2", Key: key()}); !errors.Is(err, ErrExists) {
		t.Errorf("AddPerson(anna again) = %v, want ErrExists", err)
	}
	carl := proto.AllowedCaller{ID: "carl", Name: "Carl", Key: key(), Mode: []proto.CallMode{proto.ModeForced}}
	anna := proto.AllowedCaller{ID: "anna", Name: "Anna", Key: key(), Mode: []proto.CallMode{proto.RightSend}}
	a := org.Allow(org.Allow(proto.Allowlist{}, carl, now), anna, now) // serial 2
	b := org.Allow(proto.Allowlist{}, anna, now)                       // serial 1
	for dev, l := range map[string]proto.Allowlist{"dev-a": a, "dev-b": b} {
		if err := WriteAllowlist(dir, dev, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteAllowlist(dir, "dev-a", org.Resign(a, 1, now)); err == nil {
		t.Error("WriteAllowlist took a lower serial")
	}
	res, err := RevokePerson(dir, "carl", "left", now)
	if err != nil || !res.NoCertificate || res.Registry || len(res.Allowlists) != 1 || res.Allowlists["dev-a"].Serial != 3 {
		t.Fatalf("RevokePerson(carl) = %+v, %v", res, err)
	}
	got, _, _ := ReadAllowlist(dir, "dev-a")
	if len(got.Callers) != 1 || got.Callers[0].ID != "anna" || !ed25519.Verify(org.Public(), got.SigningBytes(), got.Sig) {
		t.Errorf("dev-a's list after revoking carl = %+v", got)
	}
	if got, _, _ := ReadAllowlist(dir, "dev-b"); got.Serial != 1 {
		t.Errorf("dev-b's list, which never named carl, was signed again: %d", got.Serial)
	}
	if _, err := RevokePerson(dir, "nobody", "", now); !errors.Is(err, ErrNotIssued) {
		t.Errorf("RevokePerson(nobody) = %v, want ErrNotIssued", err)
	}
	// anna is in the registry (no certificate): revoked there too, and
	// her id is not given out again.
	res, err = RevokePerson(dir, "anna", "left", now)
	if err != nil || !res.Registry || len(res.Allowlists) != 2 {
		t.Fatalf("RevokePerson(anna) = %+v, %v", res, err)
	}
	reg, _ := ReadRegistry(dir)
	if p, _ := reg.Find("anna"); p.Active() || p.Password != "" || !reg.Revoked("anna") {
		t.Errorf("anna in the registry after revoke = %+v", p)
	}
	if err := AddPerson(dir, Person{ID: "anna", Name: "Anna", Key: key()}); !errors.Is(err, ErrExists) {
		t.Errorf("AddPerson(revoked anna) = %v, want ErrExists", err)
	}
}

// TestRequireSignedItemsReachesTheState: the bundle's require_signed_items,
// signed with it, is the applied state's RequireSignedItems.
func TestRequireSignedItemsReachesTheState(t *testing.T) {
	org, ca, _ := testOrg(t)
	for _, want := range []bool{true, false} {
		w := newWorld(t)
		spec := testSpec()
		spec.RequireSignedItems = want
		if _, err := w.apply(issue(t, org, ca, spec, t0)); err != nil {
			t.Fatal(err)
		}
		if st, _ := w.load(); st.RequireSignedItems != want {
			t.Errorf("State.RequireSignedItems = %v, want %v", st.RequireSignedItems, want)
		}
	}
}
