package provisioning

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// world is a device's data folder and a boot folder to put bundles in.
type world struct {
	t    *testing.T
	data string
	boot string
	opt  ApplyOptions
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, data: t.TempDir(), boot: t.TempDir()}
	w.opt = ApplyOptions{Data: w.data, Now: func() time.Time { return t0.Add(time.Minute) },
		Serial: func() (string, error) { return "unit-1", nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return w
}

// put writes b into the boot folder as an installer would (0600).
func (w *world) put(b Bundle) string {
	w.t.Helper()
	p := filepath.Join(w.boot, BundleFile)
	if err := os.WriteFile(p, b.Encode(), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) apply(b Bundle) (Result, error) {
	w.t.Helper()
	return Apply(w.put(b), w.opt)
}

func (w *world) load() (State, bool) {
	w.t.Helper()
	s, ok, err := Load(w.data)
	if err != nil {
		w.t.Fatalf("Load = %v", err)
	}
	return s, ok
}

// consistent checks that the state on disk is exactly bundle b: the state,
// the certificate and the key that goes with it.
func (w *world) consistent(s State, b Bundle) {
	w.t.Helper()
	if !s.Issued.Equal(b.Issued) || s.Device != b.Device {
		w.t.Fatalf("state is %s %s, want %s %s", s.Device, s.Issued, b.Device, b.Issued)
	}
	cert, _ := os.ReadFile(s.CertFile)
	if string(cert) != b.Cert {
		w.t.Fatalf("client.crt is not the bundle's")
	}
	if _, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile); err != nil {
		w.t.Fatalf("key pair: %v", err)
	}
	if _, err := s.TLSConfig(b.Brokers[0]); err != nil {
		w.t.Fatalf("TLSConfig: %v", err)
	}
}

func TestApplyFirst(t *testing.T) {
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	if _, ok := w.load(); ok {
		t.Fatal("Load before any bundle: provisioned")
	}
	b := issue(t, org, ca, testSpec(), t0)
	res, err := w.apply(b)
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if res.Already || res.RemoveErr != nil {
		t.Fatalf("Apply = %+v", res)
	}
	s, ok := w.load()
	if !ok {
		t.Fatal("not provisioned after Apply")
	}
	w.consistent(s, b)
	if s.Name != "Mum's kitchen" || s.Timezone != "Europe/Stockholm" || s.Locale != "sv" || s.Night != "22:00-07:00" ||
		len(s.Brokers) != 2 || len(s.WiFi) != 2 || s.WiFi[0].PSK != "correct horse" || !s.OrgKey.Equal(org.Public()) {
		t.Fatalf("state = %+v", s)
	}
	if pub, err := ReadPublic(s.OrgKeyFile); err != nil || !pub.Equal(org.Public()) {
		t.Fatalf("org.pub = %v, %v", pub, err)
	}
	for _, f := range []string{s.KeyFile, filepath.Join(s.Dir, stateFile)} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want 0600", f, fi.Mode(), err)
		}
	}
	st, _ := os.ReadFile(filepath.Join(s.Dir, stateFile))
	if strings.Contains(string(st), "PRIVATE KEY") {
		t.Fatalf("state.json holds the private key")
	}
	if _, err := os.Stat(filepath.Join(w.boot, BundleFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle still on the boot folder: %v", err)
	}
	note, err := os.ReadFile(filepath.Join(w.boot, AppliedNote))
	if err != nil || !strings.Contains(string(note), "mum-kitchen") || strings.Contains(string(note), "PRIVATE") {
		t.Fatalf("applied note = %q, %v", note, err)
	}
	left, _ := os.ReadDir(w.boot)
	if len(left) != 1 {
		t.Fatalf("boot folder holds %d files, want only the note", len(left))
	}
}

