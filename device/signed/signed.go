// Package signed holds the checks every signed message a device obeys
// goes through: an Ed25519 signature, a lifetime read on the device's
// clock, and an id that may be used once. Invites and call signals
// (device/callauth) and admin commands (device/admin) share them, so the
// rules (the clock skew allowed, when a used id may be forgotten, that a
// used id is durable before the message is obeyed) are written once.
package signed

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	gosync "sync"
	"time"
)

// The reasons shared by every signed message. Their text is what the
// device reports upward (protocol.md).
var (
	// ErrBadSignature: the signature does not match the signer's key.
	ErrBadSignature = errors.New("bad signature")
	// ErrExpired: outside the message's lifetime, or from too far in the
	// device's future.
	ErrExpired = errors.New("expired")
)

// ClockSkew is how far a signer's clock may run ahead of the device's.
const ClockSkew = 30 * time.Second

// Verify reports ErrBadSignature unless sig is key's signature of msg. A
// key of the wrong size is a bad signature too (ed25519.Verify would
// panic).
func Verify(key ed25519.PublicKey, msg, sig []byte) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// Lifetime reports ErrExpired (with the times, for the log) unless now is
// before until and no more than ClockSkew before from.
func Lifetime(now, from, until time.Time) error {
	if !now.Before(until) || now.Add(ClockSkew).Before(from) {
		return fmt.Errorf("%w (valid %s to %s, now %s)", ErrExpired,
			from.Format(time.RFC3339), until.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

// Spent remembers the ids already used, each until its message expires
// (after that the lifetime check refuses the message anyway). Safe for
// concurrent use; the zero value is ready, with Replayed to be set.
type Spent struct {
	// Replayed is the error returned for an id used before (each kind of
	// message says it in its own words: "replayed call id").
	Replayed error
	// Durable, when set, also records the id on disk, so a restart does
	// not forget it; it reports whether id was fresh. An error refuses the
	// message: without the record its id could be used again later.
	Durable func(id string, until, now time.Time) (fresh bool, err error)

	mu   gosync.Mutex
	seen map[string]time.Time // id -> when it may be forgotten
}

// Used reports whether id is known to be spent, from memory alone (cheap:
// a replayed message is turned away before anything costly). An id spent
// before a restart is found by Spend.
func (s *Spent) Used(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(now)
	_, ok := s.seen[id]
	return ok
}

// Len is how many ids are remembered.
func (s *Spent) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// forget drops the ids whose messages have expired.
func (s *Spent) forget(now time.Time) {
	for k, u := range s.seen {
		if now.After(u) {
			delete(s.seen, k)
		}
	}
}

// Spend records id as used until until, or returns Replayed if it was
// used before. The id is durable before Spend returns: it must be before
// the message is obeyed (for an invite: before the answer lets the caller
// connect), or a crash and a replay within the message's lifetime would
// obey it twice.
func (s *Spent) Spend(id string, until, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]time.Time{}
	}
	s.forget(now)
	if _, ok := s.seen[id]; ok {
		return s.replayed()
	}
	if s.Durable != nil {
		fresh, err := s.Durable(id, until, now)
		if err != nil {
			return fmt.Errorf("record id: %w", err)
		}
		if !fresh {
			// Spent before a restart: remembered now, so the next copy is
			// turned away by Used without a disk read.
			s.seen[id] = until
			return s.replayed()
		}
	}
	s.seen[id] = until
	return nil
}

func (s *Spent) replayed() error {
	if s.Replayed != nil {
		return s.Replayed
	}
	return errors.New("replayed id")
}
