package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

func message() Item {
	return Item{V: 1, ID: "m-1", Device: "mum-kitchen", Rev: 1, Kind: KindMessage, From: "Peter",
		Text: "I'm coming on Tuesday at two.", Start: t0, End: t0.Add(48 * time.Hour), Created: t0}
}

func photoItem() Item {
	it := message()
	it.ID, it.Kind, it.Text = "p-1", KindPhoto, "Ella's first bike"
	it.Photo = &Photo{Data: []byte("jpegbytes"), SHA256: strings.Repeat("ab", 32), Size: 9}
	return it
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeItemAccepts(t *testing.T) {
	days := message()
	days.End, days.Days = time.Time{}, 3
	tomb := Item{V: 1, ID: "m-1", Device: "mum-kitchen", Rev: 2, Deleted: true}
	byURL := photoItem()
	byURL.Photo = &Photo{URL: "https://photos.example/x.jpg", SHA256: strings.Repeat("0f", 32), Size: 5 << 20}
	for name, tc := range map[string]struct {
		in      Item
		wantEnd time.Time
	}{
		"message":   {message(), t0.Add(48 * time.Hour)},
		"days":      {days, t0.AddDate(0, 0, 3)},
		"photo":     {photoItem(), t0.Add(48 * time.Hour)},
		"by url":    {byURL, t0.Add(48 * time.Hour)},
		"tombstone": {tomb, time.Time{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeItem("mum-kitchen", ContentTopic("mum-kitchen", tc.in.ID), encode(t, tc.in))
			if err != nil {
				t.Fatalf("DecodeItem = %v, want nil", err)
			}
			if !got.End.Equal(tc.wantEnd) || got.Days != 0 {
				t.Errorf("DecodeItem end = %v days %d, want %v days 0", got.End, got.Days, tc.wantEnd)
			}
		})
	}
}

func TestDecodeItemRefuses(t *testing.T) {
	topic := ContentTopic("mum-kitchen", "m-1")
	mut := func(f func(*Item)) []byte {
		it := message()
		f(&it)
		b, _ := json.Marshal(it)
		return b
	}
	for name, tc := range map[string]struct {
		device, topic string
		payload       []byte
		want          error
	}{
		"not json":        {"mum-kitchen", topic, []byte("{"), ErrMalformed},
		"bad utf8":        {"mum-kitchen", topic, []byte("{\"v\":1,\"text\":\"\xff\"}"), ErrMalformed},
		"no version":      {"mum-kitchen", topic, []byte(`{"id":"m-1"}`), ErrVersion},
		"version 2":       {"mum-kitchen", topic, mut(func(i *Item) { i.V = 2 }), ErrVersion},
		"payload device":  {"mum-kitchen", topic, mut(func(i *Item) { i.Device = "dad-hall" }), ErrWrongDevice},
		"topic device":    {"mum-kitchen", ContentTopic("dad-hall", "m-1"), mut(func(*Item) {}), ErrWrongDevice},
		"id mismatch":     {"mum-kitchen", ContentTopic("mum-kitchen", "m-2"), mut(func(*Item) {}), ErrInvalid},
		"not content":     {"mum-kitchen", "hearth/v1/dev/mum-kitchen/inventory", mut(func(*Item) {}), ErrInvalid},
		"oversized":       {"mum-kitchen", topic, make([]byte, MaxPayload+1), ErrTooLarge},
		"unknown field":   {"mum-kitchen", topic, []byte(`{"v":1,"id":"m-1","device":"mum-kitchen","rev":1,"surprise":1}`), ErrMalformed},
		"rev 0":           {"mum-kitchen", topic, mut(func(i *Item) { i.Rev = 0 }), ErrInvalid},
		"no kind":         {"mum-kitchen", topic, mut(func(i *Item) { i.Kind = "" }), ErrInvalid},
		"empty message":   {"mum-kitchen", topic, mut(func(i *Item) { i.Text = "  " }), ErrInvalid},
		"no start":        {"mum-kitchen", topic, mut(func(i *Item) { i.Start = time.Time{} }), ErrInvalid},
		"no end":          {"mum-kitchen", topic, mut(func(i *Item) { i.End = time.Time{} }), ErrInvalid},
		"end and days":    {"mum-kitchen", topic, mut(func(i *Item) { i.Days = 2 }), ErrInvalid},
		"end before":      {"mum-kitchen", topic, mut(func(i *Item) { i.End = t0.Add(-time.Hour) }), ErrInvalid},
		"negative days":   {"mum-kitchen", topic, mut(func(i *Item) { i.End, i.Days = time.Time{}, -1 }), ErrInvalid},
		"long text":       {"mum-kitchen", topic, mut(func(i *Item) { i.Text = strings.Repeat("a", MaxText+1) }), ErrTooLarge},
		"control chars":   {"mum-kitchen", topic, mut(func(i *Item) { i.Text = "hi\x07" }), ErrInvalid},
		"message w photo": {"mum-kitchen", topic, mut(func(i *Item) { i.Photo = photoItem().Photo }), ErrInvalid},
		"tomb with text":  {"mum-kitchen", topic, mut(func(i *Item) { i.Deleted = true }), ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeItem(tc.device, tc.topic, tc.payload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeItem = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPhotoRules(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for name, tc := range map[string]struct {
		p    Photo
		want error
	}{
		"both":       {Photo{Data: []byte("x"), URL: "https://x/y", SHA256: sum, Size: 1}, ErrInvalid},
		"neither":    {Photo{SHA256: sum, Size: 1}, ErrInvalid},
		"bad sha":    {Photo{Data: []byte("x"), SHA256: "ABC", Size: 1}, ErrInvalid},
		"size":       {Photo{Data: []byte("xy"), SHA256: sum, Size: 1}, ErrInvalid},
		"inline big": {Photo{Data: make([]byte, MaxInlinePhoto+1), SHA256: sum, Size: MaxInlinePhoto + 1}, ErrTooLarge},
		"url big":    {Photo{URL: "https://x/y", SHA256: sum, Size: MaxURLPhoto + 1}, ErrTooLarge},
		"url scheme": {Photo{URL: "file:///etc/passwd", SHA256: sum, Size: 1}, ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			it := photoItem()
			it.Photo = &tc.p
			if err := it.Normalize(); !errors.Is(err, tc.want) {
				t.Fatalf("Normalize = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"mum-kitchen": true, "a": true, "A.b_c-9": true, "": false, "-x": false, "a/b": false,
		"a+": false, "a#": false, "a b": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestDecodeInventory(t *testing.T) {
	inv := Inventory{V: 1, Device: "mum-kitchen", Time: t0, Items: []InventoryItem{{ID: "m-1", Rev: 1, State: StateReady}}}
	got, err := DecodeInventory(encode(t, inv))
	if err != nil || len(got.Items) != 1 {
		t.Fatalf("DecodeInventory = %+v, %v; want one item", got, err)
	}
	for name, p := range map[string]string{"junk": "x", "version": `{"v":9,"device":"a"}`, "device": `{"v":1,"device":"a/b"}`} {
		if _, err := DecodeInventory([]byte(p)); err == nil {
			t.Errorf("DecodeInventory(%s) = nil error, want one", name)
		}
	}
}

// FuzzDecodeItem: no payload may panic the decoder, and whatever it accepts
// obeys the rules the store relies on.
func FuzzDecodeItem(f *testing.F) {
	for _, it := range []Item{message(), photoItem(), {V: 1, ID: "m-1", Device: "mum-kitchen", Rev: 3, Deleted: true}} {
		b, _ := json.Marshal(it)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"id":"m-1","device":"mum-kitchen","rev":1,"kind":"message","text":"hi","start":"2026-11-22T10:00:00Z","days":2}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte("\xff\xfe"))
	// Signed items and tombstones.
	f.Add([]byte(`{"v":1,"id":"m-1","device":"mum-kitchen","rev":1795424400000,"kind":"message","from":"Anna","text":"Ella rode her bike today!","start":"2026-11-23T09:00:00Z","end":"2026-11-26T09:00:00Z","created":"2026-11-23T08:59:30Z","sender":"anna","sig":"NoheipkDwIZ6AOTQ4sJKl3jZHJGiLV7/J9FECKLR/2Cx6Q9qT07iNAMveRq8GEWzYpgopbR77mVdAYqBXq23AQ=="}`))
	f.Add([]byte(`{"v":1,"id":"m-1","device":"mum-kitchen","rev":1795424500000,"deleted":true,"sender":"anna","sig":"mDv68Q4ewQQLd/l/cJEVxgslEsH0+FGnOwwkMfNWvNUO/O419Tny0oA9Re8nQP4F94QPwB98o8G66R4Lc5ffBg=="}`))
	f.Add([]byte(`{"v":1,"id":"m-1","device":"mum-kitchen","rev":1,"kind":"photo","text":"bike","start":"2026-11-23T09:00:00Z","end":"2026-11-26T09:00:00Z","photo":{"url":"https://blobs.example/ab","sha256":"` + strings.Repeat("ab", 32) + `","size":1000},"sender":"anna","sig":"` + strings.Repeat("A", 86) + `=="}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		it, err := DecodeItem("mum-kitchen", ContentTopic("mum-kitchen", "m-1"), payload)
		if err != nil {
			return
		}
		if (it.Sender == "") != (len(it.Sig) == 0) || (len(it.Sig) != 0 && (len(it.Sig) != 64 || it.Days != 0)) {
			t.Fatalf("accepted item with sender %q, %d bytes of sig, days %d", it.Sender, len(it.Sig), it.Days)
		}
		if it.Sender != "" {
			// What the device keeps is what was signed.
			again, _ := json.Marshal(it)
			it2, err := DecodeItem("mum-kitchen", ContentTopic("mum-kitchen", "m-1"), again)
			if err != nil || !bytes.Equal(it2.SigningBytes(), it.SigningBytes()) {
				t.Fatalf("signed item after a round trip: %v, signing bytes changed", err)
			}
		}
		if it.ID != "m-1" || it.Device != "mum-kitchen" || it.Rev == 0 {
			t.Fatalf("accepted item with id %q device %q rev %d", it.ID, it.Device, it.Rev)
		}
		if !it.Deleted && !it.End.After(it.Start) {
			t.Fatalf("accepted item with end %v not after start %v", it.End, it.Start)
		}
	})
}

func FuzzDecodeInventory(f *testing.F) {
	f.Add([]byte(`{"v":1,"device":"mum-kitchen","time":"2026-11-22T10:00:00Z","items":[]}`))
	f.Add([]byte(`{"v":1,"device":"mum-kitchen","items":[{"id":"x","rev":1,"state":"ready"}],"refused":[{"reason":"x"}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		inv, err := DecodeInventory(payload)
		if err == nil && !ValidID(inv.Device) {
			t.Fatalf("accepted inventory for device %q", inv.Device)
		}
	})
}

func validInvite() Invite {
	return Invite{V: 1, Call: "c-1", Device: "mum-kitchen", Caller: "anna", CallerName: "Anna", Mode: ModeSignalled,
		Created: t0, Expires: t0.Add(time.Minute), Offer: "v=0", Sig: []byte{1}}
}

func TestDecodeInvite(t *testing.T) {
	if _, err := DecodeInvite("mum-kitchen", encode(t, validInvite())); err != nil {
		t.Fatalf("DecodeInvite(valid) = %v", err)
	}
	for name, tc := range map[string]struct {
		f    func(*Invite)
		want error
	}{
		"version":   {func(i *Invite) { i.V = 2 }, ErrVersion},
		"device":    {func(i *Invite) { i.Device = "dad-hall" }, ErrWrongDevice},
		"call id":   {func(i *Invite) { i.Call = "a/b" }, ErrInvalid},
		"caller id": {func(i *Invite) { i.Caller = "" }, ErrInvalid},
		"mode":      {func(i *Invite) { i.Mode = "sneaky" }, ErrInvalid},
		"backwards": {func(i *Invite) { i.Expires = t0.Add(-time.Second) }, ErrInvalid},
		"too long":  {func(i *Invite) { i.Expires = t0.Add(MaxInviteLife + time.Second) }, ErrInvalid},
		"unsigned":  {func(i *Invite) { i.Sig = nil }, ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			in := validInvite()
			tc.f(&in)
			if _, err := DecodeInvite("mum-kitchen", encode(t, in)); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeInvite = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := DecodeInvite("mum-kitchen", []byte(`{"v":1,"bogus":true}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown field = %v, want %v", err, ErrMalformed)
	}
	// A newer sender's invite is refused for its version, not its new fields.
	if _, err := DecodeInvite("mum-kitchen", []byte(`{"v":2,"video_codec":"av1"}`)); !errors.Is(err, ErrVersion) {
		t.Errorf("v2 invite = %v, want %v", err, ErrVersion)
	}
}

func TestDecodeAllowlist(t *testing.T) {
	good := Allowlist{V: 1, Org: "o", Serial: 1, Sig: []byte{1}, Callers: []AllowedCaller{{ID: "anna", Key: make([]byte, 32), Mode: []CallMode{ModeForced}}}}
	if _, err := DecodeAllowlist(encode(t, good)); err != nil {
		t.Fatalf("DecodeAllowlist(valid) = %v", err)
	}
	for name, f := range map[string]func(*Allowlist){
		"no serial": func(a *Allowlist) { a.Serial = 0 },
		"unsigned":  func(a *Allowlist) { a.Sig = nil },
		"short key": func(a *Allowlist) { a.Callers[0].Key = []byte{1} },
		"bad mode":  func(a *Allowlist) { a.Callers[0].Mode = []CallMode{"x"} },
		"repeated":  func(a *Allowlist) { a.Callers = append(a.Callers, a.Callers[0]) },
	} {
		a := good
		a.Callers = []AllowedCaller{good.Callers[0]}
		f(&a)
		if _, err := DecodeAllowlist(encode(t, a)); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeAllowlist(%s) = %v, want %v", name, err, ErrInvalid)
		}
	}
}

func FuzzDecodeInvite(f *testing.F) {
	b, _ := json.Marshal(validInvite())
	f.Add(b)
	f.Add([]byte(`{"v":1,"call":"c","device":"mum-kitchen","caller":"a","mode":"forced","created":"2026-11-23T09:00:00Z","expires":"2026-11-23T09:01:00Z","sig":"AQ=="}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		in, err := DecodeInvite("mum-kitchen", payload)
		if err != nil {
			return
		}
		if in.Device != "mum-kitchen" || !ValidID(in.Call) || !in.Expires.After(in.Created) || len(in.Sig) == 0 {
			t.Fatalf("accepted %+v", in)
		}
		_ = in.SigningBytes()
	})
}

func FuzzDecodeAllowlist(f *testing.F) {
	b, _ := json.Marshal(Allowlist{V: 1, Org: "o", Serial: 1, Sig: []byte{1}, Callers: []AllowedCaller{{ID: "anna", Key: make([]byte, 32)}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := DecodeAllowlist(payload)
		if err != nil {
			return
		}
		for _, c := range a.Callers {
			if len(c.Key) != 32 || !ValidID(c.ID) {
				t.Fatalf("accepted caller %+v", c)
			}
		}
	})
}
