package device

import (
	"crypto/sha256"
	"strings"
)

// SetupDisplay shows that the device has no provisioning bundle yet.
// Implementations must be safe to call from any goroutine and must not
// wait for the screen.
type SetupDisplay interface {
	// ShowUnprovisioned replaces the carousel with the "not set up yet"
	// screen: code in large type and as a QR code, hint (may be empty) as
	// a line for the installer under it.
	ShowUnprovisioned(code, hint string)
	// ClearUnprovisioned brings the carousel back (a bundle was applied).
	ClearUnprovisioned()
}

// setupAlphabet is Crockford's base32: digits and capitals without I, L,
// O and U, so a code read aloud or typed from the screen has no 1/I/L or
// 0/O to confuse.
const setupAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// SetupCode is the code an unprovisioned device shows (and puts in its QR
// code) so that the installer can tell which device is in front of them:
// "HRTH-" and 40 bits of the SHA-256 of the hardware serial as 8 base32
// characters in two groups, "HRTH-7F3A-91C2". The same serial always gives
// the same code. Blanks, NUL bytes (the device tree's serial-number ends in
// one) and letter case around the serial do not change it. A blank serial
// gives "": there is nothing to tell devices apart by.
//
// It uses only capitals, digits and '-': URL-safe, and the compact
// alphanumeric mode of a QR code.
func SetupCode(serial string) string {
	s := strings.ToLower(strings.Trim(serial, " \t\r\n\x00"))
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	// The first 40 bits, 5 at a time.
	var bits uint64
	for _, b := range sum[:5] {
		bits = bits<<8 | uint64(b)
	}
	var out [8]byte
	for i := range out {
		out[i] = setupAlphabet[(bits>>(35-5*i))&31]
	}
	return "HRTH-" + string(out[:4]) + "-" + string(out[4:])
}
