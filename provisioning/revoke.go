package provisioning

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// CRLValid is how long a CRL is valid (its nextUpdate). OpenSSL, and so
// Mosquitto, refuses every client certificate of a CA whose CRL has
// expired: the CRLs must be signed again before then (WriteCRLs; hearthctl
// provision crl) and copied to the broker.
const CRLValid = 365 * 24 * time.Hour

// crlSlack backdates a CRL's thisUpdate, as certificates' notBefore: a
// CRL "not yet valid" on a broker whose clock is a little behind would
// shut everyone out.
const crlSlack = time.Hour

// Match names the certificates to revoke: exactly one field.
type Match struct {
	Device string // every certificate issued to this device id
	Person string // every certificate issued to this person
	Serial string // one certificate by serial number (hex), from the record
	Cert   []byte // one certificate (PEM), recorded or not
}

// RevokeResult is what Revoke did.
type RevokeResult struct {
	Revoked []Revoked // newly revoked
	Already []Revoked // matched but revoked before
	CRLs    []CRL     // the CRLs written
	// Unreadable counts the lines of the record that could not be read
	// (ReadIssued), which could have named more certificates.
	Unreadable int
}

// CRL is one CA's certificate revocation list as WriteCRLs wrote it.
type CRL struct {
	Path       string
	Kind       Kind // KindDevice: the organisation's CA (devices, brokers); KindPerson: the people CA
	Entries    int
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
}

