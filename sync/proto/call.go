package proto

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CallMode is how a device answers a caller.
type CallMode string

// The call modes (VideoVisit's "forced call" and KOMP's ringing call).
const (
	// ModeForced: chime and notice, then the call connects by itself.
	ModeForced CallMode = "forced"
	// ModeSignalled: rings for a while, then answers by itself.
	ModeSignalled CallMode = "signalled"
)

// MaxInviteLife bounds how far Expires may lie after Created, so a device
// needs to remember a used call id only that long.
const MaxInviteLife = 10 * time.Minute

// Invite asks a device to take a call. The caller signs it with its
// Ed25519 key (Sig, over SigningBytes); the device checks it against the
// allowlist its organisation signed.
type Invite struct {
	V int `json:"v"`
	// Type is "invite" on the call/in topic (may be empty elsewhere).
	Type       string   `json:"type,omitempty"`
	Call       string   `json:"call"`
	Device     string   `json:"device"`
	Caller     string   `json:"caller"`
	CallerName string   `json:"caller_name"`
	Mode       CallMode `json:"mode"`
	Reason     string   `json:"reason,omitempty"`
	// Join, when set, is the id of the call in progress this caller joins
	// as one more participant (a group call); the call's first caller must
	// have added them (control "add:ID").
	Join string `json:"join,omitempty"`
	// LimitS is how many seconds the call may last; zero takes the
	// device's default.
	LimitS  int       `json:"limit_s,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Offer is the caller's SDP offer; the device only answers.
	Offer string `json:"offer"`
	Sig   []byte `json:"sig"`
}

// SigningBytes is what the caller signs: one field a line, so a browser
// (WebCrypto) builds the same bytes without canonical JSON. The offer is
// included through its SHA-256.
func (in Invite) SigningBytes() []byte {
	sum := sha256.Sum256([]byte(in.Offer))
	return []byte(strings.Join([]string{
		"hearth-invite-v1",
		in.Call, in.Device, in.Caller, in.CallerName, string(in.Mode), in.Reason,
		in.Join, strconv.Itoa(in.LimitS),
		in.Created.UTC().Format(time.RFC3339Nano), in.Expires.UTC().Format(time.RFC3339Nano),
		hex.EncodeToString(sum[:]),
	}, "\n"))
}

// DecodeInvite parses and checks the form of an invite for device; the
// signature and the caller's rights are checked by the device's allowlist.
func DecodeInvite(device string, payload []byte) (Invite, error) {
	var in Invite
	if err := decodeStrict("decode invite", payload, &in); err != nil {
		return Invite{}, err
	}
	switch {
	case in.Device != device:
		return Invite{}, fmt.Errorf("decode invite: for %q: %w", in.Device, ErrWrongDevice)
	case !ValidID(in.Call):
		return Invite{}, fmt.Errorf("decode invite: %w: call id %q", ErrInvalid, in.Call)
	case !ValidID(in.Caller):
		return Invite{}, fmt.Errorf("decode invite: %w: caller id %q", ErrInvalid, in.Caller)
	case in.Mode != ModeForced && in.Mode != ModeSignalled:
		return Invite{}, fmt.Errorf("decode invite: %w: mode %q (want forced or signalled)", ErrInvalid, in.Mode)
	case in.Created.IsZero() || !in.Expires.After(in.Created):
		return Invite{}, fmt.Errorf("decode invite: %w: expires must be after created", ErrInvalid)
	case in.Expires.Sub(in.Created) > MaxInviteLife:
		return Invite{}, fmt.Errorf("decode invite: %w: lives %s (limit %s)", ErrInvalid, in.Expires.Sub(in.Created), MaxInviteLife)
	case len(in.Sig) == 0:
		return Invite{}, fmt.Errorf("decode invite: %w: not signed", ErrInvalid)
	case in.Type != "" && in.Type != SignalInvite:
		return Invite{}, fmt.Errorf("decode invite: %w: type %q", ErrInvalid, in.Type)
	case in.Join != "" && !ValidID(in.Join):
		return Invite{}, fmt.Errorf("decode invite: %w: join %q", ErrInvalid, in.Join)
	case in.LimitS < 0 || time.Duration(in.LimitS)*time.Second > MaxCallLimit:
		return Invite{}, fmt.Errorf("decode invite: %w: limit of %d s (up to %s)", ErrInvalid, in.LimitS, MaxCallLimit)
	case len(in.Offer) == 0 || len(in.Offer) > MaxSDP:
		return Invite{}, fmt.Errorf("decode invite: %w: offer of %d bytes (1 to %d)", ErrInvalid, len(in.Offer), MaxSDP)
	case len([]rune(in.CallerName)) > MaxName || len([]rune(in.Reason)) > MaxText:
		return Invite{}, fmt.Errorf("decode invite: name or reason: %w", ErrTooLarge)
	}
	return in, nil
}

// Allowlist names the callers a device may answer and how, signed by the
// device's organisation. A higher Serial replaces a lower one.
type Allowlist struct {
	V       int             `json:"v"`
	Org     string          `json:"org"`
	Serial  uint64          `json:"serial"`
	Issued  time.Time       `json:"issued"`
	Callers []AllowedCaller `json:"callers"`
	Sig     []byte          `json:"sig"`
}

// AllowedCaller is one caller's public key and rights.
type AllowedCaller struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Key  []byte     `json:"key"` // Ed25519 public key, 32 bytes
	Mode []CallMode `json:"modes"`
	// Picture is the caller's picture (JPEG) shown while their call rings
	// or is announced; Greeting a short recorded greeting (Ogg Opus)
	// played after the chime of their forced call. Both optional, both
	// signed with the list.
	Picture  []byte `json:"picture,omitempty"`
	Greeting []byte `json:"greeting,omitempty"`
}

// SigningBytes is what the organisation signs: the list's JSON without Sig.
func (a Allowlist) SigningBytes() []byte {
	a.Sig = nil
	b, _ := json.Marshal(a) // only plain fields: cannot fail
	return append([]byte("hearth-allowlist-v1\n"), b...)
}

// DecodeAllowlist parses and checks the form of an allowlist; its
// signature is checked by the device against the organisation's key.
func DecodeAllowlist(payload []byte) (Allowlist, error) {
	var a Allowlist
	if err := decodeStrict("decode allowlist", payload, &a); err != nil {
		return Allowlist{}, err
	}
	if a.Serial == 0 || len(a.Sig) == 0 {
		return Allowlist{}, fmt.Errorf("decode allowlist: %w: needs a serial and a signature", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, c := range a.Callers {
		if !ValidID(c.ID) || seen[c.ID] {
			return Allowlist{}, fmt.Errorf("decode allowlist: %w: caller %d id %q (invalid or repeated)", ErrInvalid, i, c.ID)
		}
		seen[c.ID] = true
		if len(c.Key) != 32 {
			return Allowlist{}, fmt.Errorf("decode allowlist: %w: caller %s key of %d bytes (want 32)", ErrInvalid, c.ID, len(c.Key))
		}
		for _, m := range c.Mode {
			if !KnownMode(m) {
				return Allowlist{}, fmt.Errorf("decode allowlist: %w: caller %s mode %q", ErrInvalid, c.ID, m)
			}
		}
		if len(c.Picture) > 0 {
			if err := CheckPicture(c.Picture); err != nil {
				return Allowlist{}, fmt.Errorf("decode allowlist: caller %s: %w", c.ID, err)
			}
		}
		if len(c.Greeting) > 0 {
			if _, err := ParseGreeting(c.Greeting); err != nil {
				return Allowlist{}, fmt.Errorf("decode allowlist: caller %s: %w", c.ID, err)
			}
		}
	}
	return a, nil
}
