// Package provisioning holds the keys and files an organisation uses to set
// up devices and callers: the organisation's signing key (it signs
// allowlists and, later, admin commands), its certificate authority, and
// callers' keys.
//
// Keys are PEM files: PKCS #8 private keys (mode 0600) and PKIX public keys,
// which WebCrypto imports as they are ("pkcs8", "spki").
package provisioning

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-home/hearth/internal/atomicfile"
	"github.com/hearth-home/hearth/sync/proto"
)

// File names inside an organisation's folder (hearthctl provision ca init).
const (
	OrgKeyFile = "org.key" // Ed25519 signing key
	OrgPubFile = "org.pub" // what devices are given (--org-key)
	CACertFile = "ca.crt"  // the broker's and devices' certificate authority
	CAKeyFile  = "ca.key"
)

// File names inside a caller's folder (hearthctl caller new).
const (
	CallerFile    = "caller.json"
	CallerKeyFile = "caller.key"
	CallerPubFile = "caller.pub"
)

// ErrExists: the output folder already holds keys; they are never overwritten.
var ErrExists = errors.New("keys already exist")

// Org is an organisation's signing key.
type Org struct {
	Key ed25519.PrivateKey
}

// Public is the key devices verify with.
func (o Org) Public() ed25519.PublicKey { return o.Key.Public().(ed25519.PublicKey) }

// NewOrg makes an organisation's signing key, its CA, the people CA
// (PeopleCA) and their CRLs in dir.
func NewOrg(dir, name string) (Org, error) {
	if _, err := os.Stat(filepath.Join(dir, OrgKeyFile)); err == nil {
		return Org{}, fmt.Errorf("new org in %s: %w", dir, ErrExists)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Org{}, fmt.Errorf("new org: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Org{}, fmt.Errorf("new org: %w", err)
	}
	if err := newCA(dir, name+" Hearth CA", []string{name}, time.Now()); err != nil {
		return Org{}, fmt.Errorf("new org ca: %w", err)
	}
	// The people CA and both CAs' (empty) CRLs at once, so that the broker
	// can be set up with every cafile and crlfile from the first day.
	if _, err := PeopleCA(dir); err != nil {
		return Org{}, fmt.Errorf("new org: %w", err)
	}
	if err := writePublic(filepath.Join(dir, OrgPubFile), key.Public()); err != nil {
		return Org{}, err
	}
	if err := writePrivate(filepath.Join(dir, OrgKeyFile), key); err != nil {
		return Org{}, err
	}
	return Org{Key: key}, nil
}

// LoadOrg reads an organisation's signing key from dir.
func LoadOrg(dir string) (Org, error) {
	k, err := readPrivate(filepath.Join(dir, OrgKeyFile))
	if err != nil {
		return Org{}, fmt.Errorf("load org: %w", err)
	}
	return Org{Key: k}, nil
}

// Caller is a person or service that places calls.
type Caller struct {
	ID   string             `json:"id"`
	Name string             `json:"name"`
	Key  ed25519.PrivateKey `json:"-"`
}

// Public is the key devices verify the caller's invites with.
func (c Caller) Public() ed25519.PublicKey { return c.Key.Public().(ed25519.PublicKey) }

// NewCaller makes a caller's key in dir. An empty id is made from the name.
func NewCaller(dir, id, name string) (Caller, error) {
	if id == "" {
		id = Slug(name)
	}
	if !proto.ValidID(id) {
		return Caller{}, fmt.Errorf("new caller: id %q is not valid (letters, digits, . _ -)", id)
	}
	if strings.TrimSpace(name) == "" || len([]rune(name)) > proto.MaxName {
		return Caller{}, fmt.Errorf("new caller: name must be 1 to %d characters", proto.MaxName)
	}
	if _, err := os.Stat(filepath.Join(dir, CallerKeyFile)); err == nil {
		return Caller{}, fmt.Errorf("new caller in %s: %w", dir, ErrExists)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Caller{}, fmt.Errorf("new caller: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Caller{}, fmt.Errorf("new caller: %w", err)
	}
	c := Caller{ID: id, Name: name, Key: key}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := WriteFile(filepath.Join(dir, CallerFile), append(b, '\n'), 0o644); err != nil {
		return Caller{}, err
	}
	if err := writePublic(filepath.Join(dir, CallerPubFile), key.Public()); err != nil {
		return Caller{}, err
	}
	if err := writePrivate(filepath.Join(dir, CallerKeyFile), key); err != nil {
		return Caller{}, err
	}
	return c, nil
}

// LoadCaller reads a caller from dir.
func LoadCaller(dir string) (Caller, error) {
	var c Caller
	b, err := os.ReadFile(filepath.Join(dir, CallerFile))
	if err != nil {
		return c, fmt.Errorf("load caller: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("load caller %s: %w", CallerFile, err)
	}
	if !proto.ValidID(c.ID) {
		return c, fmt.Errorf("load caller: id %q is not valid", c.ID)
	}
	if c.Key, err = readPrivate(filepath.Join(dir, CallerKeyFile)); err != nil {
		return c, fmt.Errorf("load caller: %w", err)
	}
	return c, nil
}

// ReadPublic reads a PEM (PKIX) Ed25519 public key, e.g. org.pub.
func ReadPublic(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("read public key %s: not a PEM public key", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("read public key %s: %T, want Ed25519", path, k)
	}
	return ek, nil
}

// PKCS8 returns the DER of an Ed25519 private key, as WebCrypto imports it.
func PKCS8(k ed25519.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k) // cannot fail for Ed25519
	return der
}

// Slug makes an id from a display name: "Anna Berg" -> "anna-berg".
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func readPrivate(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: %T, want Ed25519", path, k)
	}
	return ek, nil
}

func writePrivate(path string, k crypto.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func writePublic(path string, k crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// WriteFile writes through a temporary file, fsync, rename and a sync of
// the directory, so a power cut leaves the old file or the new one. It is
// atomicfile.WriteFile, the device's one way to write a file, under the
// name this package's callers know.
func WriteFile(path string, b []byte, mode os.FileMode) error {
	return atomicfile.WriteFile(path, b, mode)
}

// Allow returns list with caller given exactly modes (none removes the
// caller), a higher serial, and the organisation's signature. A zero list
// starts a new one.
func (o Org) Allow(list proto.Allowlist, c proto.AllowedCaller, now time.Time) proto.Allowlist {
	out := proto.Allowlist{V: proto.Version, Org: list.Org, Serial: list.Serial + 1, Issued: now.UTC()}
	for _, old := range list.Callers {
		if old.ID != c.ID {
			out.Callers = append(out.Callers, old)
		}
	}
	if len(c.Mode) > 0 {
		out.Callers = append(out.Callers, c)
	}
	if out.Callers == nil {
		out.Callers = []proto.AllowedCaller{}
	}
	out.Sig = ed25519.Sign(o.Key, out.SigningBytes())
	return out
}
