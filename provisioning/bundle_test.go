package provisioning

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is now: the test CA is made now.
var t0 = time.Now().UTC().Truncate(time.Second)

// testOrg makes an organisation's keys and CA in a temporary folder.
func testOrg(t testing.TB) (Org, CA, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "org")
	org, err := NewOrg(dir, "Care Co")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	return org, ca, dir
}

func testSpec() Spec {
	return Spec{
		Device: "mum-kitchen", Name: "Mum's kitchen", Brokers: []string{"mqtts://broker.example:8883", "mqtts://10.0.0.2:8883"},
		WiFi:     []WiFi{{SSID: "Home", PSK: "correct horse"}, {SSID: "Open café"}},
		Timezone: "Europe/Stockholm", Locale: "sv", Night: "22:00-07:00",
	}
}

func issue(t testing.TB, org Org, ca CA, s Spec, at time.Time) Bundle {
	t.Helper()
	b, err := Issue(org, ca, s, at)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return b
}

func TestBundleRoundTrip(t *testing.T) {
	org, ca, _ := testOrg(t)
	b := issue(t, org, ca, testSpec(), t0)
	got, err := DecodeBundle(b.Encode())
	if err != nil {
		t.Fatalf("DecodeBundle = %v", err)
	}
	if err := got.Check(t0.Add(time.Hour)); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if !bytes.Equal(got.Encode(), b.Encode()) {
		t.Fatalf("round trip changed the bundle:\n%s\nwant\n%s", got.Encode(), b.Encode())
	}
	pub, err := got.OrgPublic()
	if err != nil || !pub.Equal(org.Public()) {
		t.Fatalf("OrgPublic = %v, %v", pub, err)
	}
	r := got.Redacted()
	if strings.Contains(string(r.Encode()), "PRIVATE KEY") || strings.Contains(string(r.Encode()), "correct horse") {
		t.Fatalf("Redacted shows secrets:\n%s", r.Encode())
	}
	if got.WiFi[0].PSK != "correct horse" {
		t.Fatalf("Redacted changed the original")
	}
}

