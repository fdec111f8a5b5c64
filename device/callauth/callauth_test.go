package callauth

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type keys struct {
	org, nurse, anna, stranger ed25519.PrivateKey
}

func key(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func setup(t *testing.T) (*Checker, *clock.Fake, keys) {
	t.Helper()
	k := keys{org: key(1), nurse: key(2), anna: key(3), stranger: key(4)}
	f := clock.NewFake(t0)
	c, err := New(pub(k.org), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetAllowlist(allowlist(k, 1)); err != nil {
		t.Fatalf("SetAllowlist = %v", err)
	}
	return c, f, k
}

func allowlist(k keys, serial uint64) proto.Allowlist {
	a := proto.Allowlist{V: 1, Org: "north-care", Serial: serial, Issued: t0, Callers: []proto.AllowedCaller{
		{ID: "nurse-eva", Name: "Nurse Eva", Key: pub(k.nurse), Mode: []proto.CallMode{proto.ModeForced, proto.ModeSignalled}},
		{ID: "anna", Name: "Anna", Key: pub(k.anna), Mode: []proto.CallMode{proto.ModeSignalled}},
	}}
	a.Sig = ed25519.Sign(k.org, a.SigningBytes())
	return a
}

func invite(signer ed25519.PrivateKey, caller, call string, mode proto.CallMode) proto.Invite {
	in := proto.Invite{V: 1, Call: call, Device: "mum-kitchen", Caller: caller, CallerName: "Someone", Mode: mode,
		Reason: "Morning medicine check", Created: t0, Expires: t0.Add(2 * time.Minute), Offer: "v=0\r\n..."}
	in.Sig = ed25519.Sign(signer, in.SigningBytes())
	return in
}

func TestCheck(t *testing.T) {
	tampered := func(k keys) proto.Invite {
		in := invite(k.anna, "anna", "c-tamper", proto.ModeSignalled)
		in.Offer = "v=0\r\nsomething else"
		return in
	}
	for name, tc := range map[string]struct {
		in   func(keys) proto.Invite
		at   time.Duration
		want error
	}{
		"nurse forced":     {func(k keys) proto.Invite { return invite(k.nurse, "nurse-eva", "c-1", proto.ModeForced) }, 0, nil},
		"anna signalled":   {func(k keys) proto.Invite { return invite(k.anna, "anna", "c-2", proto.ModeSignalled) }, time.Minute, nil},
		"anna forced":      {func(k keys) proto.Invite { return invite(k.anna, "anna", "c-3", proto.ModeForced) }, 0, ErrModeNotAllowed},
		"stranger":         {func(k keys) proto.Invite { return invite(k.stranger, "mallory", "c-4", proto.ModeForced) }, 0, ErrUnknownCaller},
		"forged as nurse":  {func(k keys) proto.Invite { return invite(k.stranger, "nurse-eva", "c-5", proto.ModeForced) }, 0, ErrBadSignature},
		"offer tampered":   {tampered, 0, ErrBadSignature},
		"expired":          {func(k keys) proto.Invite { return invite(k.anna, "anna", "c-6", proto.ModeSignalled) }, 2 * time.Minute, ErrExpired},
		"from the future":  {func(k keys) proto.Invite { return invite(k.anna, "anna", "c-7", proto.ModeSignalled) }, -time.Minute, ErrExpired},
		"small clock skew": {func(k keys) proto.Invite { return invite(k.anna, "anna", "c-8", proto.ModeSignalled) }, -20 * time.Second, nil},
	} {
		t.Run(name, func(t *testing.T) {
			c, f, k := setup(t)
			if tc.at < 0 {
				c.clock = clock.NewFake(t0.Add(tc.at))
			} else {
				f.Advance(tc.at)
			}
			_, err := c.Check(tc.in(k))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReplayRefusedUntilExpiry(t *testing.T) {
	c, f, k := setup(t)
	in := invite(k.nurse, "nurse-eva", "c-1", proto.ModeForced)
	if _, err := c.Check(in); err != nil {
		t.Fatalf("first Check = %v", err)
	}
	if _, err := c.Check(in); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Check = %v, want %v", err, ErrReplayed)
	}
	f.Advance(3 * time.Minute)
	if _, err := c.Check(in); !errors.Is(err, ErrExpired) {
		t.Fatalf("Check after expiry = %v, want %v", err, ErrExpired)
	}
	if n := c.spent.Len(); n != 0 {
		t.Errorf("spent holds %d call ids after they expired, want 0", n)
	}
}

func TestAllowlistUpdates(t *testing.T) {
	c, _, k := setup(t)
	if err := c.SetAllowlist(allowlist(k, 1)); !errors.Is(err, ErrStale) {
		t.Errorf("same serial = %v, want %v", err, ErrStale)
	}
	forged := allowlist(k, 2)
	forged.Callers = append(forged.Callers, proto.AllowedCaller{ID: "mallory", Key: pub(k.stranger), Mode: []proto.CallMode{proto.ModeForced}})
	if err := c.SetAllowlist(forged); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged list = %v, want %v", err, ErrBadSignature)
	}
	newer := allowlist(k, 3)
	newer.Callers = newer.Callers[:1] // Anna removed
	newer.Sig = ed25519.Sign(k.org, newer.SigningBytes())
	if err := c.SetAllowlist(newer); err != nil {
		t.Fatalf("newer list = %v", err)
	}
	if _, err := c.Check(invite(k.anna, "anna", "c-9", proto.ModeSignalled)); !errors.Is(err, ErrUnknownCaller) {
		t.Errorf("removed caller = %v, want %v", err, ErrUnknownCaller)
	}
	// Through JSON and back, as it travels.
	b, _ := json.Marshal(newer)
	got, err := proto.DecodeAllowlist(b)
	if err != nil || !ed25519.Verify(pub(k.org), got.SigningBytes(), got.Sig) {
		t.Errorf("allowlist after JSON: %v, signature valid = false", err)
	}
}

func TestNoAllowlist(t *testing.T) {
	k := keys{org: key(1), anna: key(3)}
	c, err := New(pub(k.org), clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(invite(k.anna, "anna", "c-1", proto.ModeSignalled)); !errors.Is(err, ErrNoAllowlist) {
		t.Errorf("Check without allowlist = %v, want %v", err, ErrNoAllowlist)
	}
	if _, err := New([]byte("short"), clock.NewFake(t0)); err == nil {
		t.Error("New with a short key = nil error")
	}
}

func TestSpentCallIDsSurviveARestart(t *testing.T) {
	spent := map[string]time.Time{} // stands in for the store's bucket
	persist := func(id string, until, now time.Time) (bool, error) {
		if _, ok := spent[id]; ok {
			return false, nil
		}
		spent[id] = until
		return true, nil
	}
	c1, _, k := setup(t)
	c1.Spent = persist
	in := invite(k.anna, "anna", "c-1", proto.ModeSignalled)
	if _, err := c1.Check(in); err != nil {
		t.Fatal(err)
	}
	c2, _, _ := setup(t) // the daemon restarted: its memory is empty
	c2.Spent = persist
	if _, err := c2.Check(in); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay after restart: %v, want ErrReplayed", err)
	}
	if spent["c-1"] != in.Expires {
		t.Fatalf("kept until %v, want the invite's expiry %v", spent["c-1"], in.Expires)
	}
}

// Verify changes nothing: it may run where a message arrives, before it
// is queued; only Spend uses the call id up.
func TestVerifyThenSpend(t *testing.T) {
	c, _, k := setup(t)
	in := invite(k.nurse, "nurse-eva", "c-1", proto.ModeForced)
	for range 2 {
		if _, err := c.Verify(in); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	}
	if err := c.Spend(in); err != nil {
		t.Fatalf("Spend = %v", err)
	}
	if _, err := c.Verify(in); !errors.Is(err, ErrReplayed) {
		t.Fatalf("Verify after Spend = %v, want %v", err, ErrReplayed)
	}
	if err := c.Spend(in); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Spend = %v, want %v", err, ErrReplayed)
	}
}

func TestAuthenticated(t *testing.T) {
	c, _, k := setup(t)
	for name, tc := range map[string]struct {
		in   proto.Invite
		auth bool
	}{
		"stranger":        {invite(k.stranger, "mallory", "c-1", proto.ModeForced), false},
		"forged as nurse": {invite(k.stranger, "nurse-eva", "c-2", proto.ModeForced), false},
		"anna forced":     {invite(k.anna, "anna", "c-3", proto.ModeForced), true},
	} {
		_, err := c.Verify(tc.in)
		if err == nil || Authenticated(err) != tc.auth {
			t.Errorf("%s: Verify = %v, Authenticated = %v, want %v", name, err, Authenticated(err), tc.auth)
		}
	}
	if _, err := c.Caller("mallory"); !errors.Is(err, ErrUnknownCaller) {
		t.Errorf("Caller(mallory) = %v, want %v", err, ErrUnknownCaller)
	}
	if a, err := c.Caller("anna"); err != nil || a.Name != "Anna" {
		t.Errorf("Caller(anna) = %+v, %v", a, err)
	}
}

func TestCheckItem(t *testing.T) {
	c, _, k := setup(t)
	// A list with a sender and an admin besides the callers.
	a := allowlist(k, 2)
	a.Callers[1].Mode = append(a.Callers[1].Mode, proto.RightSend)
	a.Callers = append(a.Callers, proto.AllowedCaller{ID: "office", Name: "North Care office", Key: pub(k.stranger), Mode: []proto.CallMode{proto.RightAdmin}})
	a.Sig = ed25519.Sign(k.org, a.SigningBytes())
	if err := c.SetAllowlist(a); err != nil {
		t.Fatal(err)
	}
	item := func(sender string, key ed25519.PrivateKey) proto.Item {
		it := proto.Item{V: 1, ID: "m-1", Device: "mum-kitchen", Rev: 1, Kind: proto.KindMessage, Text: "hi",
			Start: t0, End: t0.Add(time.Hour), Sender: sender}
		it.Sig = ed25519.Sign(key, it.SigningBytes())
		return it
	}
	for name, tc := range map[string]struct {
		it   proto.Item
		want error
		name string
	}{
		"sender":             {item("anna", k.anna), nil, "Anna"},
		"admin":              {item("office", k.stranger), nil, "North Care office"},
		"caller, not sender": {item("nurse-eva", k.nurse), ErrNotSender, ""},
		"unknown":            {item("mallory", k.stranger), ErrUnknownSender, ""},
		"forged":             {item("anna", k.stranger), ErrBadSignature, ""},
	} {
		got, err := c.CheckItem(tc.it)
		if !errors.Is(err, tc.want) || got.Name != tc.name {
			t.Errorf("%s: CheckItem = %q, %v; want %q, %v", name, got.Name, err, tc.name, tc.want)
		}
	}
	empty, _ := New(pub(k.org), nil)
	if _, err := empty.CheckItem(item("anna", k.anna)); !errors.Is(err, ErrNoAllowlist) {
		t.Errorf("CheckItem without a list = %v, want %v", err, ErrNoAllowlist)
	}
	if c.Serial() != 2 || empty.Serial() != 0 {
		t.Errorf("Serial = %d, %d; want 2, 0", c.Serial(), empty.Serial())
	}
}
