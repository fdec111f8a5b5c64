// Package callauth decides whether a device may answer an invite: only
// callers on the allowlist that the device's organisation signed, with a
// valid signature, within the invite's lifetime, once per call id, and in
// a mode that caller may use; and whether a signed item's sender is on
// that allowlist, signed it and may send (CheckItem). Every refusal says
// why (PRODUCT.md: "every refusal is logged upward with its reason").
package callauth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/signed"
	"github.com/hearth-home/hearth/sync/proto"
)

// The reasons an invite or allowlist is refused.
var (
	// ErrNoAllowlist: the device has no valid allowlist yet; it answers nobody.
	ErrNoAllowlist = errors.New("no allowlist")
	// ErrUnknownCaller: the caller is not on the allowlist.
	ErrUnknownCaller = errors.New("unknown caller")
	// ErrBadSignature: the signature does not match the caller's (or the
	// organisation's) key. The same error as signed.ErrBadSignature.
	ErrBadSignature = signed.ErrBadSignature
	// ErrExpired: the invite's lifetime is over (or has not begun). The
	// same error as signed.ErrExpired.
	ErrExpired = signed.ErrExpired
	// ErrReplayed: this call id was seen before.
	ErrReplayed = errors.New("replayed call id")
	// ErrModeNotAllowed: the caller may not use this mode.
	ErrModeNotAllowed = errors.New("mode not allowed for this caller")
	// ErrStale: an allowlist with a serial not above the current one.
	ErrStale = errors.New("stale allowlist")
	// ErrUnknownSender: a signed item's sender is not on the allowlist.
	ErrUnknownSender = errors.New("unknown sender")
	// ErrNotSender: the allowlist lists the sender without the right to
	// send (proto.RightSend, or proto.RightAdmin).
	ErrNotSender = errors.New("not allowed to send")
)

// Checker holds the allowlist and the call ids already used. Safe for
// concurrent use.
type Checker struct {
	org   ed25519.PublicKey
	clock clock.Clock
	// Spent, when set, also records used call ids on disk, so a restart
	// does not forget them; it reports whether id was fresh. Set it before
	// the first Check.
	Spent func(id string, until, now time.Time) (fresh bool, err error)

	mu    sync.Mutex
	list  *proto.Allowlist
	spent signed.Spent
}

// New returns a Checker that trusts allowlists signed with org.
func New(org ed25519.PublicKey, clk clock.Clock) (*Checker, error) {
	if len(org) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("callauth: organisation key of %d bytes, want %d", len(org), ed25519.PublicKeySize)
	}
	if clk == nil {
		clk = clock.Real()
	}
	return &Checker{org: org, clock: clk, spent: signed.Spent{Replayed: ErrReplayed}}, nil
}

