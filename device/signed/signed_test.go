package signed

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("hearth-test-v1\nhello")
	sig := ed25519.Sign(priv, msg)
	for name, tc := range map[string]struct {
		key       ed25519.PublicKey
		msg, sig  []byte
		wantError bool
	}{
		"good":        {pub, msg, sig, false},
		"other text":  {pub, []byte("hearth-test-v1\nhullo"), sig, true},
		"no sig":      {pub, msg, nil, true},
		"short key":   {pub[:5], msg, sig, true},
		"nil key":     {nil, msg, sig, true},
		"garbage sig": {pub, msg, make([]byte, 64), true},
	} {
		err := Verify(tc.key, tc.msg, tc.sig)
		if (err != nil) != tc.wantError || (err != nil && !errors.Is(err, ErrBadSignature)) {
			t.Errorf("%s: Verify = %v, want error %v", name, err, tc.wantError)
		}
	}
}

func TestLifetime(t *testing.T) {
	from, until := t0, t0.Add(2*time.Minute)
	for name, tc := range map[string]struct {
		at time.Duration
		ok bool
	}{
		"at from":         {0, true},
		"inside":          {time.Minute, true},
		"at until":        {2 * time.Minute, false},
		"after":           {time.Hour, false},
		"skew allowed":    {-ClockSkew, true},
		"too far ahead":   {-ClockSkew - time.Second, false},
		"a bit before it": {-time.Second, true},
	} {
		err := Lifetime(t0.Add(tc.at), from, until)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrExpired)) {
			t.Errorf("%s: Lifetime = %v, want ok %v", name, err, tc.ok)
		}
	}
}

func TestSpent(t *testing.T) {
	replayed := errors.New("replayed test id")
	disk := map[string]time.Time{}
	durable := func(id string, until, now time.Time) (bool, error) {
		if _, ok := disk[id]; ok {
			return false, nil
		}
		disk[id] = until
		return true, nil
	}
	s := &Spent{Replayed: replayed, Durable: durable}
	until := t0.Add(time.Minute)
	if s.Used("a", t0) {
		t.Fatal("Used before Spend")
	}
	if err := s.Spend("a", until, t0); err != nil {
		t.Fatalf("Spend = %v", err)
	}
	if !s.Used("a", t0) {
		t.Fatal("not Used after Spend")
	}
	if err := s.Spend("a", until, t0); !errors.Is(err, replayed) {
		t.Fatalf("second Spend = %v, want %v", err, replayed)
	}
	// A restart: memory empty, the disk remembers, and then memory too.
	s2 := &Spent{Replayed: replayed, Durable: durable}
	if s2.Used("a", t0) {
		t.Fatal("a fresh Spent knows the id without asking the disk")
	}
	if err := s2.Spend("a", until, t0); !errors.Is(err, replayed) {
		t.Fatalf("Spend after restart = %v, want %v", err, replayed)
	}
	if !s2.Used("a", t0) {
		t.Fatal("an id found on disk is not remembered")
	}
	// Forgotten once expired.
	if s2.Used("a", until.Add(time.Second)) || s2.Len() != 0 {
		t.Fatalf("after expiry: Used true or Len %d", s2.Len())
	}
	// A disk error refuses.
	s3 := &Spent{Replayed: replayed, Durable: func(string, time.Time, time.Time) (bool, error) { return false, errors.New("disk full") }}
	if err := s3.Spend("b", until, t0); err == nil || errors.Is(err, replayed) {
		t.Fatalf("Spend with a failing disk = %v, want the disk's error", err)
	}
}
