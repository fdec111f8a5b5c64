package proto

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// What a person on an allowlist may do, besides the call modes
// (ModeForced, ModeSignalled) that share the allowlist's "modes" field.
// The organisation lists each person once per device with all of them.
const (
	// RightSend: may send photos and messages to the device (signed items).
	RightSend CallMode = "send"
	// RightBook: may book calls. A caller with ModeForced may book too,
	// as before this right existed.
	RightBook CallMode = "book"
	// RightAdmin: may send, and may change or remove anyone's items.
	RightAdmin CallMode = "admin"
)

// KnownMode reports whether m is a right an allowlist may list.
func KnownMode(m CallMode) bool {
	switch m {
	case ModeForced, ModeSignalled, RightSend, RightBook, RightAdmin:
		return true
	}
	return false
}

// May reports whether the caller's entry lists right m; RightSend is
// implied by RightAdmin and RightBook by ModeForced.
func (c AllowedCaller) May(m CallMode) bool {
	for _, have := range c.Mode {
		if have == m || (m == RightSend && have == RightAdmin) || (m == RightBook && have == ModeForced) {
			return true
		}
	}
	return false
}

// SigningBytes is what the sender of an item (or tombstone) signs with
// their Ed25519 key: these lines joined by "\n", so a browser builds the
// same bytes with WebCrypto and no canonical JSON:
//
//	hearth-item-v1
//	id
//	device
//	rev (decimal)
//	sender
//	kind ("photo", "message"), or "deleted" for a tombstone
//	from (as sent; empty when absent)
//	lowercase hex SHA-256 of text, exactly as sent (of "" when absent)
//	start, end, created: UTC, RFC 3339 as Go's RFC3339Nano writes them; an empty line when absent
//	photo sha256 (empty without a photo)
//	photo size (decimal; 0 without a photo)
//	photo url (empty when absent or inline)
//
// The photo's bytes are covered by their sha256, which the device checks.
// A signed item gives end, never days, and its text and from without
// surrounding white space, so that what the device keeps (Normalize) is
// what was signed.
func (it Item) SigningBytes() []byte {
	kind := string(it.Kind)
	if it.Deleted {
		kind = "deleted"
	}
	sum := sha256.Sum256([]byte(it.Text))
	var psha, purl string
	var psize int64
	if it.Photo != nil {
		psha, psize, purl = it.Photo.SHA256, it.Photo.Size, it.Photo.URL
	}
	return []byte(strings.Join([]string{
		"hearth-item-v1",
		it.ID,
		it.Device,
		strconv.FormatUint(it.Rev, 10),
		it.Sender,
		kind,
		it.From,
		hex.EncodeToString(sum[:]),
		signTime(it.Start),
		signTime(it.End),
		signTime(it.Created),
		psha,
		strconv.FormatInt(psize, 10),
		purl,
	}, "\n"))
}

// signTime writes t as every signed Hearth payload does: UTC RFC3339Nano,
// empty for the zero time.
func signTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
