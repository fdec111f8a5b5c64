package provisioning

import "errors"

// Why a provisioning bundle is refused. Every error from DecodeBundle,
// Bundle.Check and Apply wraps one of these, so callers (hearthd's log,
// hearthctl provision inspect) can say why without parsing text.
var (
	// ErrCorrupt: the file is not a bundle (not JSON, unknown fields,
	// trailing data, too large, an unknown version).
	ErrCorrupt = errors.New("bundle is corrupt")
	// ErrInvalid: a field is missing or out of range (device id, brokers,
	// time zone, locale, night hours, Wi-Fi, a PEM that does not parse).
	ErrInvalid = errors.New("bundle field is invalid")
	// ErrBadSignature: the organisation's signature does not verify, or the
	// bundle is signed by another organisation than the one this device
	// already trusts.
	ErrBadSignature = errors.New("bundle signature does not verify")
	// ErrMissingKey: the bundle has no private key for its certificate.
	ErrMissingKey = errors.New("bundle has no private key")
	// ErrKeyMismatch: the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("bundle key does not match its certificate")
	// ErrBadCert: the certificate does not chain to the bundle's CA, is not
	// a client certificate, or names another device.
	ErrBadCert = errors.New("bundle certificate is not valid for this device")
	// ErrExpired: the device certificate has expired.
	ErrExpired = errors.New("bundle certificate has expired")
	// ErrWrongDevice: the device already belongs to another device id.
	ErrWrongDevice = errors.New("bundle is for another device")
	// ErrWrongSerial: the bundle is bound to another unit's hardware serial.
	ErrWrongSerial = errors.New("bundle is bound to another unit")
	// ErrOlder: the device already holds a bundle issued at the same time
	// or later.
	ErrOlder = errors.New("bundle is not newer than the device's")
	// ErrWorldReadable: the bundle file, on a file system with real
	// permissions, can be read by every user; its private key is exposed.
	ErrWorldReadable = errors.New("bundle file is readable by everyone")
	// ErrNotProvisioned: the data directory holds no provisioning state.
	ErrNotProvisioned = errors.New("device is not provisioned")
)

// ErrNotIssued: a revocation names a device, person, serial number or
// certificate that the organisation's record (issued.jsonl) or CAs do not
// know.
var ErrNotIssued = errors.New("no such certificate was issued")
