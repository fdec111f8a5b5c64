package provisioning

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readCRL reads and checks a CRL file against the CA folder it belongs to.
func readCRL(t *testing.T, caDir string) *x509.RevocationList {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(caDir, CRLFile))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "X509 CRL" {
		t.Fatalf("%s: not a PEM CRL", caDir)
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(caDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("CRL in %s does not verify against its CA: %v", caDir, err)
	}
	return crl
}

func crlSerials(crl *x509.RevocationList) []string {
	var out []string
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, SerialHex(e.SerialNumber))
	}
	slices.Sort(out)
	return out
}

func certSerial(t *testing.T, certPEM []byte) string {
	t.Helper()
	c, err := parseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return SerialHex(c.SerialNumber)
}

func TestNewOrgWritesEmptyCRLs(t *testing.T) {
	_, _, dir := testOrg(t)
	for _, caDir := range []string{dir, filepath.Join(dir, PeopleDir)} {
		crl := readCRL(t, caDir)
		if len(crl.RevokedCertificateEntries) != 0 || crl.NextUpdate.Before(time.Now().Add(CRLValid-2*time.Hour)) {
			t.Errorf("%s: CRL has %d entries, next update %v; want empty, a year ahead", caDir, len(crl.RevokedCertificateEntries), crl.NextUpdate)
		}
	}
}

