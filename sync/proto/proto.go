// Package proto is Hearth's MQTT contract: topic names and the JSON payloads
// that travel on them, with the decoders that check everything arriving from
// outside. docs/protocol.md is its prose twin; keep them in step.
//
// Every topic lives under hearth/v1/dev/{device}/..., so a broker ACL
// (Mosquitto's "pattern ... %u") can confine a device to its own subtree.
package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the payload schema version this build writes and accepts.
const Version = 1

// Limits on what a device accepts. A payload above MaxPayload is refused
// before it is parsed.
const (
	MaxPayload     = 3 << 20 // inline photo (2 MiB) as base64 plus metadata
	MaxInlinePhoto = 2 << 20
	MaxURLPhoto    = 64 << 20
	MaxText        = 2000 // characters of caption or message
	MaxName        = 80   // characters of a sender's display name
	MaxDays        = 3660
)

// Topic root and the per-device suffixes.
const (
	Root = "hearth/v1/dev"
)

// ContentTopic is where one item (or its tombstone) is published, QoS 1, retained.
func ContentTopic(device, item string) string { return Root + "/" + device + "/content/" + item }

// ContentFilter subscribes to every item of one device.
func ContentFilter(device string) string { return Root + "/" + device + "/content/+" }

// InventoryTopic is where the device reports what it holds, QoS 1, retained.
func InventoryTopic(device string) string { return Root + "/" + device + "/inventory" }

// InventoryFilter matches every device's inventory (for hearthctl).
const InventoryFilter = Root + "/+/inventory"

// Sentinel errors of the decoders; each refusal wraps exactly one of them.
var (
	// ErrTooLarge: the payload or a photo exceeds its bound.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed: not valid JSON, bad UTF-8, or a field of the wrong type.
	ErrMalformed = errors.New("malformed")
	// ErrVersion: a schema version this build does not know.
	ErrVersion = errors.New("unsupported schema version")
	// ErrWrongDevice: the payload names another device than its topic.
	ErrWrongDevice = errors.New("wrong device")
	// ErrInvalid: well-formed but breaks a rule (missing id, end before start, ...).
	ErrInvalid = errors.New("invalid")
)

// Kind is what an item shows.
type Kind string

// The item kinds.
const (
	KindPhoto   Kind = "photo"
	KindMessage Kind = "message"
)

// Item is one carousel entry as sent by family or carers, or its tombstone
// (Deleted with ID and Rev only). A higher Rev replaces a lower one; an equal
// or lower Rev is a duplicate and is ignored.
type Item struct {
	V       int       `json:"v"`
	ID      string    `json:"id"`
	Device  string    `json:"device"`
	Rev     uint64    `json:"rev"`
	Deleted bool      `json:"deleted,omitempty"`
	Kind    Kind      `json:"kind,omitempty"`
	From    string    `json:"from,omitempty"`
	Text    string    `json:"text,omitempty"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	Days    int       `json:"days,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Photo   *Photo    `json:"photo,omitempty"`
	// Sender is the id, on the device's allowlist, of the person whose
	// Ed25519 key made Sig over SigningBytes (sender.go). Both absent on an
	// unsigned item, which a device takes only while its organisation does
	// not require signing; both present on a signed one. The device shows
	// the allowlist's name for a signed item, never From.
	Sender string `json:"sender,omitempty"`
	Sig    []byte `json:"sig,omitempty"`
}

