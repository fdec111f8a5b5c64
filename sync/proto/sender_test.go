package proto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

// The worked example of docs/protocol.md ("Senders: signed items"): a
// sender in another language checks its bytes and signature against it.
const (
	exampleSeed  = "hearth example sender anna" // the key's seed is the SHA-256 of this
	examplePub   = "taLSEDMj93ZLNArTOGzAOSI5jyo4ZLP9BQyrY3nhHsA="
	exampleJSON  = `{"v":1,"id":"m-4kq2m7x3vdl5hbn2r3ta","device":"mum-kitchen","rev":1795424400000,"kind":"message","from":"Anna","text":"Ella rode her bike today!","start":"2026-11-23T09:00:00Z","end":"2026-11-26T09:00:00Z","created":"2026-11-23T08:59:30Z","sender":"anna","sig":"NoheipkDwIZ6AOTQ4sJKl3jZHJGiLV7/J9FECKLR/2Cx6Q9qT07iNAMveRq8GEWzYpgopbR77mVdAYqBXq23AQ=="}`
	exampleBytes = "hearth-item-v1\nm-4kq2m7x3vdl5hbn2r3ta\nmum-kitchen\n1795424400000\nanna\nmessage\nAnna\n" +
		"f9628ec37af799b180fe285e2e120057f3c53ac65388a776dfb2fa09ca968fa9\n" +
		"2026-11-23T09:00:00Z\n2026-11-26T09:00:00Z\n2026-11-23T08:59:30Z\n\n0\n"
	exampleTombstone      = `{"v":1,"id":"m-4kq2m7x3vdl5hbn2r3ta","device":"mum-kitchen","rev":1795424500000,"deleted":true,"sender":"anna","sig":"mDv68Q4ewQQLd/l/cJEVxgslEsH0+FGnOwwkMfNWvNUO/O419Tny0oA9Re8nQP4F94QPwB98o8G66R4Lc5ffBg=="}`
	exampleTombstoneBytes = "hearth-item-v1\nm-4kq2m7x3vdl5hbn2r3ta\nmum-kitchen\n1795424500000\nanna\ndeleted\n\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n\n\n\n0\n"
)

func TestItemSigningExample(t *testing.T) {
	seed := sha256.Sum256([]byte(exampleSeed))
	key := ed25519.NewKeyFromSeed(seed[:])
	if got := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)); got != examplePub {
		t.Fatalf("public key = %s, want %s", got, examplePub)
	}
	for name, tc := range map[string]struct{ payload, bytes string }{
		"message":   {exampleJSON, exampleBytes},
		"tombstone": {exampleTombstone, exampleTombstoneBytes},
	} {
		t.Run(name, func(t *testing.T) {
			it, err := DecodeItem("mum-kitchen", ContentTopic("mum-kitchen", "m-4kq2m7x3vdl5hbn2r3ta"), []byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(it.SigningBytes()); got != tc.bytes {
				t.Errorf("SigningBytes = %q, want %q", got, tc.bytes)
			}
			if !ed25519.Verify(key.Public().(ed25519.PublicKey), it.SigningBytes(), it.Sig) {
				t.Error("the example's signature does not verify")
			}
			// Ed25519 is deterministic: the doc's signature is the one
			// this key makes.
			if got, want := ed25519.Sign(key, it.SigningBytes()), it.Sig; string(got) != string(want) {
				t.Error("signing the example's bytes gives another signature")
			}
			// What the device keeps is what was signed.
			again, _ := json.Marshal(it)
			it2, err := DecodeItem("mum-kitchen", ContentTopic("mum-kitchen", "m-4kq2m7x3vdl5hbn2r3ta"), again)
			if err != nil || string(it2.SigningBytes()) != tc.bytes {
				t.Errorf("after a round trip: %v, bytes %q", err, it2.SigningBytes())
			}
		})
	}
}

// Signed items follow stricter rules, so the kept item is what was signed.
func TestSignedItemRules(t *testing.T) {
	base := func() Item {
		return Item{V: 1, ID: "m-1", Device: "mum-kitchen", Rev: 1, Kind: KindMessage, Text: "hi", From: "Anna",
			Start: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
			Sender: "anna", Sig: make([]byte, 64)}
	}
	for name, change := range map[string]func(*Item){
		"days":               func(it *Item) { it.End, it.Days = time.Time{}, 1 },
		"text with a space":  func(it *Item) { it.Text = "hi " },
		"from with a space":  func(it *Item) { it.From = " Anna" },
		"sig without sender": func(it *Item) { it.Sender = "" },
		"sender without sig": func(it *Item) { it.Sig = nil },
		"short sig":          func(it *Item) { it.Sig = make([]byte, 32) },
		"bad sender id":      func(it *Item) { it.Sender = "a/b" },
	} {
		it := base()
		change(&it)
		if err := it.Normalize(); err == nil {
			t.Errorf("%s: Normalize = nil, want an error", name)
		}
	}
	it := base()
	if err := it.Normalize(); err != nil {
		t.Errorf("a signed item: Normalize = %v", err)
	}
}

func TestMay(t *testing.T) {
	for _, tc := range []struct {
		modes []CallMode
		right CallMode
		want  bool
	}{
		{[]CallMode{RightSend}, RightSend, true},
		{[]CallMode{RightAdmin}, RightSend, true},
		{[]CallMode{ModeSignalled}, RightSend, false},
		{[]CallMode{ModeForced}, RightBook, true},
		{[]CallMode{RightSend}, RightBook, false},
		{[]CallMode{RightSend}, RightAdmin, false},
	} {
		if got := (AllowedCaller{Mode: tc.modes}).May(tc.right); got != tc.want {
			t.Errorf("%v May(%s) = %v, want %v", tc.modes, tc.right, got, tc.want)
		}
	}
}
