package provisioning

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearth-home/hearth/internal/atomicfile"
)

// Layout of the provisioning state inside hearthd's data directory:
//
//	provisioning/current -> 20261124T130000.000000000Z   (symlink, switched atomically)
//	provisioning/20261124T130000.000000000Z/state.json  (the bundle without its key; 0600: Wi-Fi passphrases)
//	provisioning/20261124T130000.000000000Z/org.pub
//	provisioning/20261124T130000.000000000Z/tls/{ca.crt,client.crt,client.key}
const (
	StateDir     = "provisioning"
	currentLink  = "current"
	stateFile    = "state.json"
	tlsDir       = "tls"
	clientCert   = ClientCertFile
	clientKey    = ClientKeyFile
	AppliedNote  = "hearth-bundle.applied.txt"
	RefusedNote  = "hearth-bundle.refused.txt"
	stampLayout  = "20060102T150405.000000000Z"
	serialDTPath = "/proc/device-tree/serial-number"
	machineID    = "/etc/machine-id"
)

// State is a device's applied provisioning: what hearthd configures itself
// from.
type State struct {
	Device  string
	Name    string
	Serial  string
	Issued  time.Time
	Brokers []string // in order of preference; the first is used today
	WiFi    []WiFi
	// Timezone, Locale and Night are empty when the bundle left them to
	// the device.
	Timezone string
	Locale   string
	Night    string
	// RequireSignedItems is the bundle's setting of the same name.
	RequireSignedItems bool
	OrgKey             ed25519.PublicKey
	// Files in the data directory.
	Dir        string
	OrgKeyFile string
	CAFile     string
	CertFile   string
	KeyFile    string

	sig []byte
}

// TLSConfig is the device's side of mutual TLS to broker: its client
// certificate, the organisation's CA as the only root, and the broker's host
// name to verify.
func (s State) TLSConfig(broker string) (*tls.Config, error) {
	return ClientTLS(s.CAFile, s.CertFile, s.KeyFile, broker)
}

// ClientTLS builds a mutual-TLS client configuration from PEM files: the
// CA that signed the broker, and a client certificate and key. ServerName is
// broker's host.
func ClientTLS(caFile, certFile, keyFile, broker string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls config: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls config: %s: no certificate", caFile)
	}
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls config: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if broker != "" {
		u, err := url.Parse(broker)
		if err != nil {
			return nil, fmt.Errorf("tls config: broker %q: %w", broker, err)
		}
		c.ServerName = u.Hostname()
	}
	return c, nil
}

// Load reads the applied provisioning state from hearthd's data directory;
// false when the device has none.
func Load(dataDir string) (State, bool, error) {
	base := filepath.Join(dataDir, StateDir)
	target, err := os.Readlink(filepath.Join(base, currentLink))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("load provisioning: %w", err)
	}
	if filepath.Base(target) != target {
		return State{}, false, fmt.Errorf("load provisioning: %w: current points outside (%q)", ErrCorrupt, target)
	}
	dir := filepath.Join(base, target)
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return State{}, false, fmt.Errorf("load provisioning: %w", err)
	}
	b, err := DecodeBundle(raw)
	if err != nil {
		return State{}, false, fmt.Errorf("load provisioning %s: %w", dir, err)
	}
	org, err := b.OrgPublic()
	if err != nil {
		return State{}, false, fmt.Errorf("load provisioning %s: %w", dir, err)
	}
	s := State{
		Device: b.Device, Name: b.Name, Serial: b.Serial, Issued: b.Issued, Brokers: b.Brokers, WiFi: b.WiFi,
		Timezone: b.Timezone, Locale: b.Locale, Night: b.Night, OrgKey: org, Dir: dir,
		RequireSignedItems: b.RequireSignedItems,
		OrgKeyFile:         filepath.Join(dir, OrgPubFile),
		CAFile:             filepath.Join(dir, tlsDir, CACertFile),
		CertFile:           filepath.Join(dir, tlsDir, clientCert),
		KeyFile:            filepath.Join(dir, tlsDir, clientKey),
		sig:                b.Sig,
	}
	for _, f := range []string{s.OrgKeyFile, s.CAFile, s.CertFile, s.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			return State{}, false, fmt.Errorf("load provisioning: %w", err)
		}
	}
	return s, true, nil
}

// Find returns the bundles in dirs, in order: hearth-bundle.json, or the one
// DEVICE.hearth-bundle.json of a folder. A folder with several of the latter
// (a whole batch copied) is an error: which unit is which is the
// installer's choice, not the device's.
func Find(dirs []string) ([]string, error) {
	var out []string
	var errs []error
	for _, d := range dirs {
		p := filepath.Join(d, BundleFile)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(d)
		if err != nil {
			continue // not mounted (yet): nothing there
		}
		var named []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), BundleSuffix) && e.Type().IsRegular() {
				named = append(named, filepath.Join(d, e.Name()))
			}
		}
		switch len(named) {
		case 0:
		case 1:
			out = append(out, named[0])
		default:
			errs = append(errs, fmt.Errorf("find bundle: %d bundles in %s; leave one, or name it %s", len(named), d, BundleFile))
		}
	}
	return out, errors.Join(errs...)
}

