package provisioning

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/sync/proto"
)

// BundleFile is the name hearthd looks for on the boot partition or a USB
// stick. DEVICE.hearth-bundle.json (what hearthctl provision batch writes)
// is found too when it is the only one in its folder.
const BundleFile = "hearth-bundle.json"

// BundleSuffix ends the per-device names that provision batch writes.
const BundleSuffix = ".hearth-bundle.json"

// BundleVersion is the format this code writes and reads.
const BundleVersion = 1

// MaxBundleSize bounds what is read: a bundle is a few kilobytes.
const MaxBundleSize = 64 << 10

// Limits on a bundle's lists.
const (
	MaxBrokers = 8
	MaxWiFi    = 16
)

// sigContext is prepended to what the organisation signs, so a bundle's
// signature can never be taken for an allowlist's or an invite's.
const sigContext = "hearth-bundle-v1\n"

// Bundle is everything a device needs to become itself: identity, broker,
// credentials, the organisation's key and its local settings. The
// organisation signs it; see docs/provisioning.md.
type Bundle struct {
	V      int    `json:"v"`
	Device string `json:"device"`
	Name   string `json:"name,omitempty"`
	// Serial, when set, binds the bundle to one unit's hardware serial.
	Serial string `json:"serial,omitempty"`
	// Issued orders bundles: a device takes only a later one.
	Issued  time.Time `json:"issued"`
	Brokers []string  `json:"brokers"`
	CA      string    `json:"ca"`      // PEM certificate of the organisation's CA
	Cert    string    `json:"cert"`    // PEM client certificate, CN = Device
	Key     string    `json:"key"`     // PEM PKCS #8 ECDSA key of Cert
	OrgKey  string    `json:"org_key"` // PEM PKIX Ed25519 public key
	WiFi    []WiFi    `json:"wifi,omitempty"`
	// Timezone (IANA), Locale (config.Locales) and Night ("22:00-07:00" or
	// "off"): empty leaves the device's own setting.
	Timezone string `json:"timezone,omitempty"`
	Locale   string `json:"locale,omitempty"`
	Night    string `json:"night,omitempty"`
	// RequireSignedItems makes the device refuse photos and messages that
	// no listed sender signed (docs/protocol.md, "Senders"). On in every
	// bundle hearthctl provision makes unless --allow-unsigned-items.
	RequireSignedItems bool   `json:"require_signed_items,omitempty"`
	Sig                []byte `json:"sig,omitempty"`
}

// WiFi is one network. An empty PSK is an open network.
type WiFi struct {
	SSID string `json:"ssid"`
	PSK  string `json:"psk,omitempty"`
}

