package provisioning

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-home/hearth/internal/atomicfile"
	"github.com/hearth-home/hearth/sync/proto"
)

// Files of the organisation's record of certificates, in its folder.
const (
	// IssuedFile: one JSON line (Issued) for every certificate its CAs
	// issued, appended as each is made.
	IssuedFile = "issued.jsonl"
	// RevokedFile: the revoked certificates (Revocations); the CRLs are
	// made from it.
	RevokedFile = "revoked.json"
	// CRLFile: a CA's certificate revocation list (PEM), beside its ca.crt:
	// ORG/crl.pem for the organisation's CA, ORG/people/crl.pem for the
	// people CA.
	CRLFile = "crl.pem"
)

// Kind is what a certificate was issued for.
type Kind string

// The kinds of certificates in the record.
const (
	KindDevice Kind = "device" // a device's client certificate (organisation's CA)
	KindPerson Kind = "person" // a person's client certificate (people CA)
	KindBroker Kind = "broker" // a broker's server certificate (organisation's CA)
)

func (k Kind) valid() bool { return k == KindDevice || k == KindPerson || k == KindBroker }

// Issued is one certificate in the organisation's record.
type Issued struct {
	Kind Kind `json:"kind"`
	// ID is the device id or the person's id (the certificate's CN); for a
	// broker its host names, comma-separated.
	ID       string    `json:"id"`
	Serial   string    `json:"serial"` // SerialHex
	NotAfter time.Time `json:"not_after"`
	Issued   time.Time `json:"issued"`
}

func (r Issued) check() error {
	if !r.Kind.valid() {
		return fmt.Errorf("kind %q", r.Kind)
	}
	if r.Kind == KindBroker && (r.ID == "" || len(r.ID) > 1024) || r.Kind != KindBroker && !proto.ValidID(r.ID) {
		return fmt.Errorf("id %q", r.ID)
	}
	if s, err := ParseSerial(r.Serial); err != nil || s != r.Serial {
		return fmt.Errorf("serial %q", r.Serial)
	}
	return nil
}

// SerialHex is how the record writes a certificate's serial number: lower
// case hex without leading zeros.
func SerialHex(n *big.Int) string { return n.Text(16) }

// ParseSerial reads a serial number in hex as people copy it: with or
// without "0x", colons or spaces, in either case (openssl x509 -serial
// prints "serial=0A1B..."). It returns SerialHex's form.
func ParseSerial(s string) (string, error) {
	t := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "serial=")
	t = strings.TrimPrefix(t, "0x")
	t = strings.NewReplacer(":", "", " ", "").Replace(t)
	n, ok := new(big.Int).SetString(t, 16)
	// RFC 5280: positive, at most 20 octets.
	if t == "" || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") || !ok || n.Sign() <= 0 || n.BitLen() > 160 {
		return "", fmt.Errorf("serial %q: want a certificate serial number in hex", s)
	}
	return SerialHex(n), nil
}

// appendIssued adds one line to the record and syncs it to disk before
// the certificate is handed out. A line cut short by a power cut (the
// certificate was never handed out then) is ended first, so it cannot
// spoil the new one.
func appendIssued(orgDir string, r Issued) error {
	path := filepath.Join(orgDir, IssuedFile)
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record certificate: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record certificate: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("record certificate in %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("record certificate in %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		_ = atomicfile.SyncDir(orgDir)
	}
	return nil
}

// maxRecordLine bounds one line of the record; real ones are ~200 bytes.
const maxRecordLine = 64 << 10

// ReadIssued reads the organisation's record of issued certificates. An
// organisation folder from before the record has none: no certificates,
// no error. Lines that cannot be read (cut short by a power cut, or
// edited by hand) are skipped and counted in bad.
func ReadIssued(orgDir string) (recs []Issued, bad int, err error) {
	f, err := os.Open(filepath.Join(orgDir, IssuedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read issued certificates: %w", err)
	}
	defer f.Close()
	recs, bad, err = DecodeIssued(f)
	if err != nil {
		return nil, 0, fmt.Errorf("read issued certificates: %w", err)
	}
	return recs, bad, nil
}

// DecodeIssued reads issued.jsonl's lines; see ReadIssued.
func DecodeIssued(r io.Reader) (recs []Issued, bad int, err error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxRecordLine)
	for s.Scan() {
		line := bytes.TrimSpace(s.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Issued
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&rec); err != nil || d.More() || rec.check() != nil {
			bad++
			continue
		}
		recs = append(recs, rec)
	}
	if err := s.Err(); err != nil {
		return nil, 0, err
	}
	return recs, bad, nil
}