// ReadSerial is the unit's hardware serial: the device tree's (a Raspberry
// Pi's), else the systemd machine id.
func ReadSerial() (string, error) {
	for _, p := range []string{serialDTPath, machineID} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(strings.Trim(string(b), "\x00")); s != "" {
			return s, nil
		}
	}
	return "", errors.New("no hardware serial (device tree or machine id)")
}

// ApplyOptions configure Apply.
type ApplyOptions struct {
	Data   string           // hearthd's data directory
	Now    func() time.Time // default time.Now
	Serial func() (string, error)
	Logger *slog.Logger

	// step is called after each step of Apply; an error stops Apply there
	// (tests: a power cut).
	step func(name string) error
	// noPerms says whether a path is on FAT; default statfs.
	noPerms func(path string) bool
}

// Result says what Apply did.
type Result struct {
	State State
	// Already: this very bundle was applied before (a power cut before the
	// original was removed, or the stick put in again).
	Already bool
	// RemoveErr: the original could not be removed (a read-only medium);
	// its key is still there, and someone must delete it.
	RemoveErr error
}

// Apply verifies the bundle at path, makes it the device's provisioning
// state, and removes the original. A power cut at any point leaves the old
// state or the new one: the new state is written beside the old, then a
// symlink is switched by rename. A refused bundle leaves the device as it
// was; the reason is returned and, best effort, written beside the bundle
// in hearth-bundle.refused.txt for the installer.
func Apply(path string, opt ApplyOptions) (Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Serial == nil {
		opt.Serial = ReadSerial
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.step == nil {
		opt.step = func(string) error { return nil }
	}
	if opt.noPerms == nil {
		opt.noPerms = noPermissions
	}
	res, err := apply(path, opt)
	if err != nil {
		err = fmt.Errorf("apply bundle %s: %w", path, err)
		if isRefusal(err) {
			note := fmt.Sprintf("Hearth refused this bundle at %s:\n%v\n", opt.Now().UTC().Format(time.RFC3339), err)
			_ = os.WriteFile(filepath.Join(filepath.Dir(path), RefusedNote), []byte(note), 0o644)
		}
	}
	return res, err
}

// isRefusal tells a bad bundle from a failure to write (which is retried).
func isRefusal(err error) bool {
	for _, e := range []error{ErrCorrupt, ErrInvalid, ErrBadSignature, ErrMissingKey, ErrKeyMismatch, ErrBadCert,
		ErrExpired, ErrWrongDevice, ErrWrongSerial, ErrOlder, ErrWorldReadable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ReadBundleFile reads and decodes a bundle file, refusing one whose key
// every user can read (except on FAT, which has no permissions).
func ReadBundleFile(path string) (Bundle, error) {
	return readBundleFile(path, noPermissions)
}

func readBundleFile(path string, noPerms func(string) bool) (Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return Bundle{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Bundle{}, err
	}
	if !fi.Mode().IsRegular() {
		return Bundle{}, fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	if fi.Mode().Perm()&0o004 != 0 && !noPerms(path) {
		return Bundle{}, fmt.Errorf("%w (mode %v): chmod 600 it", ErrWorldReadable, fi.Mode().Perm())
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxBundleSize+1))
	if err != nil {
		return Bundle{}, err
	}
	return DecodeBundle(raw)
}

func apply(path string, opt ApplyOptions) (Result, error) {
	log := opt.Logger.With("bundle", path)
	b, err := readBundleFile(path, opt.noPerms)
	if err != nil {
		return Result{}, err
	}
	if err := b.Check(opt.Now()); err != nil {
		return Result{}, err
	}
	if b.Serial != "" {
		serial, err := opt.Serial()
		if err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrWrongSerial, err)
		}
		if serial != b.Serial {
			return Result{}, fmt.Errorf("%w: bound to %q, this unit is %q", ErrWrongSerial, b.Serial, serial)
		}
	}
	cur, have, err := Load(opt.Data)
	if err != nil {
		// A damaged state is replaced by a good bundle rather than
		// leaving the device unable to start.
		log.Error("current provisioning unreadable; taking the bundle as the first", "err", err)
		have = false
	}
	var res Result
	if have {
		org, _ := b.OrgPublic()
		switch {
		case cur.Device != b.Device:
			return Result{}, fmt.Errorf("%w: this is %s, the bundle is for %s", ErrWrongDevice, cur.Device, b.Device)
		case !cur.OrgKey.Equal(org):
			return Result{}, fmt.Errorf("%w: signed by another organisation than this device's", ErrBadSignature)
		case b.Issued.Equal(cur.Issued) && bytes.Equal(b.Sig, cur.sig):
			res.Already = true
			res.State = cur
		case !b.Issued.After(cur.Issued):
			return Result{}, fmt.Errorf("%w: issued %s, the device has %s", ErrOlder,
				b.Issued.UTC().Format(time.RFC3339), cur.Issued.UTC().Format(time.RFC3339))
		}
	}
	if !res.Already {
		st, err := install(b, opt)
		if err != nil {
			return Result{}, err
		}
		res.State = st
		log.Info("provisioning applied", "device", b.Device, "issued", b.Issued.UTC().Format(time.RFC3339))
	} else {
		// A power cut may have come between the switch and the pruning.
		prune(filepath.Join(opt.Data, StateDir), filepath.Base(cur.Dir), opt.Logger)
		log.Info("bundle already applied", "device", b.Device, "issued", b.Issued.UTC().Format(time.RFC3339))
	}
	if err := os.Remove(path); err != nil {
		res.RemoveErr = err
		log.Error("CANNOT REMOVE THE BUNDLE: its private key stays on the medium; delete the file by hand", "err", err)
	} else {
		_ = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err := opt.step("remove"); err != nil {
		return res, err
	}
	note := fmt.Sprintf("Hearth applied the bundle for device %s\nissued  %s\napplied %s\nThe bundle (and its key) was removed from here.\n",
		b.Device, b.Issued.UTC().Format(time.RFC3339), opt.Now().UTC().Format(time.RFC3339))
	if res.RemoveErr != nil {
		note = fmt.Sprintf("Hearth applied the bundle for device %s (issued %s) but could not remove it: %v\nDELETE %s: it holds the device's private key.\n",
			b.Device, b.Issued.UTC().Format(time.RFC3339), res.RemoveErr, filepath.Base(path))
	}
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, AppliedNote), []byte(note), 0o644); err == nil {
		_ = os.Remove(filepath.Join(dir, RefusedNote))
		_ = atomicfile.SyncDir(dir)
	}
	return res, nil
}