func TestApplyTwiceIsHarmless(t *testing.T) {
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	b := issue(t, org, ca, testSpec(), t0)
	if _, err := w.apply(b); err != nil {
		t.Fatal(err)
	}
	before, _ := w.load()
	res, err := w.apply(b)
	if err != nil || !res.Already {
		t.Fatalf("second Apply = %+v, %v, want already applied", res, err)
	}
	after, _ := w.load()
	if after.Dir != before.Dir {
		t.Fatalf("state moved: %s -> %s", before.Dir, after.Dir)
	}
	w.consistent(after, b)
	if _, err := os.Stat(filepath.Join(w.boot, BundleFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle not removed the second time")
	}
}

func TestApplyNewer(t *testing.T) {
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	old := issue(t, org, ca, testSpec(), t0)
	spec := testSpec()
	spec.Locale = "fi"
	next := issue(t, org, ca, spec, t0.Add(time.Second))
	if _, err := w.apply(old); err != nil {
		t.Fatal(err)
	}
	if _, err := w.apply(next); err != nil {
		t.Fatalf("Apply(newer) = %v", err)
	}
	s, _ := w.load()
	w.consistent(s, next)
	if s.Locale != "fi" {
		t.Fatalf("locale %q, want fi", s.Locale)
	}
	if got := stamps(w.data); len(got) != 1 {
		t.Fatalf("state folders %v, want only the current one", got)
	}
}

func TestApplyRefusals(t *testing.T) {
	org, ca, _ := testOrg(t)
	other, otherCA, _ := testOrg(t)
	current := issue(t, org, ca, testSpec(), t0.Add(time.Hour))
	later := t0.Add(2 * time.Hour)
	wrongDevice := testSpec()
	wrongDevice.Device = "neighbour"
	bound := testSpec()
	bound.Serial = "unit-2"
	noKey := issue(t, org, ca, testSpec(), later)
	noKey.Key = ""
	org.Sign(&noKey)

	for _, tc := range []struct {
		name string
		file func(w *world) string
		want error
	}{
		{"older", func(w *world) string { return w.put(issue(t, org, ca, testSpec(), t0)) }, ErrOlder},
		{"same time, other content", func(w *world) string {
			s := testSpec()
			s.Locale = "de"
			return w.put(issue(t, org, ca, s, t0.Add(time.Hour)))
		}, ErrOlder},
		{"wrong device", func(w *world) string { return w.put(issue(t, org, ca, wrongDevice, later)) }, ErrWrongDevice},
		{"other organisation", func(w *world) string { return w.put(issue(t, other, otherCA, testSpec(), later)) }, ErrBadSignature},
		{"bad signature", func(w *world) string {
			b := issue(t, org, ca, testSpec(), later)
			b.Sig[0] ^= 1
			return w.put(b)
		}, ErrBadSignature},
		{"missing key", func(w *world) string { return w.put(noKey) }, ErrMissingKey},
		{"other unit", func(w *world) string { return w.put(issue(t, org, ca, bound, later)) }, ErrWrongSerial},
		{"corrupt", func(w *world) string {
			p := w.put(issue(t, org, ca, testSpec(), later))
			b, _ := os.ReadFile(p)
			_ = os.WriteFile(p, b[:len(b)-40], 0o600)
			return p
		}, ErrCorrupt},
		{"world-readable", func(w *world) string {
			p := w.put(issue(t, org, ca, testSpec(), later))
			_ = os.Chmod(p, 0o644)
			return p
		}, ErrWorldReadable},
		{"expired", func(w *world) string {
			s := testSpec()
			s.Valid = time.Minute
			b := issue(t, org, ca, s, later)
			w.opt.Now = func() time.Time { return later.Add(time.Hour) }
			return w.put(b)
		}, ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if _, err := w.apply(current); err != nil {
				t.Fatal(err)
			}
			p := tc.file(w)
			_, err := Apply(p, w.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply = %v, want %v", err, tc.want)
			}
			s, _ := w.load()
			w.consistent(s, current)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("a refused bundle was removed: %v", err)
			}
			note, err := os.ReadFile(filepath.Join(w.boot, RefusedNote))
			if err != nil || !strings.Contains(string(note), tc.want.Error()) {
				t.Fatalf("refused note = %q, %v", note, err)
			}
		})
	}
}

func TestApplyOnFAT(t *testing.T) {
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	w.opt.noPerms = func(string) bool { return true }
	p := w.put(issue(t, org, ca, testSpec(), t0))
	_ = os.Chmod(p, 0o755) // how vfat shows every file
	if _, err := Apply(p, w.opt); err != nil {
		t.Fatalf("Apply on FAT = %v", err)
	}
}