// Revoke adds the certificates m names to the organisation's revoked.json
// and writes both CAs' CRLs again. Revoking a certificate twice keeps one
// entry (and still writes the CRLs). A device or person with no
// certificate in the record is ErrNotIssued.
func Revoke(orgDir string, m Match, reason string, now time.Time) (RevokeResult, error) {
	var res RevokeResult
	if n := btoi(m.Device != "") + btoi(m.Person != "") + btoi(m.Serial != "") + btoi(m.Cert != nil); n != 1 {
		return res, errors.New("revoke: name exactly one of a device, a person, a serial or a certificate")
	}
	if len([]rune(reason)) > MaxReason {
		return res, fmt.Errorf("revoke: reason longer than %d characters", MaxReason)
	}
	found, bad, err := matching(orgDir, m)
	res.Unreadable = bad
	if err != nil {
		return res, fmt.Errorf("revoke: %w", err)
	}
	rev, err := ReadRevocations(orgDir)
	if err != nil {
		return res, fmt.Errorf("revoke: %w", err)
	}
	for _, r := range found {
		if rev.has(r.Serial) {
			i := slices.IndexFunc(rev.Revoked, func(x Revoked) bool { return x.Serial == r.Serial })
			res.Already = append(res.Already, rev.Revoked[i])
			continue
		}
		r.At, r.Reason = now.UTC(), reason
		rev.Revoked = append(rev.Revoked, r)
		res.Revoked = append(res.Revoked, r)
	}
	if res.CRLs, err = writeCRLs(orgDir, rev, now); err != nil {
		return res, fmt.Errorf("revoke: %w", err)
	}
	return res, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// matching finds the certificates m names, from the record or, for
// m.Cert, from the certificate itself; bad counts unreadable record lines.
func matching(orgDir string, m Match) (found []Revoked, bad int, err error) {
	if m.Cert != nil {
		r, err := certToRevoke(orgDir, m.Cert)
		if err != nil {
			return nil, 0, err
		}
		return []Revoked{r}, 0, nil
	}
	issued, bad, err := ReadIssued(orgDir)
	if err != nil {
		return nil, 0, err
	}
	var kind Kind
	var id, serial string
	switch {
	case m.Device != "":
		kind, id = KindDevice, m.Device
	case m.Person != "":
		kind, id = KindPerson, m.Person
	default:
		if serial, err = ParseSerial(m.Serial); err != nil {
			return nil, bad, err
		}
	}
	seen := map[string]bool{}
	for _, r := range issued {
		if serial != "" && r.Serial != serial || serial == "" && (r.Kind != kind || r.ID != id) || seen[r.Serial] {
			continue
		}
		seen[r.Serial] = true
		found = append(found, Revoked{Serial: r.Serial, Kind: r.Kind, ID: r.ID, NotAfter: r.NotAfter})
	}
	if len(found) > 0 {
		return found, bad, nil
	}
	hint := ""
	if len(issued) == 0 {
		hint = fmt.Sprintf(" (%s is empty or missing: certificates issued before it was kept can be revoked with their certificate file)", IssuedFile)
	}
	if serial != "" {
		return nil, bad, fmt.Errorf("%w: serial %s is not in %s%s", ErrNotIssued, serial, IssuedFile, hint)
	}
	return nil, bad, fmt.Errorf("%w: no certificate was issued to %s %q%s", ErrNotIssued, kind, id, hint)
}

// certToRevoke reads a certificate file's certificate and tells by its
// signature which of the organisation's CAs issued it.
func certToRevoke(orgDir string, certPEM []byte) (Revoked, error) {
	blk, _ := pem.Decode(certPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return Revoked{}, errors.New("not a PEM certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return Revoked{}, err
	}
	r := Revoked{Serial: SerialHex(c.SerialNumber), ID: c.Subject.CommonName, NotAfter: c.NotAfter.UTC()}
	if c.SerialNumber.Sign() <= 0 {
		return Revoked{}, errors.New("certificate has no valid serial number")
	}
	org, err := loadCA(orgDir)
	if err != nil {
		return Revoked{}, err
	}
	if c.CheckSignatureFrom(org.Cert) == nil {
		r.Kind = KindDevice
		if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			r.Kind = KindBroker
		}
		return r, nil
	}
	if people, err := loadCA(filepath.Join(orgDir, PeopleDir)); err == nil && c.CheckSignatureFrom(people.Cert) == nil {
		r.Kind = KindPerson
		return r, nil
	}
	return Revoked{}, fmt.Errorf("%w: the certificate (CN %q) was not issued by this organisation's CAs", ErrNotIssued, c.Subject.CommonName)
}

// WriteCRLs signs both CAs' CRLs again from revoked.json, unchanged but
// for a new number and a new validity (CRLValid): what an installer's
// cron job runs (hearthctl provision crl) well before NextUpdate.
func WriteCRLs(orgDir string, now time.Time) ([]CRL, error) {
	rev, err := ReadRevocations(orgDir)
	if err != nil {
		return nil, fmt.Errorf("write crls: %w", err)
	}
	crls, err := writeCRLs(orgDir, rev, now)
	if err != nil {
		return nil, fmt.Errorf("write crls: %w", err)
	}
	return crls, nil
}

// writeCRLs saves rev with the next CRL number, then writes the
// organisation's CA's CRL (devices and brokers) and the people CA's
// (people), when there is a people CA. revoked.json first: should a CRL
// fail to be written, WriteCRLs makes it again from there.
func writeCRLs(orgDir string, rev Revocations, now time.Time) ([]CRL, error) {
	org, err := loadCA(orgDir)
	if err != nil {
		return nil, err
	}
	rev.V = RevocationsVersion
	rev.CRLNumber++
	this := now.Add(-crlSlack).UTC().Truncate(time.Second)
	// Later than the last CRLs' by a second at least, so a reloading broker
	// prefers the new ones; but not when the last were made on a clock far
	// ahead: such a CRL is not yet valid at the broker, and loses anyway.
	if !this.After(rev.ThisUpdate) && rev.ThisUpdate.Sub(this) < time.Minute {
		this = rev.ThisUpdate.Add(time.Second)
	}
	rev.ThisUpdate = this
	if rev.Revoked == nil {
		rev.Revoked = []Revoked{}
	}
	b, err := json.MarshalIndent(rev, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := WriteFile(filepath.Join(orgDir, RevokedFile), append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	next := now.Add(CRLValid).UTC().Truncate(time.Second)
	var crls []CRL
	for _, kind := range []Kind{KindDevice, KindPerson} {
		dir, ca := orgDir, org
		if kind == KindPerson {
			dir = filepath.Join(orgDir, PeopleDir)
			if _, err := os.Stat(filepath.Join(dir, CACertFile)); errors.Is(err, os.ErrNotExist) {
				continue // an older organisation without people yet; PeopleCA makes its CRL
			}
			if ca, err = loadCA(dir); err != nil {
				return nil, err
			}
		}
		tmpl := &x509.RevocationList{Number: big.NewInt(rev.CRLNumber), ThisUpdate: this, NextUpdate: next}
		for _, r := range rev.Revoked {
			if (r.Kind == KindPerson) != (kind == KindPerson) {
				continue
			}
			n, _ := new(big.Int).SetString(r.Serial, 16) // checked by DecodeRevocations
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
				x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.At.UTC()})
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
		if err != nil {
			return nil, fmt.Errorf("sign %s crl: %w", kind, err)
		}
		path := filepath.Join(dir, CRLFile)
		if err := WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
			return nil, err
		}
		crls = append(crls, CRL{Path: path, Kind: kind, Entries: len(tmpl.RevokedCertificateEntries),
			Number: rev.CRLNumber, ThisUpdate: this, NextUpdate: next})
	}
	return crls, nil
}