// Photo carries a picture inline (Data, at most MaxInlinePhoto bytes) or by
// reference (URL, fetched by the device and checked against SHA256 and Size).
type Photo struct {
	Data   []byte `json:"data,omitempty"`
	URL    string `json:"url,omitempty"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

var (
	idRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidID reports whether s can be a device or item id: it becomes one MQTT
// topic level, so no '/', '+', '#' or spaces.
func ValidID(s string) bool { return idRE.MatchString(s) }

// DecodeItem parses and checks a content payload that arrived on topic for
// device. The result is normalised: Days is turned into End, text is trimmed.
func DecodeItem(device, topic string, payload []byte) (Item, error) {
	var it Item
	wantDev, wantID, ok := splitContentTopic(topic)
	if !ok {
		return it, fmt.Errorf("decode item: %w: topic %q is not a content topic", ErrInvalid, topic)
	}
	if wantDev != device {
		return it, fmt.Errorf("decode item: topic for %q: %w", wantDev, ErrWrongDevice)
	}
	if err := decodeStrict("decode item", payload, &it); err != nil {
		return Item{}, err
	}
	if it.Device != device {
		return Item{}, fmt.Errorf("decode item: payload for %q: %w", it.Device, ErrWrongDevice)
	}
	if it.ID != wantID {
		return Item{}, fmt.Errorf("decode item: %w: id %q does not match topic %q", ErrInvalid, it.ID, wantID)
	}
	if err := it.Normalize(); err != nil {
		return Item{}, fmt.Errorf("decode item %s: %w", wantID, err)
	}
	return it, nil
}

// Normalize checks the rules of an item and fills End from Days. Senders call
// it before publishing so they fail as the device would.
func (it *Item) Normalize() error {
	if it.V != Version {
		return fmt.Errorf("%w %d", ErrVersion, it.V)
	}
	if !ValidID(it.ID) {
		return fmt.Errorf("%w: item id %q (letters, digits, . _ -, at most 64)", ErrInvalid, it.ID)
	}
	if !ValidID(it.Device) {
		return fmt.Errorf("%w: device id %q", ErrInvalid, it.Device)
	}
	if it.Rev == 0 {
		return fmt.Errorf("%w: rev must be at least 1", ErrInvalid)
	}
	if (it.Sender == "") != (len(it.Sig) == 0) {
		return fmt.Errorf("%w: sender and sig come together (a signed item) or not at all", ErrInvalid)
	}
	if it.Sender != "" && !ValidID(it.Sender) {
		return fmt.Errorf("%w: sender id %q", ErrInvalid, it.Sender)
	}
	if len(it.Sig) > 0 && len(it.Sig) != 64 {
		return fmt.Errorf("%w: sig of %d bytes (an Ed25519 signature is 64)", ErrInvalid, len(it.Sig))
	}
	if len(it.Sig) > 0 && (it.Days != 0 || it.Text != strings.TrimSpace(it.Text) || it.From != strings.TrimSpace(it.From)) {
		return fmt.Errorf("%w: a signed item gives end, not days, and text and from without surrounding spaces", ErrInvalid)
	}
	if it.Deleted {
		if it.Kind != "" || it.Photo != nil || it.Text != "" || it.From != "" || !it.Start.IsZero() || !it.End.IsZero() || it.Days != 0 || !it.Created.IsZero() {
			return fmt.Errorf("%w: a tombstone carries only id, device, rev (and sender and sig when signed)", ErrInvalid)
		}
		return nil
	}
	switch it.Kind {
	case KindPhoto:
		if it.Photo == nil {
			return fmt.Errorf("%w: photo item without photo", ErrInvalid)
		}
		if err := it.Photo.check(); err != nil {
			return err
		}
	case KindMessage:
		if it.Photo != nil {
			return fmt.Errorf("%w: message item with a photo", ErrInvalid)
		}
		if strings.TrimSpace(it.Text) == "" {
			return fmt.Errorf("%w: message without text", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: kind %q (want photo or message)", ErrInvalid, it.Kind)
	}
	it.Text = strings.TrimSpace(it.Text)
	it.From = strings.TrimSpace(it.From)
	if n := utf8.RuneCountInString(it.Text); n > MaxText {
		return fmt.Errorf("%w: text of %d characters (limit %d)", ErrTooLarge, n, MaxText)
	}
	if n := utf8.RuneCountInString(it.From); n > MaxName {
		return fmt.Errorf("%w: sender name of %d characters (limit %d)", ErrTooLarge, n, MaxName)
	}
	if strings.ContainsFunc(it.Text+it.From, func(r rune) bool { return r < 0x20 && r != '\n' }) {
		return fmt.Errorf("%w: control characters in text", ErrInvalid)
	}
	if it.Start.IsZero() {
		return fmt.Errorf("%w: no start time", ErrInvalid)
	}
	switch {
	case it.Days < 0 || it.Days > MaxDays:
		return fmt.Errorf("%w: days %d (0..%d)", ErrInvalid, it.Days, MaxDays)
	case it.Days > 0 && !it.End.IsZero():
		return fmt.Errorf("%w: both end and days given", ErrInvalid)
	case it.Days > 0:
		it.End = it.Start.AddDate(0, 0, it.Days)
		it.Days = 0
	case it.End.IsZero():
		return fmt.Errorf("%w: neither end nor days given", ErrInvalid)
	}
	if !it.End.After(it.Start) {
		return fmt.Errorf("%w: end %s is not after start %s", ErrInvalid, it.End.Format(time.RFC3339), it.Start.Format(time.RFC3339))
	}
	return nil
}

func (p *Photo) check() error {
	inline, byURL := len(p.Data) > 0, p.URL != ""
	switch {
	case inline == byURL:
		return fmt.Errorf("%w: a photo needs exactly one of data or url", ErrInvalid)
	case !hexRE.MatchString(p.SHA256):
		return fmt.Errorf("%w: photo sha256 %q is not 64 lowercase hex digits", ErrInvalid, p.SHA256)
	case p.Size <= 0:
		return fmt.Errorf("%w: photo size %d", ErrInvalid, p.Size)
	case inline && len(p.Data) > MaxInlinePhoto:
		return fmt.Errorf("inline photo of %d bytes: %w (limit %d; send larger ones by url)", len(p.Data), ErrTooLarge, MaxInlinePhoto)
	case inline && int64(len(p.Data)) != p.Size:
		return fmt.Errorf("%w: inline photo is %d bytes, size says %d", ErrInvalid, len(p.Data), p.Size)
	case byURL && p.Size > MaxURLPhoto:
		return fmt.Errorf("photo of %d bytes: %w (limit %d)", p.Size, ErrTooLarge, MaxURLPhoto)
	case byURL && !(strings.HasPrefix(p.URL, "https://") || strings.HasPrefix(p.URL, "http://")):
		return fmt.Errorf("%w: photo url %q is not http(s)", ErrInvalid, p.URL)
	}
	return nil
}

// decodeStrict is the common part of every decoder of outside input: the
// size bound, UTF-8, the schema version (read first, so a payload from a
// newer sender is refused for its version, not for its new fields), then
// JSON with unknown fields refused.
func decodeStrict(op string, payload []byte, v any) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%s: payload of %d bytes: %w (limit %d)", op, len(payload), ErrTooLarge, MaxPayload)
	}
	if !utf8.Valid(payload) {
		return fmt.Errorf("%s: %w: payload is not UTF-8", op, ErrMalformed)
	}
	var probe struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return fmt.Errorf("%s: %w: %v", op, ErrMalformed, err)
	}
	if probe.V == nil {
		return fmt.Errorf("%s: %w: no schema version \"v\"", op, ErrVersion)
	}
	if *probe.V != Version {
		return fmt.Errorf("%s: %w %d (this device speaks %d)", op, ErrVersion, *probe.V, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, ErrInvalid) {
			return fmt.Errorf("%s: %w", op, err) // a named state it does not know
		}
		return fmt.Errorf("%s: %w: %v", op, ErrMalformed, err)
	}
	return nil
}

func splitContentTopic(topic string) (device, item string, ok bool) {
	rest, ok := strings.CutPrefix(topic, Root+"/")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "content" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// ItemState is how far the device got with an item.
type ItemState string

// The item states in an inventory.
const (
	StatePending ItemState = "pending" // stored, photo still being fetched or scaled
	StateReady   ItemState = "ready"   // stored and shown inside its window
	StateRefused ItemState = "refused" // refused; Reason says why
	StateDeleted ItemState = "deleted" // tombstone kept so older revisions stay dead
)

// Inventory is the device's own account of what it holds, published
// retained after every change so senders can see what will be shown.
type Inventory struct {
	V      int             `json:"v"`
	Device string          `json:"device"`
	Time   time.Time       `json:"time"`
	Items  []InventoryItem `json:"items"`
	// Truncated is set when the device holds more items than one report
	// carries; Omitted says how many were left out (see docs/protocol.md
	// for which ones are listed).
	Truncated bool      `json:"truncated,omitempty"`
	Omitted   int       `json:"omitted,omitempty"`
	Refused   []Refusal `json:"refused,omitempty"`
	// Bookings are the booked calls the device holds that are not over
	// yet, soonest first (cancellations are not listed).
	Bookings []InventoryBooking `json:"bookings,omitempty"`
}

// InventoryBooking is one booked call as the device holds it.
type InventoryBooking struct {
	ID      string    `json:"id"`
	Rev     uint64    `json:"rev"`
	Caller  string    `json:"caller"`
	At      time.Time `json:"at"`
	LengthS int       `json:"length_s"`
	Reason  string    `json:"reason,omitempty"`
}

// InventoryItem is one stored item without its photo bytes.
type InventoryItem struct {
	ID   string `json:"id"`
	Rev  uint64 `json:"rev"`
	Kind Kind   `json:"kind,omitempty"` // absent for a tombstone (state deleted)
	// From is the name the screen shows: the allowlist's name of Sender
	// for a signed item, the item's own from for an unsigned one.
	From string `json:"from,omitempty"`
	// Sender is the signer's id; absent for an unsigned item.
	Sender string    `json:"sender,omitempty"`
	Text   string    `json:"text,omitempty"`
	Start  time.Time `json:"start,omitzero"` // absent for a tombstone
	End    time.Time `json:"end,omitzero"`   // absent for a tombstone
	State  ItemState `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// Refusal is a payload the device could not take, newest last.
type Refusal struct {
	Time   time.Time `json:"time"`
	Topic  string    `json:"topic"`
	ID     string    `json:"id,omitempty"`
	Rev    uint64    `json:"rev,omitempty"`
	Reason string    `json:"reason"`
}

// DecodeInventory parses an inventory as hearthctl reads it.
func DecodeInventory(payload []byte) (Inventory, error) {
	var inv Inventory
	if len(payload) > MaxPayload {
		return inv, fmt.Errorf("decode inventory: %w", ErrTooLarge)
	}
	if err := json.Unmarshal(payload, &inv); err != nil {
		return Inventory{}, fmt.Errorf("decode inventory: %w: %v", ErrMalformed, err)
	}
	if inv.V != Version {
		return Inventory{}, fmt.Errorf("decode inventory: %w %d", ErrVersion, inv.V)
	}
	if !ValidID(inv.Device) {
		return Inventory{}, fmt.Errorf("decode inventory: %w: device id %q", ErrInvalid, inv.Device)
	}
	return inv, nil
}
