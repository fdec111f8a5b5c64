// Package callauth decides whether a device may answer an invite: only
// callers on the allowlist that the device's organisation signed, with a
// valid signature, within the invite's lifetime, once per call id, and in
// a mode that caller may use. Every refusal says why (PRODUCT.md: "every
// refusal is logged upward with its reason").
package callauth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// The reasons an invite or allowlist is refused.
var (
	// ErrNoAllowlist: the device has no valid allowlist yet; it answers nobody.
	ErrNoAllowlist = errors.New("no allowlist")
	// ErrUnknownCaller: the caller is not on the allowlist.
	ErrUnknownCaller = errors.New("unknown caller")
	// ErrBadSignature: the signature does not match the caller's (or the organisation's) key.
	ErrBadSignature = errors.New("bad signature")
	// ErrExpired: the invite's lifetime is over (or has not begun).
	ErrExpired = errors.New("expired")
	// ErrReplayed: this call id was seen before.
	ErrReplayed = errors.New("replayed call id")
	// ErrModeNotAllowed: the caller may not use this mode.
	ErrModeNotAllowed = errors.New("mode not allowed for this caller")
	// ErrStale: an allowlist with a serial not above the current one.
	ErrStale = errors.New("stale allowlist")
)

// clockSkew is how far a caller's clock may run ahead of the device's.
const clockSkew = 30 * time.Second

// Checker holds the allowlist and the call ids already used. Safe for
// concurrent use.
type Checker struct {
	org   ed25519.PublicKey
	clock clock.Clock
	// Spent, when set, also records used call ids on disk, so a restart
	// does not forget them; it reports whether id was fresh.
	Spent func(id string, until, now time.Time) (fresh bool, err error)

	mu   sync.Mutex
	list *proto.Allowlist
	seen map[string]time.Time // call id -> when it may be forgotten
}

// New returns a Checker that trusts allowlists signed with org.
func New(org ed25519.PublicKey, clk clock.Clock) (*Checker, error) {
	if len(org) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("callauth: organisation key of %d bytes, want %d", len(org), ed25519.PublicKeySize)
	}
	return &Checker{org: org, clock: clk, seen: map[string]time.Time{}}, nil
}

// SetAllowlist installs a if the organisation signed it and its serial is
// above the current one.
func (c *Checker) SetAllowlist(a proto.Allowlist) error {
	if !ed25519.Verify(c.org, a.SigningBytes(), a.Sig) {
		return fmt.Errorf("allowlist %d: %w", a.Serial, ErrBadSignature)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list != nil && a.Serial <= c.list.Serial {
		return fmt.Errorf("allowlist %d (have %d): %w", a.Serial, c.list.Serial, ErrStale)
	}
	c.list = &a
	return nil
}

// Allowlist returns the installed list, if any.
func (c *Checker) Allowlist() (proto.Allowlist, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list == nil {
		return proto.Allowlist{}, false
	}
	return *c.list, true
}

// Check decides on an invite. On success the call id is spent: the same
// invite is refused as a replay from then on.
func (c *Checker) Check(in proto.Invite) (proto.AllowedCaller, error) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, until := range c.seen {
		if now.After(until) {
			delete(c.seen, id)
		}
	}
	refuse := func(err error) (proto.AllowedCaller, error) {
		return proto.AllowedCaller{}, fmt.Errorf("invite %s from %s: %w", in.Call, in.Caller, err)
	}
	if c.list == nil {
		return refuse(ErrNoAllowlist)
	}
	i := slices.IndexFunc(c.list.Callers, func(a proto.AllowedCaller) bool { return a.ID == in.Caller })
	if i < 0 {
		return refuse(ErrUnknownCaller)
	}
	caller := c.list.Callers[i]
	if !ed25519.Verify(caller.Key, in.SigningBytes(), in.Sig) {
		return refuse(ErrBadSignature)
	}
	if !now.Before(in.Expires) || now.Add(clockSkew).Before(in.Created) {
		return refuse(fmt.Errorf("%w (valid %s to %s, now %s)", ErrExpired,
			in.Created.Format(time.RFC3339), in.Expires.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	if _, ok := c.seen[in.Call]; ok {
		return refuse(ErrReplayed)
	}
	if !slices.Contains(caller.Mode, in.Mode) {
		return refuse(fmt.Errorf("%w: %s", ErrModeNotAllowed, in.Mode))
	}
	// The spent id is durable before Check returns, so before the device
	// chimes, announces or answers. It must be durable before the answer
	// leaves at the latest: the answer lets the caller connect, and a crash
	// after an answer whose id was not yet on disk would let the same
	// invite, replayed within its lifetime, be answered again after the
	// restart. Writing it while the answer is made would save the commit's
	// fsync (a median of 1 ms, up to 4.4, on the bench's disk; more on an SD
	// card) out of the device's ~3.5 ms from invite to answer, but Spent
	// reads and writes in one transaction: only it tells a fresh id from
	// one spent before a restart, and a replay would then be found after
	// the resident had heard the chime and seen the notice, not refused
	// with its reason.
	if c.Spent != nil {
		fresh, err := c.Spent(in.Call, in.Expires, now)
		if err != nil {
			// Without the record the id could be replayed later: refuse.
			return refuse(fmt.Errorf("record call id: %w", err))
		}
		if !fresh {
			return refuse(ErrReplayed)
		}
	}
	// Remembered until the invite could no longer pass the expiry check.
	c.seen[in.Call] = in.Expires
	return caller, nil
}

// CheckSignal verifies a caller's message about a call: the caller is on
// the allowlist, signed it, and sent it within proto.SignalSkew of now.
// Which call it belongs to is the call's owner to decide.
func (c *Checker) CheckSignal(s proto.Signal) (proto.AllowedCaller, error) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	refuse := func(err error) (proto.AllowedCaller, error) {
		return proto.AllowedCaller{}, fmt.Errorf("%s for call %s from %s: %w", s.Type, s.Call, s.Caller, err)
	}
	if c.list == nil {
		return refuse(ErrNoAllowlist)
	}
	i := slices.IndexFunc(c.list.Callers, func(a proto.AllowedCaller) bool { return a.ID == s.Caller })
	if i < 0 {
		return refuse(ErrUnknownCaller)
	}
	caller := c.list.Callers[i]
	if !ed25519.Verify(caller.Key, s.SigningBytes(), s.Sig) {
		return refuse(ErrBadSignature)
	}
	if d := now.Sub(s.Time); d > proto.SignalSkew || d < -proto.SignalSkew {
		return refuse(fmt.Errorf("%w (sent %s, now %s)", ErrExpired, s.Time.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	return caller, nil
}

// Reason is the short reason sent back to a refused caller: the sentinel
// error's text, without details that only the device's log needs.
func Reason(err error) string {
	for _, r := range []error{ErrNoAllowlist, ErrUnknownCaller, ErrBadSignature, ErrExpired, ErrReplayed, ErrModeNotAllowed, ErrStale} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "refused"
}