// Revocations is revoked.json: every certificate the organisation has
// revoked, and the number of the CRLs last made from it.
type Revocations struct {
	V int `json:"v"`
	// CRLNumber is the number of the last CRLs written (both CAs' share
	// it); each new pair gets the next one.
	CRLNumber int64 `json:"crl_number"`
	// ThisUpdate is the last CRLs' thisUpdate. A new CRL's is later by at
	// least a second: Mosquitto adds a re-read CRL to the ones it holds
	// and OpenSSL prefers the newest by thisUpdate, in whole seconds.
	ThisUpdate time.Time `json:"this_update,omitzero"`
	Revoked    []Revoked `json:"revoked"`
}

// Revoked is one revoked certificate.
type Revoked struct {
	Serial string `json:"serial"` // SerialHex
	// Kind decides which CA's CRL lists it: a person's the people CA's,
	// a device's or broker's the organisation's.
	Kind     Kind      `json:"kind"`
	ID       string    `json:"id,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
	At       time.Time `json:"revoked"`
	Reason   string    `json:"reason,omitempty"`
}

// RevocationsVersion is revoked.json's "v".
const RevocationsVersion = 1

// Limits of revoked.json.
const (
	maxRevokedFile = 16 << 20
	MaxReason      = 200 // characters of a revocation's reason
)

// ReadRevocations reads the organisation's revoked.json; none yet is an
// empty list.
func ReadRevocations(orgDir string) (Revocations, error) {
	b, err := os.ReadFile(filepath.Join(orgDir, RevokedFile))
	if errors.Is(err, os.ErrNotExist) {
		return Revocations{V: RevocationsVersion}, nil
	}
	if err != nil {
		return Revocations{}, fmt.Errorf("read revocations: %w", err)
	}
	rev, err := DecodeRevocations(b)
	if err != nil {
		return Revocations{}, fmt.Errorf("read revocations %s: %w", RevokedFile, err)
	}
	return rev, nil
}

// DecodeRevocations reads revoked.json strictly: unknown fields, trailing
// data, a serial twice or a field out of range are errors, because a CRL
// made from a misread list would let a revoked certificate back in.
func DecodeRevocations(b []byte) (Revocations, error) {
	var rev Revocations
	if len(b) > maxRevokedFile {
		return rev, fmt.Errorf("larger than %d bytes", maxRevokedFile)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&rev); err != nil {
		return Revocations{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return Revocations{}, errors.New("trailing data")
	}
	if rev.V != RevocationsVersion {
		return Revocations{}, fmt.Errorf("version %d, want %d", rev.V, RevocationsVersion)
	}
	if rev.CRLNumber < 0 {
		return Revocations{}, fmt.Errorf("crl_number %d", rev.CRLNumber)
	}
	seen := map[string]bool{}
	for i, r := range rev.Revoked {
		if s, err := ParseSerial(r.Serial); err != nil || s != r.Serial || seen[s] {
			return Revocations{}, fmt.Errorf("entry %d: serial %q is not valid or listed twice", i, r.Serial)
		}
		seen[r.Serial] = true
		if !r.Kind.valid() {
			return Revocations{}, fmt.Errorf("entry %d: kind %q", i, r.Kind)
		}
		if len([]rune(r.Reason)) > MaxReason {
			return Revocations{}, fmt.Errorf("entry %d: reason longer than %d characters", i, MaxReason)
		}
	}
	return rev, nil
}

// has reports whether serial is revoked.
func (rev Revocations) has(serial string) bool {
	for _, r := range rev.Revoked {
		if r.Serial == serial {
			return true
		}
	}
	return false
}
