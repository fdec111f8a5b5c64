package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openT(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet()
	}
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func msg(id string, rev uint64) proto.Item {
	return proto.Item{V: 1, ID: id, Device: "dev1", Rev: rev, Kind: proto.KindMessage, Text: "hello " + id,
		Start: t0, End: t0.Add(24 * time.Hour)}
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func inline(id string, rev uint64, data []byte) proto.Item {
	return proto.Item{V: 1, ID: id, Device: "dev1", Rev: rev, Kind: proto.KindPhoto, Text: "photo " + id,
		Start: t0, End: t0.Add(24 * time.Hour),
		Photo: &proto.Photo{Data: data, SHA256: hashOf(data), Size: int64(len(data))}}
}

func byURL(id string, rev uint64, url string, data []byte) proto.Item {
	it := inline(id, rev, data)
	it.Photo.Data, it.Photo.URL = nil, url
	return it
}

func tomb(id string, rev uint64) proto.Item {
	return proto.Item{V: 1, ID: id, Device: "dev1", Rev: rev, Deleted: true}
}

func mustApply(t *testing.T, s *Store, it proto.Item, want Outcome) {
	t.Helper()
	got, err := s.Apply(it, t0)
	if err != nil || got != want {
		t.Fatalf("Apply(%s rev %d) = %v, %v; want %v", it.ID, it.Rev, got, err, want)
	}
}

func get(t *testing.T, s *Store, id string) Record {
	t.Helper()
	r, ok, err := s.Get(id)
	if err != nil || !ok {
		t.Fatalf("Get(%s) = %v, %v", id, ok, err)
	}
	return r
}

// liveRevs maps id to rev of the live view.
func liveRevs(t *testing.T, s *Store) map[string]uint64 {
	t.Helper()
	recs, err := s.Live()
	if err != nil {
		t.Fatalf("Live() = %v", err)
	}
	m := map[string]uint64{}
	for _, r := range recs {
		m[r.Item.ID] = r.Item.Rev
	}
	return m
}

func equalRevs(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{
		0: "Outcome(0)", Added: "added", Updated: "updated", Deleted: "deleted",
		Stale: "stale", Duplicate: "duplicate", Duplicate + 1: "Outcome(6)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestApplyRevisions(t *testing.T) {
	type step struct {
		it   proto.Item
		want Outcome
	}
	tests := []struct {
		name      string
		steps     []step
		wantState proto.ItemState
		wantRev   uint64
		wantLive  map[string]uint64
	}{
		{"new", []step{{msg("a", 1), Added}}, proto.StateReady, 1, map[string]uint64{"a": 1}},
		{"duplicate", []step{{msg("a", 1), Added}, {msg("a", 1), Duplicate}}, proto.StateReady, 1, map[string]uint64{"a": 1}},
		{"update", []step{{msg("a", 1), Added}, {msg("a", 3), Updated}}, proto.StateReady, 3, map[string]uint64{"a": 3}},
		{"stale", []step{{msg("a", 3), Added}, {msg("a", 2), Stale}}, proto.StateReady, 3, map[string]uint64{"a": 3}},
		{"tombstone", []step{{msg("a", 1), Added}, {tomb("a", 2), Deleted}}, proto.StateDeleted, 2, map[string]uint64{}},
		{"late revision stays dead", []step{{tomb("a", 2), Deleted}, {msg("a", 1), Stale}}, proto.StateDeleted, 2, map[string]uint64{}},
		{"tombstone duplicate", []step{{tomb("a", 2), Deleted}, {tomb("a", 2), Duplicate}}, proto.StateDeleted, 2, map[string]uint64{}},
		{"revived by higher rev", []step{{msg("a", 1), Added}, {tomb("a", 2), Deleted}, {msg("a", 3), Updated}}, proto.StateReady, 3, map[string]uint64{"a": 3}},
		{"photo pending", []step{{inline("a", 1, []byte("jpeg")), Added}}, proto.StatePending, 1, map[string]uint64{}},
		{"message keeps live while photo revision pending", []step{{msg("a", 1), Added}, {inline("a", 2, []byte("jpeg")), Updated}}, proto.StatePending, 2, map[string]uint64{"a": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openT(t, t.TempDir(), Options{})
			for _, st := range tt.steps {
				mustApply(t, s, st.it, st.want)
			}
			r := get(t, s, "a")
			if r.State != tt.wantState || r.Item.Rev != tt.wantRev {
				t.Errorf("Get(a) = %s rev %d, want %s rev %d", r.State, r.Item.Rev, tt.wantState, tt.wantRev)
			}
			if got := liveRevs(t, s); !equalRevs(got, tt.wantLive) {
				t.Errorf("Live() = %v, want %v", got, tt.wantLive)
			}
		})
	}
}

func TestApplyInvalid(t *testing.T) {
	noPhoto := inline("a", 1, []byte("x"))
	noPhoto.Photo = nil
	badSHA := byURL("a", 1, "https://x/y", []byte("x"))
	badSHA.Photo.SHA256 = "../../etc/passwd"
	kind := msg("a", 1)
	kind.Kind = "video"
	for name, it := range map[string]proto.Item{
		"bad id":       msg("a/b", 1),
		"rev 0":        msg("a", 0),
		"no photo":     noPhoto,
		"bad sha":      badSHA,
		"unknown kind": kind,
	} {
		t.Run(name, func(t *testing.T) {
			s := openT(t, t.TempDir(), Options{})
			if out, err := s.Apply(it, t0); !errors.Is(err, ErrInvalid) {
				t.Errorf("Apply() = %v, %v; want ErrInvalid", out, err)
			}
			if all, _ := s.All(); len(all) != 0 {
				t.Errorf("All() = %d records, want 0", len(all))
			}
		})
	}
}

func TestApplyInlinePhoto(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	data := []byte("not really a jpeg")
	it := inline("p", 1, data)
	mustApply(t, s, it, Added)
	if len(it.Photo.Data) == 0 {
		t.Fatal("Apply emptied the caller's photo data")
	}
	r := get(t, s, "p")
	if r.State != proto.StatePending || r.Orig != hashOf(data) || r.Screen != "" {
		t.Errorf("Get(p) = %s orig %q screen %q, want pending orig %s", r.State, r.Orig, r.Screen, hashOf(data))
	}
	if r.Item.Photo == nil || r.Item.Photo.Data != nil || r.Item.Photo.SHA256 != hashOf(data) {
		t.Errorf("stored photo = %+v, want metadata without data", r.Item.Photo)
	}
	if !r.Received.Equal(t0) {
		t.Errorf("Received = %v, want %v", r.Received, t0)
	}
	b, err := os.ReadFile(s.BlobPath(r.Orig))
	if err != nil || !bytes.Equal(b, data) {
		t.Errorf("blob %s = %q, %v; want %q", r.Orig, b, err, data)
	}
	if p, err := s.Pending(); err != nil || len(p) != 1 || p[0].Item.ID != "p" {
		t.Errorf("Pending() = %v, %v; want [p]", p, err)
	}
}

func TestApplyInlineShaMismatch(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	mustApply(t, s, msg("p", 1), Added)
	it := inline("p", 2, []byte("bytes"))
	it.Photo.SHA256 = hashOf([]byte("other bytes"))
	mustApply(t, s, it, Updated)
	r := get(t, s, "p")
	if r.State != proto.StateRefused || r.Reason == "" || r.Orig != "" {
		t.Errorf("Get(p) = %s %q orig %q, want refused with a reason and no blob", r.State, r.Reason, r.Orig)
	}
	if got := liveRevs(t, s); got["p"] != 1 {
		t.Errorf("Live() = %v, want p rev 1 still live", got)
	}
	if e, _ := os.ReadDir(filepath.Join(s.dir, "blobs")); len(e) != 0 {
		t.Errorf("blobs dir has %d files, want 0", len(e))
	}
}

func TestResolveRefuse(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	one, two, three := []byte("photo one"), []byte("photo two"), []byte("photo three")

	mustApply(t, s, inline("p", 1, one), Added)
	if err := s.Resolve("p", 1, hashOf(one), []byte("screen one")); err != nil {
		t.Fatalf("Resolve(p, 1) = %v", err)
	}
	r := get(t, s, "p")
	if r.State != proto.StateReady || r.Screen != hashOf([]byte("screen one")) {
		t.Fatalf("after Resolve: %s screen %s", r.State, r.Screen)
	}
	if b, _ := os.ReadFile(s.BlobPath(r.Screen)); string(b) != "screen one" {
		t.Errorf("screen blob = %q, want %q", b, "screen one")
	}

	// A bad rev 2 is refused; rev 1 stays on screen.
	mustApply(t, s, inline("p", 2, two), Updated)
	if err := s.Refuse("p", 2, "not a picture", t0); err != nil {
		t.Fatalf("Refuse(p, 2) = %v", err)
	}
	if r := get(t, s, "p"); r.State != proto.StateRefused || r.Reason != "not a picture" {
		t.Errorf("Get(p) = %s %q, want refused %q", r.State, r.Reason, "not a picture")
	}
	if got := liveRevs(t, s); got["p"] != 1 {
		t.Errorf("Live() = %v, want p rev 1", got)
	}
	// The refusal is listed and reported like a refused payload, once.
	if err := s.Refuse("p", 2, "not a picture", t0); err != nil {
		t.Fatalf("Refuse(p, 2) again = %v", err)
	}
	refs, _ := s.Refusals()
	acts, _ := s.Activities(0, 100)
	if len(refs) != 1 || refs[0].ID != "p" || refs[0].Rev != 2 || refs[0].Reason != "not a picture" || !refs[0].Time.Equal(t0) {
		t.Errorf("Refusals() = %+v, want p rev 2 once", refs)
	}
	if len(acts) != 1 || acts[0].Type != "input_refused" || acts[0].Item != "p" || acts[0].ItemKind != proto.KindPhoto || acts[0].Reason != "not a picture" {
		t.Errorf("Activities() = %+v, want one input_refused of photo p", acts)
	}
	// Resolving the refused or an older revision does nothing.
	if err := s.Resolve("p", 2, hashOf(two), []byte("s2")); err != nil {
		t.Errorf("Resolve(refused rev) = %v, want nil (ignored)", err)
	}
	if err := s.Resolve("p", 1, hashOf(one), []byte("s1")); err != nil {
		t.Errorf("Resolve(old rev) = %v, want nil (ignored)", err)
	}
	if err := s.Refuse("nope", 1, "x", t0); err != nil {
		t.Errorf("Refuse(unknown) = %v, want nil (ignored)", err)
	}
	if got := liveRevs(t, s); got["p"] != 1 {
		t.Errorf("Live() = %v, want p rev 1", got)
	}

	// A good rev 3 replaces rev 1 once resolved.
	mustApply(t, s, inline("p", 3, three), Updated)
	if got := liveRevs(t, s); got["p"] != 1 {
		t.Errorf("Live() while rev 3 pending = %v, want p rev 1", got)
	}
	if err := s.Resolve("p", 3, hashOf(one), []byte("s3")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Resolve(wrong original) = %v, want ErrInvalid", err)
	}
	if err := s.Resolve("p", 3, hashOf(three), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Resolve(empty screen) = %v, want ErrInvalid", err)
	}
	if err := s.Resolve("p", 3, hashOf(three), []byte("screen three")); err != nil {
		t.Fatalf("Resolve(p, 3) = %v", err)
	}
	if got := liveRevs(t, s); got["p"] != 3 {
		t.Errorf("Live() = %v, want p rev 3", got)
	}
}

func TestResolveURLPhoto(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	data := []byte("fetched bytes")
	mustApply(t, s, byURL("u", 1, "https://example.com/u.jpg", data), Added)
	if r := get(t, s, "u"); r.Orig != "" || r.State != proto.StatePending {
		t.Fatalf("Get(u) = %s orig %q, want pending without original", r.State, r.Orig)
	}
	if err := s.Resolve("u", 1, hashOf(data), []byte("scr")); !errors.Is(err, ErrBlobMissing) {
		t.Errorf("Resolve before the original is written = %v, want ErrBlobMissing", err)
	}
	h, err := s.WriteBlob(data)
	if err != nil || h != hashOf(data) {
		t.Fatalf("WriteBlob() = %s, %v", h, err)
	}
	if err := s.Resolve("u", 1, h, []byte("scr")); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if r := get(t, s, "u"); r.State != proto.StateReady || r.Orig != h {
		t.Errorf("Get(u) = %s orig %s, want ready orig %s", r.State, r.Orig, h)
	}
}

func TestSameShaEditIsReadyAtOnce(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	data := []byte("the photo")
	mustApply(t, s, byURL("p", 1, "https://x/p.jpg", data), Added)
	h, _ := s.WriteBlob(data)
	if err := s.Resolve("p", 1, h, []byte("screen")); err != nil {
		t.Fatal(err)
	}
	moved := byURL("p", 2, "https://x/p.jpg", data)
	moved.Start, moved.End = t0.Add(48*time.Hour), t0.Add(72*time.Hour)
	mustApply(t, s, moved, Updated)
	r := get(t, s, "p")
	if r.State != proto.StateReady || r.Screen != hashOf([]byte("screen")) || r.Orig != h {
		t.Errorf("Get(p) = %s orig %s screen %s, want ready reusing the blobs", r.State, r.Orig, r.Screen)
	}
	lv, _ := s.Live()
	if len(lv) != 1 || lv[0].Item.Rev != 2 || !lv[0].Item.Start.Equal(moved.Start) {
		t.Errorf("Live() = %+v, want rev 2 with the new window", lv)
	}
	if p, _ := s.Pending(); len(p) != 0 {
		t.Errorf("Pending() = %d records, want 0", len(p))
	}
}

func TestPendingKeepsFetchedOriginal(t *testing.T) {
	// An edit of an unresolved inline photo keeps the original on disk.
	s := openT(t, t.TempDir(), Options{})
	data := []byte("inline photo")
	mustApply(t, s, inline("p", 1, data), Added)
	mustApply(t, s, byURL("p", 2, "https://x/p.jpg", data), Updated)
	if r := get(t, s, "p"); r.State != proto.StatePending || r.Orig != hashOf(data) {
		t.Errorf("Get(p) = %s orig %q, want pending with the original kept", r.State, r.Orig)
	}
}

func TestChanged(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	isClosed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	c := s.Changed()
	mustApply(t, s, msg("a", 1), Added)
	if !isClosed(c) {
		t.Error("Changed() not closed after Added")
	}
	c = s.Changed()
	if isClosed(c) {
		t.Fatal("new Changed() channel already closed")
	}
	mustApply(t, s, msg("a", 1), Duplicate)
	mustApply(t, s, msg("a", 0+1), Duplicate)
	if isClosed(c) {
		t.Error("Changed() closed after a Duplicate")
	}
	if err := s.AddRefusal(proto.Refusal{Time: t0, Topic: "x", Reason: "bad"}); err != nil {
		t.Fatal(err)
	}
	if !isClosed(c) {
		t.Error("Changed() not closed after AddRefusal")
	}
}

func TestRefusalsBounded(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{MaxRefusals: 3})
	for i := range 5 {
		if err := s.AddRefusal(proto.Refusal{Time: t0, Topic: "t", Rev: uint64(i), Reason: fmt.Sprint("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Refusals()
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range got {
		reasons = append(reasons, r.Reason)
	}
	if fmt.Sprint(reasons) != "[r2 r3 r4]" {
		t.Errorf("Refusals() = %v, want [r2 r3 r4]", reasons)
	}
}

func TestExpire(t *testing.T) {
	s := openT(t, t.TempDir(), Options{KeepTombstones: 7 * 24 * time.Hour})
	end := t0.Add(24 * time.Hour)
	mustApply(t, s, msg("ended", 1), Added) // ends at t0+24h
	later := msg("later", 1)
	later.End = end.Add(time.Hour)
	mustApply(t, s, later, Added)

	// A ready photo whose newer, refused revision ended earlier: the live
	// window still runs, so both views stay.
	pdata := []byte("kept photo")
	p1 := inline("photo", 1, pdata)
	p1.End = end.Add(time.Hour)
	mustApply(t, s, p1, Added)
	if err := s.Resolve("photo", 1, hashOf(pdata), []byte("kept screen")); err != nil {
		t.Fatal(err)
	}
	p2 := inline("photo", 2, []byte("refused photo"))
	p2.End = end.Add(-time.Hour)
	mustApply(t, s, p2, Updated)
	if err := s.Refuse("photo", 2, "bad", t0); err != nil {
		t.Fatal(err)
	}
	// An ended photo: its blobs go with it.
	gone := []byte("gone photo")
	mustApply(t, s, inline("gonephoto", 1, gone), Added)
	if err := s.Resolve("gonephoto", 1, hashOf(gone), []byte("gone screen")); err != nil {
		t.Fatal(err)
	}
	// A tombstone received at t0, kept 7 days.
	if _, err := s.Apply(tomb("dead", 1), t0); err != nil {
		t.Fatal(err)
	}

	n, err := s.Expire(end)
	if err != nil || n != 2 {
		t.Fatalf("Expire(end) = %d, %v; want 2 (ended, gonephoto)", n, err)
	}
	all, _ := s.All()
	var ids []string
	for _, r := range all {
		ids = append(ids, r.Item.ID)
	}
	if got := fmt.Sprint(ids); got != "[dead later photo]" {
		t.Errorf("All() ids = %s, want [dead later photo]", got)
	}
	if got := liveRevs(t, s); !equalRevs(got, map[string]uint64{"later": 1, "photo": 1}) {
		t.Errorf("Live() = %v, want later 1, photo 1", got)
	}
	// The blobs of the expired photo were written within the grace period:
	// kept by Expire's GC, removed by one after the grace.
	for _, b := range [][]byte{gone, []byte("gone screen")} {
		if _, err := os.Stat(s.BlobPath(hashOf(b))); err != nil {
			t.Errorf("fresh blob after Expire: %v", err)
		}
	}
	s.wallNow = func() time.Time { return time.Now().Add(time.Hour) }
	if n, err := s.GC(); err != nil || n != 3 {
		t.Errorf("GC() after the grace = %d, %v; want 3 (gone photo, its screen, refused photo)", n, err)
	}
	for _, b := range [][]byte{pdata, []byte("kept screen")} {
		if _, err := os.Stat(s.BlobPath(hashOf(b))); err != nil {
			t.Errorf("live blob after GC: %v", err)
		}
	}
	// Nothing left to expire: no write, nothing dropped.
	if n, err := s.Expire(end); err != nil || n != 0 {
		t.Errorf("second Expire(end) = %d, %v; want 0", n, err)
	}
	// Later the other windows end; the tombstone stays its 7 days.
	if n, err := s.Expire(t0.Add(7*24*time.Hour - time.Second)); err != nil || n != 2 {
		t.Errorf("Expire(t0+7d-1s) = %d, %v; want 2 (later, photo)", n, err)
	}
	if n, err := s.Expire(t0.Add(7 * 24 * time.Hour)); err != nil || n != 1 {
		t.Errorf("Expire(t0+7d) = %d, %v; want 1 (the tombstone)", n, err)
	}
	if all, _ := s.All(); len(all) != 0 {
		t.Errorf("All() = %d records, want 0", len(all))
	}
	if got := liveRevs(t, s); len(got) != 0 {
		t.Errorf("Live() = %v, want empty", got)
	}
}

func TestGC(t *testing.T) {
	dir := t.TempDir()
	keep := []byte("referenced original")
	orphan := []byte("orphan from an earlier run")
	func() {
		s := openT(t, dir, Options{})
		mustApply(t, s, inline("p", 1, keep), Added)
		if _, err := s.WriteBlob(orphan); err != nil {
			t.Fatal(err)
		}
		// Fresh blobs of this process are protected.
		if n, err := s.GC(); err != nil || n != 0 {
			t.Errorf("GC() right after WriteBlob = %d, %v; want 0", n, err)
		}
		s.Close()
	}()
	// A crash leftover: a temporary file. Open removes it.
	if err := os.WriteFile(filepath.Join(dir, "blobs", tmpPrefix+"123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An unrelated file is left alone.
	if err := os.WriteFile(filepath.Join(dir, "blobs", "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openT(t, dir, Options{})
	if _, err := os.Stat(filepath.Join(dir, "blobs", tmpPrefix+"123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file after Open: %v, want removed", err)
	}
	n, err := s.GC()
	if err != nil || n != 1 {
		t.Errorf("GC() = %d, %v; want 1 (the orphan)", n, err)
	}
	if _, err := os.Stat(s.BlobPath(hashOf(orphan))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan after GC: %v, want removed", err)
	}
	if _, err := os.Stat(s.BlobPath(hashOf(keep))); err != nil {
		t.Errorf("referenced blob after GC: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "README")); err != nil {
		t.Errorf("unrelated file after GC: %v", err)
	}
}

func TestGCAfterGrace(t *testing.T) {
	s := openT(t, t.TempDir(), Options{BlobGrace: time.Minute})
	h, err := s.WriteBlob([]byte("never referenced"))
	if err != nil {
		t.Fatal(err)
	}
	s.wallNow = func() time.Time { return time.Now().Add(time.Minute) }
	if n, err := s.GC(); err != nil || n != 1 {
		t.Errorf("GC() = %d, %v; want 1", n, err)
	}
	if p := s.BlobPath(h); p == "" {
		t.Error("BlobPath(valid hash) = \"\"")
	}
	for _, bad := range []string{"", "..", "ABC", hashOf(nil)[:63], "../" + hashOf(nil)[3:]} {
		if p := s.BlobPath(bad); p != "" {
			t.Errorf("BlobPath(%q) = %q, want \"\"", bad, p)
		}
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, msg("a", 1), Added)
	mustApply(t, s, inline("p", 1, []byte("px")), Added)
	if err := s.AddRefusal(proto.Refusal{Time: t0, Topic: "x", Reason: "bad"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	mustApply(t, s, msg("a", 1), Duplicate)
	if r := get(t, s, "p"); r.State != proto.StatePending || !r.Item.Start.Equal(t0) {
		t.Errorf("after reopen Get(p) = %s start %v", r.State, r.Item.Start)
	}
	if refs, _ := s.Refusals(); len(refs) != 1 || refs[0].Reason != "bad" {
		t.Errorf("after reopen Refusals() = %v", refs)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir, Options{})
	start := time.Now()
	_, err := Open(dir, Options{Timeout: 100 * time.Millisecond, Logger: quiet()})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open() = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open() took %s, want about the timeout", d)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	mustApply(t, s, msg("a", 1), Added)
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, "hearth.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, Options{Logger: quiet()}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open(newer schema) = %v, want ErrNewerSchema", err)
	}
}

func TestDamagedRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	mustApply(t, s, msg("a", 1), Added)
	mustApply(t, s, msg("b", 1), Added)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLive).Put([]byte("b"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	if got := liveRevs(t, s); !equalRevs(got, map[string]uint64{"a": 1}) {
		t.Errorf("Live() = %v, want a only (b damaged, skipped)", got)
	}
	if _, err := s.GC(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("GC() with a damaged record = %v, want ErrCorrupt (and nothing removed)", err)
	}
}

// TestOpenUnclosedCopy opens a copy of a database that was never closed,
// as after a power cut.
func TestOpenUnclosedCopy(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustApply(t, s, msg("a", 1), Added)
	b, err := os.ReadFile(filepath.Join(dir, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "hearth.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, dir2, Options{})
	mustApply(t, s2, msg("a", 1), Duplicate)
}

func TestConcurrentApply(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n*2)
	for i := range n {
		wg.Go(func() {
			// Each item twice, the second as a duplicate or an update.
			if _, err := s.Apply(msg(fmt.Sprint("m", i), 1), t0); err != nil {
				errs <- err
			}
			if _, err := s.Apply(msg(fmt.Sprint("m", i), uint64(1+i%2)), t0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := s.All()
	if err != nil || len(all) != n {
		t.Fatalf("All() = %d records, %v; want %d", len(all), err, n)
	}
	for _, r := range all {
		var i int
		fmt.Sscanf(r.Item.ID, "m%d", &i)
		if want := uint64(1 + i%2); r.Item.Rev != want {
			t.Errorf("%s rev %d, want %d", r.Item.ID, r.Item.Rev, want)
		}
	}
}

// BenchmarkApply stores distinct messages from many goroutines, as the
// sync client does (one goroutine per MQTT message); concurrent commits
// coalesce in bbolt's Batch. Each Apply is durable when it returns.
func BenchmarkApply(b *testing.B) {
	for _, par := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("callers=%dxGOMAXPROCS", par), func(b *testing.B) {
			s := openT(b, b.TempDir(), Options{})
			var mu sync.Mutex
			next := 0
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					next++
					id := fmt.Sprint("m", next)
					mu.Unlock()
					if _, err := s.Apply(msg(id, 1), t0); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkApplySerial is one caller at a time: every Apply waits for its
// own commit (fsync) and for Batch's coalescing delay.
func BenchmarkApplySerial(b *testing.B) {
	s := openT(b, b.TempDir(), Options{})
	for i := 0; b.Loop(); i++ {
		if _, err := s.Apply(msg(fmt.Sprint("m", i), 1), t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// A database file that is not one (an SD card's failure) is ErrUnreadable,
// never a panic; set aside, a fresh one opens and says it was created.
func TestUnreadableSetAside(t *testing.T) {
	for name, damage := range map[string]func(b []byte) []byte{
		"garbage":      func([]byte) []byte { return bytes.Repeat([]byte("not a database "), 4096) },
		"truncated":    func(b []byte) []byte { return b[:100] },
		"meta smashed": func(b []byte) []byte { c := slices.Clone(b); copy(c[0:8192], make([]byte, 8192)); return c },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{})
			if !s.Created() {
				t.Fatal("a new database does not say it was created")
			}
			s.Close()
			if s = openT(t, dir, Options{}); s.Created() {
				t.Fatal("a reopened database says it was created")
			}
			s.Close()
			b, err := os.ReadFile(filepath.Join(dir, "hearth.db"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "hearth.db"), damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(dir, Options{Logger: quiet()}); !errors.Is(err, ErrUnreadable) {
				t.Fatalf("Open(damaged) = %v, want ErrUnreadable", err)
			}
			aside, err := SetAside(dir, time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			if err != nil || filepath.Base(aside) != "hearth.db.unreadable-20261128T090000Z" {
				t.Fatalf("SetAside = %q, %v", aside, err)
			}
			if _, err := os.Stat(aside); err != nil {
				t.Fatalf("the damaged file is not kept: %v", err)
			}
			if s = openT(t, dir, Options{}); !s.Created() {
				t.Fatal("the fresh database does not say it was created")
			}
			s.Close()
		})
	}
}