// DecodeBundle reads a bundle strictly: a size bound, no unknown fields, no
// trailing data, a known version. It does not check the fields; Check does.
func DecodeBundle(b []byte) (Bundle, error) {
	var out Bundle
	if len(b) > MaxBundleSize {
		return out, fmt.Errorf("decode bundle: %w: %d bytes, at most %d", ErrCorrupt, len(b), MaxBundleSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return Bundle{}, fmt.Errorf("decode bundle: %w: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Bundle{}, fmt.Errorf("decode bundle: %w: data after the bundle", ErrCorrupt)
	}
	if out.V != BundleVersion {
		return Bundle{}, fmt.Errorf("decode bundle: %w: version %d, this device reads %d", ErrCorrupt, out.V, BundleVersion)
	}
	return out, nil
}

// Encode writes the bundle as indented JSON (people read it).
func (b Bundle) Encode() []byte {
	out, _ := json.MarshalIndent(b, "", "  ") // plain fields: cannot fail
	return append(out, '\n')
}

// SigningBytes is what the organisation signs: a context line, then the
// bundle's JSON without its signature.
func (b Bundle) SigningBytes() []byte {
	b.Sig = nil
	j, _ := json.Marshal(b)
	return append([]byte(sigContext), j...)
}

// Sign sets the organisation's key and signature.
func (o Org) Sign(b *Bundle) {
	der, _ := x509.MarshalPKIXPublicKey(o.Public()) // Ed25519: cannot fail
	b.OrgKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	b.Sig = ed25519.Sign(o.Key, b.SigningBytes())
}

// OrgPublic parses the bundle's organisation key.
func (b Bundle) OrgPublic() (ed25519.PublicKey, error) {
	blk, rest := pem.Decode([]byte(b.OrgKey))
	if blk == nil || blk.Type != "PUBLIC KEY" || len(trimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: org_key: not one PEM public key", ErrInvalid)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: org_key: %v", ErrInvalid, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: org_key: %T, want Ed25519", ErrInvalid, k)
	}
	return ek, nil
}

// Certificate parses the device's client certificate.
func (b Bundle) Certificate() (*x509.Certificate, error) {
	c, err := parseCert([]byte(b.Cert))
	if err != nil {
		return nil, fmt.Errorf("%w: cert: %v", ErrInvalid, err)
	}
	return c, nil
}

// Check validates every field at time now and verifies the signature
// against the bundle's own organisation key (whether that key is the one the
// device trusts is Apply's question). The error wraps one of the sentinel
// errors and names the field.
func (b Bundle) Check(now time.Time) error {
	if err := b.check(now); err != nil {
		return fmt.Errorf("check bundle: %w", err)
	}
	return nil
}

func (b Bundle) check(now time.Time) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if b.V != BundleVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrCorrupt, b.V, BundleVersion)
	}
	if !proto.ValidID(b.Device) {
		return bad("device %q: letters, digits, '.', '_' and '-', at most 64", b.Device)
	}
	if !utf8.ValidString(b.Name) || len([]rune(b.Name)) > proto.MaxName {
		return bad("name: at most %d characters", proto.MaxName)
	}
	if len(b.Serial) > 128 || strings.ContainsFunc(b.Serial, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return bad("serial %q: printable ASCII without spaces, at most 128", b.Serial)
	}
	if b.Issued.IsZero() || b.Issued.Year() < 2000 || b.Issued.Year() > 9999 {
		return bad("issued: missing or out of range")
	}
	if len(b.Brokers) == 0 || len(b.Brokers) > MaxBrokers {
		return bad("brokers: 1 to %d URLs", MaxBrokers)
	}
	for i, s := range b.Brokers {
		if err := checkBroker(s); err != nil {
			return bad("brokers[%d]: %v", i, err)
		}
	}
	if b.Timezone != "" {
		if b.Timezone == "Local" {
			return bad("timezone: name an IANA zone (Europe/Stockholm), not Local")
		}
		if _, err := time.LoadLocation(b.Timezone); err != nil {
			return bad("timezone %q: %v", b.Timezone, err)
		}
	}
	if b.Locale != "" && !slices.Contains(config.Locales, b.Locale) {
		return bad("locale %q: want one of %s", b.Locale, strings.Join(config.Locales, ", "))
	}
	if b.Night != "" {
		if _, err := device.ParseNightHours(b.Night); err != nil {
			return bad("night: %v", err)
		}
	}
	if len(b.WiFi) > MaxWiFi {
		return bad("wifi: at most %d networks", MaxWiFi)
	}
	for i, w := range b.WiFi {
		if err := checkWiFi(w); err != nil {
			return bad("wifi[%d]: %v", i, err)
		}
	}
	org, err := b.OrgPublic()
	if err != nil {
		return err
	}
	if len(b.Sig) != ed25519.SignatureSize || !ed25519.Verify(org, b.SigningBytes(), b.Sig) {
		return ErrBadSignature
	}
	blk, rest := pem.Decode([]byte(b.CA))
	if blk == nil || blk.Type != "CERTIFICATE" || len(trimSpace(rest)) != 0 {
		return bad("ca: not one PEM certificate")
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return bad("ca: %v", err)
	}
	if !ca.IsCA {
		return bad("ca: not a CA certificate")
	}
	cert, err := b.Certificate()
	if err != nil {
		return err
	}
	if cert.Subject.CommonName != b.Device {
		return fmt.Errorf("%w: issued to %q, the bundle is for %q", ErrBadCert, cert.Subject.CommonName, b.Device)
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("%w: on %s", ErrExpired, cert.NotAfter.UTC().Format(time.DateOnly))
	}
	// A device without a real-time clock can boot before its clock is
	// set: do not refuse a certificate for being "not yet valid" then.
	at := now
	for _, nb := range []time.Time{cert.NotBefore, ca.NotBefore} {
		if at.Before(nb) {
			at = nb
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCert, err)
	}
	if strings.TrimSpace(b.Key) == "" {
		return ErrMissingKey
	}
	key, err := parseECKey([]byte(b.Key))
	if err != nil {
		return bad("key: %v", err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !key.PublicKey.Equal(pub) {
		return ErrKeyMismatch
	}
	return nil
}

func checkBroker(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	if u.Scheme != "mqtts" && u.Scheme != "mqtt" {
		return fmt.Errorf("%q: want mqtts://host:port (or mqtt:// on a closed network)", s)
	}
	if u.Hostname() == "" || u.Port() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: want mqtts://host:port", s)
	}
	return nil
}