func TestIssueFromDir(t *testing.T) {
	_, _, dir := testOrg(t)
	b, err := IssueFromDir(dir, Spec{Device: "d1", Brokers: []string{"mqtt://127.0.0.1:1883"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(t0); err != nil {
		t.Fatal(err)
	}
	if _, err := IssueFromDir(dir, Spec{Device: "no/slash", Brokers: []string{"mqtt://h:1"}}, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("IssueFromDir(bad id) = %v, want ErrInvalid", err)
	}
}

func TestDecodeBundleStrict(t *testing.T) {
	org, ca, _ := testOrg(t)
	good := issue(t, org, ca, testSpec(), t0).Encode()
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not json", []byte("hello")},
		{"array", []byte("[]")},
		{"unknown field", bytes.Replace(good, []byte(`"v": 1,`), []byte(`"v": 1, "admin": true,`), 1)},
		{"trailing data", append(append([]byte{}, good...), []byte(`{}`)...)},
		{"version 2", bytes.Replace(good, []byte(`"v": 1,`), []byte(`"v": 2,`), 1)},
		{"no version", bytes.Replace(good, []byte(`"v": 1,`), nil, 1)},
		{"too big", append(bytes.Repeat([]byte(" "), MaxBundleSize), good...)},
		{"truncated", good[:len(good)/2]},
		{"wrong type", bytes.Replace(good, []byte(`"v": 1,`), []byte(`"v": "1",`), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeBundle(tc.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeBundle = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestCheckFields changes one field at a time; resign says whether the
// bundle is signed again after the change (to reach the checks behind the
// signature).
func TestCheckFields(t *testing.T) {
	org, ca, _ := testOrg(t)
	other, otherCA, _ := testOrg(t)
	base := issue(t, org, ca, testSpec(), t0)
	otherBundle := issue(t, other, otherCA, testSpec(), t0)
	wrongDev := issue(t, org, ca, Spec{Device: "someone-else", Brokers: []string{"mqtt://h:1"}}, t0)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(ecKey.Public())
	ecPub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}))

	for _, tc := range []struct {
		name   string
		change func(b *Bundle)
		resign bool
		now    time.Time
		want   error
	}{
		{"good", func(*Bundle) {}, false, t0, nil},
		{"good, minimal", func(b *Bundle) {
			b.Name, b.WiFi, b.Timezone, b.Locale, b.Night = "", nil, "", "", ""
		}, true, t0, nil},
		{"good, open wifi and night off", func(b *Bundle) { b.WiFi = []WiFi{{SSID: "x"}}; b.Night = "off" }, true, t0, nil},
		{"good, clock not yet set", func(*Bundle) {}, false, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"version", func(b *Bundle) { b.V = 3 }, false, t0, ErrCorrupt},
		{"no device", func(b *Bundle) { b.Device = "" }, false, t0, ErrInvalid},
		{"device with slash", func(b *Bundle) { b.Device = "a/b" }, false, t0, ErrInvalid},
		{"device wildcard", func(b *Bundle) { b.Device = "+" }, false, t0, ErrInvalid},
		{"long name", func(b *Bundle) { b.Name = strings.Repeat("x", 200) }, false, t0, ErrInvalid},
		{"serial with space", func(b *Bundle) { b.Serial = "a b" }, false, t0, ErrInvalid},
		{"no issued", func(b *Bundle) { b.Issued = time.Time{} }, false, t0, ErrInvalid},
		{"no brokers", func(b *Bundle) { b.Brokers = nil }, false, t0, ErrInvalid},
		{"too many brokers", func(b *Bundle) { b.Brokers = make([]string, 9) }, false, t0, ErrInvalid},
		{"http broker", func(b *Bundle) { b.Brokers = []string{"http://h:80"} }, false, t0, ErrInvalid},
		{"broker without port", func(b *Bundle) { b.Brokers = []string{"mqtts://h"} }, false, t0, ErrInvalid},
		{"broker with password", func(b *Bundle) { b.Brokers = []string{"mqtts://u:p@h:8883"} }, false, t0, ErrInvalid},
		{"broker garbage", func(b *Bundle) { b.Brokers = []string{"::"} }, false, t0, ErrInvalid},
		{"timezone", func(b *Bundle) { b.Timezone = "Mars/Olympus" }, false, t0, ErrInvalid},
		{"timezone Local", func(b *Bundle) { b.Timezone = "Local" }, false, t0, ErrInvalid},
		{"locale", func(b *Bundle) { b.Locale = "xx" }, false, t0, ErrInvalid},
		{"night", func(b *Bundle) { b.Night = "late" }, false, t0, ErrInvalid},
		{"ssid empty", func(b *Bundle) { b.WiFi = []WiFi{{SSID: ""}} }, false, t0, ErrInvalid},
		{"ssid 33 bytes", func(b *Bundle) { b.WiFi = []WiFi{{SSID: strings.Repeat("s", 33)}} }, false, t0, ErrInvalid},
		{"psk 7", func(b *Bundle) { b.WiFi = []WiFi{{SSID: "s", PSK: "1234567"}} }, false, t0, ErrInvalid},
		{"psk 64", func(b *Bundle) { b.WiFi = []WiFi{{SSID: "s", PSK: strings.Repeat("p", 64)}} }, false, t0, ErrInvalid},
		{"psk not ascii", func(b *Bundle) { b.WiFi = []WiFi{{SSID: "s", PSK: "lösenord1"}} }, false, t0, ErrInvalid},
		{"too many networks", func(b *Bundle) { b.WiFi = make([]WiFi, 17) }, false, t0, ErrInvalid},
		{"no org key", func(b *Bundle) { b.OrgKey = "" }, false, t0, ErrInvalid},
		{"org key not ed25519", func(b *Bundle) { b.OrgKey = ecPub }, false, t0, ErrInvalid},
		{"tampered", func(b *Bundle) { b.Name = "Someone else's" }, false, t0, ErrBadSignature},
		{"no signature", func(b *Bundle) { b.Sig = nil }, false, t0, ErrBadSignature},
		{"another org's key claimed", func(b *Bundle) { b.OrgKey = otherBundle.OrgKey }, false, t0, ErrBadSignature},
		{"ca not pem", func(b *Bundle) { b.CA = "nope" }, true, t0, ErrInvalid},
		{"ca is not a ca", func(b *Bundle) { b.CA = b.Cert }, true, t0, ErrInvalid},
		{"cert not pem", func(b *Bundle) { b.Cert = "" }, true, t0, ErrInvalid},
		{"cert from another ca", func(b *Bundle) { b.Cert, b.Key = otherBundle.Cert, otherBundle.Key }, true, t0, ErrBadCert},
		{"cert for another device", func(b *Bundle) { b.Cert, b.Key = wrongDev.Cert, wrongDev.Key }, true, t0, ErrBadCert},
		{"expired", func(*Bundle) {}, false, t0.Add(6 * 365 * 24 * time.Hour), ErrExpired},
		{"no key", func(b *Bundle) { b.Key = "" }, true, t0, ErrMissingKey},
		{"key garbage", func(b *Bundle) { b.Key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, true, t0, ErrInvalid},
		{"key of another cert", func(b *Bundle) { b.Key = otherBundle.Key }, true, t0, ErrKeyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBundle(base.Encode()) // a deep copy
			if err != nil {
				t.Fatal(err)
			}
			tc.change(&b)
			if tc.resign {
				org.Sign(&b)
			}
			err = b.Check(tc.now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzDecodeBundle: no input makes the decoder or the checks panic, and
// whatever decodes encodes and decodes again to the same bundle.
func FuzzDecodeBundle(f *testing.F) {
	org, ca, _ := testOrg(f)
	good := issue(f, org, ca, testSpec(), t0).Encode()
	f.Add(good)
	f.Add([]byte(`{"v":1,"device":"d","issued":"2026-01-01T00:00:00Z","brokers":["mqtts://h:1"],"ca":"","cert":"","key":"","org_key":""}`))
	f.Add([]byte(`{"v":1,"wifi":[{"ssid":"a","psk":""}],"sig":"AAAA"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeBundle(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeBundle error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		_ = b.Check(t0)
		_ = b.Redacted()
		again, err := DecodeBundle(b.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(again.SigningBytes(), b.SigningBytes()) {
			t.Fatalf("signing bytes changed across a round trip")
		}
	})
}
