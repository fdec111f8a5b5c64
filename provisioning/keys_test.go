package provisioning

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

func TestKeysRoundTrip(t *testing.T) {
	dir := t.TempDir()
	org, err := NewOrg(filepath.Join(dir, "org"), "Care Co")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewOrg(filepath.Join(dir, "org"), "Care Co"); !errors.Is(err, ErrExists) {
		t.Fatalf("second NewOrg = %v, want ErrExists", err)
	}
	pub, err := ReadPublic(filepath.Join(dir, "org", OrgPubFile))
	if err != nil || !pub.Equal(org.Public()) {
		t.Fatalf("ReadPublic = %v, %v", pub, err)
	}
	c, err := NewCaller(filepath.Join(dir, "anna"), "", "Anna Berg")
	if err != nil || c.ID != "anna-berg" {
		t.Fatalf("NewCaller = %+v, %v", c, err)
	}
	got, err := LoadCaller(filepath.Join(dir, "anna"))
	if err != nil || got.ID != c.ID || !got.Key.Equal(c.Key) {
		t.Fatalf("LoadCaller = %+v, %v", got, err)
	}
	// A key others can read is refused, not used.
	os.Chmod(filepath.Join(dir, "anna", CallerKeyFile), 0o644)
	if _, err := LoadCaller(filepath.Join(dir, "anna")); err == nil {
		t.Fatal("LoadCaller took a world-readable key")
	}

	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	l1 := org.Allow(proto.Allowlist{}, proto.AllowedCaller{ID: "anna", Key: c.Public(), Mode: []proto.CallMode{proto.ModeSignalled}}, now)
	l2 := org.Allow(l1, proto.AllowedCaller{ID: "nurse", Key: c.Public(), Mode: []proto.CallMode{proto.ModeForced}}, now)
	l3 := org.Allow(l2, proto.AllowedCaller{ID: "anna"}, now)
	if l3.Serial != 3 || len(l2.Callers) != 2 || len(l3.Callers) != 1 || l3.Callers[0].ID != "nurse" {
		t.Fatalf("allowlists: %+v %+v", l2, l3)
	}
	if !ed25519.Verify(org.Public(), l3.SigningBytes(), l3.Sig) {
		t.Fatal("allowlist signature does not verify")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Anna": "anna", "Nurse Eva K.": "nurse-eva-k", "  Åsa 2 ": "sa-2"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