// SetAllowlist installs a if the organisation signed it and its serial is
// above the current one.
func (c *Checker) SetAllowlist(a proto.Allowlist) error {
	if err := signed.Verify(c.org, a.SigningBytes(), a.Sig); err != nil {
		return fmt.Errorf("allowlist %d: %w", a.Serial, err)
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

// Caller looks id up on the allowlist: ErrNoAllowlist or ErrUnknownCaller
// if it is not there. Cheap (no signature), for turning a stranger's
// message away before anything costly.
func (c *Checker) Caller(id string) (proto.AllowedCaller, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list == nil {
		return proto.AllowedCaller{}, ErrNoAllowlist
	}
	i := slices.IndexFunc(c.list.Callers, func(a proto.AllowedCaller) bool { return a.ID == id })
	if i < 0 {
		return proto.AllowedCaller{}, ErrUnknownCaller
	}
	return c.list.Callers[i], nil
}

// Authenticated reports whether a refusal came after the message proved
// to be from the caller it names: false for no allowlist, an unknown
// caller and a bad signature (anybody can send those, under any name).
func Authenticated(err error) bool {
	return !errors.Is(err, ErrNoAllowlist) && !errors.Is(err, ErrUnknownCaller) && !errors.Is(err, ErrBadSignature)
}

// Check decides on an invite. On success the call id is spent: the same
// invite is refused as a replay from then on. It is Verify then Spend.
func (c *Checker) Check(in proto.Invite) (proto.AllowedCaller, error) {
	caller, err := c.Verify(in)
	if err != nil {
		return caller, err
	}
	if err := c.Spend(in); err != nil {
		return proto.AllowedCaller{}, err
	}
	return caller, nil
}

// Verify checks everything about an invite but does not spend its call
// id: the caller is on the allowlist, signed it, it is within its
// lifetime, its id was not used before (as far as memory knows: Spend
// also asks the disk) and the caller may use its mode. It changes
// nothing, so it may run where the message arrives, before it is queued.
func (c *Checker) Verify(in proto.Invite) (proto.AllowedCaller, error) {
	now := c.clock.Now()
	refuse := func(err error) (proto.AllowedCaller, error) {
		return proto.AllowedCaller{}, fmt.Errorf("invite %s from %s: %w", in.Call, in.Caller, err)
	}
	caller, err := c.Caller(in.Caller)
	if err != nil {
		return refuse(err)
	}
	if err := signed.Verify(caller.Key, in.SigningBytes(), in.Sig); err != nil {
		return refuse(err)
	}
	// (Used first: it also forgets the ids that expired.)
	used := c.spent.Used(in.Call, now)
	if err := signed.Lifetime(now, in.Created, in.Expires); err != nil {
		return refuse(err)
	}
	if used {
		return refuse(ErrReplayed)
	}
	if !slices.Contains(caller.Mode, in.Mode) {
		return refuse(fmt.Errorf("%w: %s", ErrModeNotAllowed, in.Mode))
	}
	return caller, nil
}

// Spend records a verified invite's call id as used, or refuses it as a
// replay (also of an id spent before a restart, through Spent).
//
// The spent id is durable before Spend returns, so before the device
// chimes, announces or answers. It must be durable before the answer
// leaves at the latest: the answer lets the caller connect, and a crash
// after an answer whose id was not yet on disk would let the same invite,
// replayed within its lifetime, be answered again after the restart.
// Writing it while the answer is made would save the commit's fsync (a
// median of 1 ms, up to 4.4, on the bench's disk; more on an SD card) out
// of the device's ~3.5 ms from invite to answer, but Spent reads and
// writes in one transaction: only it tells a fresh id from one spent
// before a restart, and a replay would then be found after the resident
// had heard the chime and seen the notice, not refused with its reason.
func (c *Checker) Spend(in proto.Invite) error {
	c.mu.Lock()
	c.spent.Durable = c.Spent
	c.mu.Unlock()
	if err := c.spent.Spend(in.Call, in.Expires, c.clock.Now()); err != nil {
		return fmt.Errorf("invite %s from %s: %w", in.Call, in.Caller, err)
	}
	return nil
}

// CheckSignal verifies a caller's message about a call: the caller is on
// the allowlist, signed it, and sent it within proto.SignalSkew of now.
// Which call it belongs to is the call's owner to decide.
func (c *Checker) CheckSignal(s proto.Signal) (proto.AllowedCaller, error) {
	now := c.clock.Now()
	refuse := func(err error) (proto.AllowedCaller, error) {
		return proto.AllowedCaller{}, fmt.Errorf("%s for call %s from %s: %w", s.Type, s.Call, s.Caller, err)
	}
	caller, err := c.Caller(s.Caller)
	if err != nil {
		return refuse(err)
	}
	if err := signed.Verify(caller.Key, s.SigningBytes(), s.Sig); err != nil {
		return refuse(err)
	}
	if d := now.Sub(s.Time); d > proto.SignalSkew || d < -proto.SignalSkew {
		return refuse(fmt.Errorf("%w (sent %s, now %s)", ErrExpired, s.Time.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	return caller, nil
}

// CheckItem decides on a signed item or tombstone (it.Sender set): the
// sender is on the allowlist, signed it.SigningBytes with their key and
// may send. It returns the sender's entry, whose Name the screen shows.
// The errors are, in this order, ErrNoAllowlist, ErrUnknownSender,
// ErrBadSignature and ErrNotSender; their text is the refusal's reason
// (docs/protocol.md, "Senders: signed items"). Whose the item is and
// whether its revision is new is the store's to say.
func (c *Checker) CheckItem(it proto.Item) (proto.AllowedCaller, error) {
	refuse := func(err error) (proto.AllowedCaller, error) {
		return proto.AllowedCaller{}, fmt.Errorf("item %s rev %d from %s: %w", it.ID, it.Rev, it.Sender, err)
	}
	sender, err := c.Caller(it.Sender)
	switch {
	case errors.Is(err, ErrUnknownCaller):
		return refuse(ErrUnknownSender)
	case err != nil:
		return refuse(err)
	}
	if err := signed.Verify(sender.Key, it.SigningBytes(), it.Sig); err != nil {
		return refuse(err)
	}
	if !sender.May(proto.RightSend) {
		return refuse(ErrNotSender)
	}
	return sender, nil
}

// Serial is the serial of the installed allowlist (0: none).
func (c *Checker) Serial() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list == nil {
		return 0
	}
	return c.list.Serial
}

// Reason is the short reason sent back to a refused caller: the sentinel
// error's text, without details that only the device's log needs.
func Reason(err error) string {
	for _, r := range []error{ErrNoAllowlist, ErrUnknownCaller, ErrBadSignature, ErrExpired, ErrReplayed, ErrModeNotAllowed, ErrStale,
		ErrUnknownSender, ErrNotSender} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "refused"
}