func TestApplySerialBound(t *testing.T) {
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	s := testSpec()
	s.Serial = "unit-1"
	if _, err := w.apply(issue(t, org, ca, s, t0)); err != nil {
		t.Fatalf("Apply(bound to this unit) = %v", err)
	}
	w2 := newWorld(t)
	w2.opt.Serial = func() (string, error) { return "", errors.New("no serial") }
	if _, err := w2.apply(issue(t, org, ca, s, t0)); !errors.Is(err, ErrWrongSerial) {
		t.Fatalf("Apply(bound, serial unknown) = %v, want ErrWrongSerial", err)
	}
}

func TestApplyReadOnlyMedium(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root removes files from read-only folders")
	}
	org, ca, _ := testOrg(t)
	w := newWorld(t)
	p := w.put(issue(t, org, ca, testSpec(), t0))
	_ = os.Chmod(w.boot, 0o555)
	t.Cleanup(func() { _ = os.Chmod(w.boot, 0o755) })
	res, err := Apply(p, w.opt)
	if err != nil || res.RemoveErr == nil {
		t.Fatalf("Apply = %+v, %v; want applied with RemoveErr", res, err)
	}
}

var errPowerCut = errors.New("power cut")

// TestApplyPowerCut stops Apply after each of its steps, as a power cut
// would, then starts again from what is on disk: the state is the old one or
// the new one, never a mix, and applying again finishes the job.
func TestApplyPowerCut(t *testing.T) {
	org, ca, _ := testOrg(t)
	old := issue(t, org, ca, testSpec(), t0)
	spec := testSpec()
	spec.Name = "Mum's hall"
	next := issue(t, org, ca, spec, t0.Add(time.Second))
	steps := []string{"dir", CACertFile, clientCert, clientKey, OrgPubFile, stateFile, "switch", "prune", "remove"}
	for _, first := range []bool{true, false} {
		for i, step := range steps {
			name := step
			if first {
				name = "first/" + step
			}
			t.Run(name, func(t *testing.T) {
				w := newWorld(t)
				if !first {
					if _, err := w.apply(old); err != nil {
						t.Fatal(err)
					}
				}
				cut := w.opt
				cut.step = func(s string) error {
					if s == step {
						return errPowerCut
					}
					return nil
				}
				if _, err := Apply(w.put(next), cut); !errors.Is(err, errPowerCut) {
					t.Fatalf("Apply with a cut after %s = %v", step, err)
				}
				s, ok := w.load()
				switch {
				case !ok && first && i < slicesIndex(steps, "switch"):
				case ok && s.Issued.Equal(next.Issued):
					w.consistent(s, next)
				case ok && !first && i < slicesIndex(steps, "switch"):
					w.consistent(s, old)
				default:
					t.Fatalf("after a cut at %s: state %+v (provisioned %v)", step, s, ok)
				}
				// The next boot: the bundle is still there unless it
				// was removed; either way the device ends on next.
				p := filepath.Join(w.boot, BundleFile)
				if _, err := os.Stat(p); err == nil {
					if _, err := Apply(p, w.opt); err != nil {
						t.Fatalf("Apply after the cut = %v", err)
					}
				}
				s, ok = w.load()
				if !ok {
					t.Fatal("not provisioned after the second Apply")
				}
				w.consistent(s, next)
				if got := stamps(w.data); len(got) != 1 {
					t.Fatalf("state folders %v after recovery", got)
				}
			})
		}
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestFind(t *testing.T) {
	a, b, c, d := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	_ = os.WriteFile(filepath.Join(a, BundleFile), nil, 0o600)
	_ = os.WriteFile(filepath.Join(a, "x"+BundleSuffix), nil, 0o600)
	_ = os.WriteFile(filepath.Join(b, "dev1"+BundleSuffix), nil, 0o600)
	_ = os.WriteFile(filepath.Join(c, "dev1"+BundleSuffix), nil, 0o600)
	_ = os.WriteFile(filepath.Join(c, "dev2"+BundleSuffix), nil, 0o600)
	_ = os.WriteFile(filepath.Join(d, "readme.txt"), nil, 0o600)
	got, err := Find([]string{filepath.Join(a, "missing"), a, b, c, d})
	want := []string{filepath.Join(a, BundleFile), filepath.Join(b, "dev1"+BundleSuffix)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Find = %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "2 bundles in "+c) {
		t.Fatalf("Find error = %v, want one about %s", err, c)
	}
}