func checkWiFi(w WiFi) error {
	if len(w.SSID) < 1 || len(w.SSID) > 32 {
		return fmt.Errorf("ssid: 1 to 32 bytes, got %d", len(w.SSID))
	}
	if w.PSK == "" {
		return nil // an open network
	}
	if len(w.PSK) < 8 || len(w.PSK) > 63 {
		return errors.New("psk: 8 to 63 characters (or none for an open network)")
	}
	for _, r := range w.PSK {
		if r < 0x20 || r > 0x7e {
			return errors.New("psk: printable ASCII only")
		}
	}
	return nil
}

// Redacted is the bundle without its secrets (the private key and the Wi-Fi
// passphrases), for showing and for logs.
func (b Bundle) Redacted() Bundle {
	if b.Key != "" {
		b.Key = "(redacted)"
	}
	b.WiFi = slices.Clone(b.WiFi)
	for i := range b.WiFi {
		if b.WiFi[i].PSK != "" {
			b.WiFi[i].PSK = "(redacted)"
		}
	}
	return b
}

// Spec is what an installer says about one device; Issue adds the
// credentials and signs.
type Spec struct {
	Device   string
	Name     string
	Serial   string
	Brokers  []string
	WiFi     []WiFi
	Timezone string
	Locale   string
	Night    string
	// RequireSignedItems: the device takes only signed photos and
	// messages (Bundle.RequireSignedItems).
	RequireSignedItems bool
	// Valid is how long the device certificate lasts; default 5 years.
	Valid time.Duration
}

// DefaultValid is a device certificate's life unless the installer says.
const DefaultValid = 5 * 365 * 24 * time.Hour

// Issue makes a device's key and certificate with ca and a bundle signed by
// org, issued at now, and checks it.
func Issue(org Org, ca CA, s Spec, now time.Time) (Bundle, error) {
	if !proto.ValidID(s.Device) {
		return Bundle{}, fmt.Errorf("issue bundle: %w: device %q: letters, digits, '.', '_' and '-', at most 64", ErrInvalid, s.Device)
	}
	if s.Valid == 0 {
		s.Valid = DefaultValid
	}
	cert, key, err := ca.IssueClient(s.Device, s.Valid, now)
	if err != nil {
		return Bundle{}, fmt.Errorf("issue bundle: %w", err)
	}
	b := Bundle{
		V: BundleVersion, Device: s.Device, Name: s.Name, Serial: s.Serial, Issued: now.UTC(),
		Brokers: s.Brokers, CA: string(ca.PEM), Cert: string(cert), Key: string(key), WiFi: s.WiFi,
		Timezone: s.Timezone, Locale: s.Locale, Night: s.Night, RequireSignedItems: s.RequireSignedItems,
	}
	org.Sign(&b)
	if err := b.Check(now); err != nil {
		return Bundle{}, fmt.Errorf("issue bundle: %w", err)
	}
	return b, nil
}

// IssueFromDir is Issue with the organisation's folder (provision ca init).
func IssueFromDir(orgDir string, s Spec, now time.Time) (Bundle, error) {
	org, err := LoadOrg(orgDir)
	if err != nil {
		return Bundle{}, err
	}
	ca, err := LoadCA(orgDir)
	if err != nil {
		return Bundle{}, err
	}
	return Issue(org, ca, s, now)
}