func TestIssuedRecord(t *testing.T) {
	org, ca, dir := testOrg(t)
	now := time.Now()
	b1 := issue(t, org, ca, testSpec(), now)
	people, err := PeopleCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	person, _, err := people.IssueClient("anna", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	server, _, err := ca.IssueServer([]string{"broker.example", "10.0.0.2"}, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := ReadIssued(dir)
	if err != nil || bad != 0 || len(recs) != 3 {
		t.Fatalf("ReadIssued = %+v, %d bad, %v; want 3 records", recs, bad, err)
	}
	want := []Issued{
		{Kind: KindDevice, ID: "mum-kitchen", Serial: certSerial(t, []byte(b1.Cert))},
		{Kind: KindPerson, ID: "anna", Serial: certSerial(t, person)},
		{Kind: KindBroker, ID: "broker.example,10.0.0.2", Serial: certSerial(t, server)},
	}
	for i, w := range want {
		r := recs[i]
		if r.Kind != w.Kind || r.ID != w.ID || r.Serial != w.Serial || r.NotAfter.IsZero() || !r.Issued.Equal(now.UTC()) {
			t.Errorf("record %d = %+v, want %+v", i, r, w)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, IssuedFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v %v, want 0600", IssuedFile, fi.Mode(), err)
	}

	// A line cut short by a power cut is skipped; the next record is whole.
	f, err := os.OpenFile(filepath.Join(dir, IssuedFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"device","id":"half`)
	f.Close()
	issue(t, org, ca, Spec{Device: "dev-b", Brokers: []string{"mqtts://b:8883"}}, now)
	recs, bad, err = ReadIssued(dir)
	if err != nil || bad != 1 || len(recs) != 4 || recs[3].ID != "dev-b" {
		t.Fatalf("after a torn line: ReadIssued = %+v, %d bad, %v; want 4 records and 1 bad", recs, bad, err)
	}

	// An organisation folder from before the record: none, no error.
	if recs, bad, err := ReadIssued(t.TempDir()); recs != nil || bad != 0 || err != nil {
		t.Fatalf("ReadIssued without a record = %v, %d, %v", recs, bad, err)
	}
}

func TestRevokeDevice(t *testing.T) {
	org, ca, dir := testOrg(t)
	now := time.Now()
	spec := testSpec()
	first := issue(t, org, ca, spec, now.Add(-time.Hour))
	second := issue(t, org, ca, spec, now) // re-issued: both must go
	other := issue(t, org, ca, Spec{Device: "dev-b", Brokers: []string{"mqtts://b:8883"}}, now)

	res, err := Revoke(dir, Match{Device: spec.Device}, "stolen", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{certSerial(t, []byte(first.Cert)), certSerial(t, []byte(second.Cert))}
	slices.Sort(want)
	var got []string
	for _, r := range res.Revoked {
		got = append(got, r.Serial)
		if r.Kind != KindDevice || r.ID != spec.Device || r.Reason != "stolen" || !r.At.Equal(now.UTC()) {
			t.Errorf("revoked %+v", r)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || len(res.Already) != 0 {
		t.Fatalf("Revoke(device) revoked %v (already %v), want %v", got, res.Already, want)
	}
	crl := readCRL(t, dir)
	if s := crlSerials(crl); !slices.Equal(s, want) {
		t.Fatalf("CRL lists %v, want %v", s, want)
	}
	if slices.Contains(crlSerials(crl), certSerial(t, []byte(other.Cert))) {
		t.Fatal("CRL lists dev-b")
	}
	if !crl.NextUpdate.Equal(now.Add(CRLValid).UTC().Truncate(time.Second)) || crl.ThisUpdate.After(now) {
		t.Errorf("CRL valid %v to %v, want until now+%v", crl.ThisUpdate, crl.NextUpdate, CRLValid)
	}
	if n := len(readCRL(t, filepath.Join(dir, PeopleDir)).RevokedCertificateEntries); n != 0 {
		t.Errorf("people CRL lists %d devices", n)
	}
	if len(res.CRLs) != 2 || res.CRLs[0].Entries != 2 || res.CRLs[0].Path != filepath.Join(dir, CRLFile) {
		t.Errorf("CRLs = %+v", res.CRLs)
	}

	// Idempotent: once more keeps one entry each, with a new CRL number.
	again, err := Revoke(dir, Match{Device: spec.Device}, "again", now.Add(time.Minute))
	if err != nil || len(again.Revoked) != 0 || len(again.Already) != 2 || again.Already[0].Reason != "stolen" {
		t.Fatalf("second Revoke = %+v, %v; want nothing new, 2 already", again, err)
	}
	rev, err := ReadRevocations(dir)
	if err != nil || len(rev.Revoked) != 2 {
		t.Fatalf("revoked.json = %+v, %v; want 2 entries", rev, err)
	}
	crl2 := readCRL(t, dir)
	if crl2.Number.Cmp(crl.Number) <= 0 || !crl2.ThisUpdate.After(crl.ThisUpdate) || !slices.Equal(crlSerials(crl2), want) {
		t.Errorf("re-signed CRL number %v after %v, thisUpdate %v after %v, serials %v",
			crl2.Number, crl.Number, crl2.ThisUpdate, crl.ThisUpdate, crlSerials(crl2))
	}
}

func TestRevokePersonSerialAndCert(t *testing.T) {
	_, ca, dir := testOrg(t)
	now := time.Now()
	people, err := PeopleCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	anna, _, err := people.IssueClient("anna", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(dir, Match{Person: "anna"}, "left", now); err != nil {
		t.Fatal(err)
	}
	if s := crlSerials(readCRL(t, filepath.Join(dir, PeopleDir))); !slices.Equal(s, []string{certSerial(t, anna)}) {
		t.Fatalf("people CRL = %v, want anna's", s)
	}
	if n := len(readCRL(t, dir).RevokedCertificateEntries); n != 0 {
		t.Fatalf("organisation's CRL lists %d, want anna on the people CRL only", n)
	}

	// By serial as openssl prints it: upper case with colons.
	dev, _, err := ca.IssueClient("dev-c", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := parseCert(dev)
	var colons []string
	for _, b := range c.SerialNumber.Bytes() {
		colons = append(colons, fmt.Sprintf("%02X", b))
	}
	if res, err := Revoke(dir, Match{Serial: strings.Join(colons, ":")}, "", now); err != nil || len(res.Revoked) != 1 || res.Revoked[0].ID != "dev-c" {
		t.Fatalf("Revoke(serial) = %+v, %v", res, err)
	}

	// By certificate file: one the record does not know (issued before it).
	unrecorded := people
	unrecorded.OrgDir = ""
	old, _, err := unrecorded.IssueClient("bob", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(dir, Match{Serial: certSerial(t, old)}, "", now); !errors.Is(err, ErrNotIssued) {
		t.Fatalf("Revoke(unrecorded serial) = %v, want ErrNotIssued", err)
	}
	res, err := Revoke(dir, Match{Cert: old}, "", now)
	if err != nil || len(res.Revoked) != 1 || res.Revoked[0].Kind != KindPerson || res.Revoked[0].ID != "bob" {
		t.Fatalf("Revoke(cert) = %+v, %v", res, err)
	}
	if s := crlSerials(readCRL(t, filepath.Join(dir, PeopleDir))); len(s) != 2 {
		t.Fatalf("people CRL = %v, want anna and bob", s)
	}
}

func TestRevokeRefuses(t *testing.T) {
	_, _, dir := testOrg(t)
	_, _, foreignDir := testOrg(t)
	foreign, err := LoadCA(foreignDir)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _, err := foreign.IssueClient("mum-kitchen", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    Match
		want error
		text string
	}{
		{"unknown device", Match{Device: "nobody"}, ErrNotIssued, `device "nobody"`},
		{"unknown person", Match{Person: "nobody"}, ErrNotIssued, `person "nobody"`},
		{"another organisation's certificate", Match{Cert: stranger}, ErrNotIssued, "not issued by this organisation"},
		{"not a serial", Match{Serial: "xyz"}, nil, "want a certificate serial number"},
		{"not a certificate", Match{Cert: []byte("hello")}, nil, "not a PEM certificate"},
		{"two at once", Match{Device: "a", Person: "b"}, nil, "exactly one"},
		{"nothing", Match{}, nil, "exactly one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Revoke(dir, tc.m, "", time.Now())
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Revoke(%+v) = %v, want %v mentioning %q", tc.m, err, tc.want, tc.text)
			}
		})
	}
	if rev, err := ReadRevocations(dir); err != nil || len(rev.Revoked) != 0 {
		t.Fatalf("after refusals: %+v, %v", rev, err)
	}
}

func TestParseSerial(t *testing.T) {
	for in, want := range map[string]string{
		"0a1b": "a1b", "0x0A1B": "a1b", "0A:1B": "a1b", "serial=0A1B": "a1b", " a1b ": "a1b",
		"": "", "0": "", "-1": "", "+1": "", "xyz": "", "0x": "", strings.Repeat("f", 41): "",
	} {
		got, err := ParseSerial(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseSerial(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
}

func TestWriteCRLsResigns(t *testing.T) {
	_, _, dir := testOrg(t)
	before := readCRL(t, dir)
	now := time.Now().Add(30 * 24 * time.Hour) // a month later, from cron
	crls, err := WriteCRLs(dir, now)
	if err != nil || len(crls) != 2 {
		t.Fatalf("WriteCRLs = %+v, %v", crls, err)
	}
	after := readCRL(t, dir)
	if after.Number.Cmp(before.Number) <= 0 || !after.NextUpdate.After(before.NextUpdate) || !crls[1].NextUpdate.Equal(after.NextUpdate) {
		t.Fatalf("re-signed CRL: number %v→%v, next update %v→%v", before.Number, after.Number, before.NextUpdate, after.NextUpdate)
	}
}

func FuzzDecodeRevocations(f *testing.F) {
	f.Add([]byte(`{"v":1,"crl_number":3,"this_update":"2026-01-01T00:00:00Z","revoked":[{"serial":"a1b","kind":"device","id":"mum-kitchen","not_after":"2031-01-01T00:00:00Z","revoked":"2026-01-02T00:00:00Z","reason":"stolen"}]}`))
	f.Add([]byte(`{"v":1,"crl_number":0,"revoked":[]}`))
	f.Add([]byte(`{"v":1,"revoked":[{"serial":"a","kind":"person"},{"serial":"a","kind":"person"}]}`))
	f.Add([]byte(`{"v":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rev, err := DecodeRevocations(b)
		if err != nil {
			return
		}
		// What decodes is what the CRLs are made from: every serial parses.
		for _, r := range rev.Revoked {
			if n, ok := new(big.Int).SetString(r.Serial, 16); !ok || n.Sign() <= 0 || !r.Kind.valid() {
				t.Fatalf("accepted entry %+v", r)
			}
		}
	})
}

func FuzzDecodeIssued(f *testing.F) {
	f.Add([]byte(`{"kind":"device","id":"mum-kitchen","serial":"a1b","not_after":"2031-01-01T00:00:00Z","issued":"2026-01-01T00:00:00Z"}` + "\n"))
	f.Add([]byte(`{"kind":"broker","id":"b.example,10.0.0.2","serial":"1","not_after":"2031-01-01T00:00:00Z","issued":"2026-01-01T00:00:00Z"}` + "\n" + `{"kind":"person","id":"an`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, bad, err := DecodeIssued(bytes.NewReader(b))
		if err != nil {
			return
		}
		if bad < 0 || len(recs) > bytes.Count(b, []byte("\n"))+1 {
			t.Fatalf("%d records, %d bad from %d lines", len(recs), bad, bytes.Count(b, []byte("\n"))+1)
		}
		for _, r := range recs {
			if err := r.check(); err != nil {
				t.Fatalf("accepted %+v: %v", r, err)
			}
		}
	})
}