// install writes b into a new state folder and switches current to it.
func install(b Bundle, opt ApplyOptions) (State, error) {
	base := filepath.Join(opt.Data, StateDir)
	stamp := b.Issued.UTC().Format(stampLayout)
	dir := filepath.Join(base, stamp)
	// Whatever a power cut left of an earlier attempt at this bundle is
	// not current (Apply checked): start it over.
	if err := os.RemoveAll(dir); err != nil {
		return State{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, tlsDir), 0o700); err != nil {
		return State{}, err
	}
	// Best effort, here and for the bundle's medium: a file system that
	// cannot sync a directory should not stop provisioning.
	_ = atomicfile.SyncDir(opt.Data)
	_ = atomicfile.SyncDir(base)
	if err := opt.step("dir"); err != nil {
		return State{}, err
	}
	pub := b
	pub.Key = ""
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{filepath.Join(tlsDir, CACertFile), []byte(b.CA), 0o644},
		{filepath.Join(tlsDir, clientCert), []byte(b.Cert), 0o644},
		{filepath.Join(tlsDir, clientKey), []byte(b.Key), 0o600},
		{OrgPubFile, []byte(b.OrgKey), 0o644},
		// Last: the Wi-Fi passphrases make it a secret too.
		{stateFile, pub.Encode(), 0o600},
	}
	for _, f := range files {
		if err := WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return State{}, err
		}
		if err := opt.step(filepath.Base(f.name)); err != nil {
			return State{}, err
		}
	}
	// The switch: a new symlink renamed over current. A temporary link
	// that a power cut left behind is pruned with the old states.
	if err := atomicfile.Symlink(stamp, filepath.Join(base, currentLink)); err != nil {
		return State{}, err
	}
	if err := opt.step("switch"); err != nil {
		return State{}, err
	}
	prune(base, stamp, opt.Logger)
	if err := opt.step("prune"); err != nil {
		return State{}, err
	}
	st, ok, err := Load(opt.Data)
	if err == nil && !ok {
		err = ErrNotProvisioned
	}
	return st, err
}

// prune removes older states (their keys are secrets no longer needed) and
// leftovers of interrupted attempts: everything but current and keep.
func prune(base, keep string, log *slog.Logger) {
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if e.Name() != keep && e.Name() != currentLink {
			if err := os.RemoveAll(filepath.Join(base, e.Name())); err != nil {
				log.Warn("remove old provisioning state", "name", e.Name(), "err", err)
			}
		}
	}
	_ = atomicfile.SyncDir(base)
}

// Stamps lists the state folders present (tests, diagnostics).
func stamps(dataDir string) []string {
	ents, _ := os.ReadDir(filepath.Join(dataDir, StateDir))
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}
