package device

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/signed"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// The reasons a booking is refused, besides proto's decoding errors and
// the allowlist's (no allowlist, unknown caller). Their text is what the
// device reports upward (protocol.md).
var (
	// ErrNotCarer: the caller has neither the right book nor forced calls
	// (which imply it). Bookings are carers' (VideoVisit's scheduled
	// visits).
	ErrNotCarer = errors.New("only carers may book")
	// ErrOtherCaller: the booking id is another caller's booking.
	ErrOtherCaller = errors.New("booked by another caller")
)

// Bookings takes carers' bookings from the device's booking topic: it
// checks that the caller is a carer on the allowlist and signed the
// booking, that it is not over (when the clock can be believed) and that
// it does not replace another caller's booking, and keeps it in the store,
// where the Scheduler finds it. Safe for concurrent use.
type Bookings struct {
	Store *store.Store
	// Callers looks a caller up on the allowlist (callauth.Checker.Caller);
	// nil: the device has no allowlist and takes no bookings.
	Callers func(id string) (proto.AllowedCaller, error)
	Clock   clock.Clock // default clock.Real()
	// Live, when set, says whether the clock can be believed: while it
	// cannot, a booking is not judged over by it.
	Live   *Live
	Logger *slog.Logger // default slog.Default()
}

// errNoAllowlist is the refusal without an allowlist; callauth says it in
// the same words.
var errNoAllowlist = errors.New("no allowlist")

// Take checks and keeps one booking. A refusal (returned as refused,
// already logged) leaves what the store holds as it was; err is a store
// failure, after which the booking may be sent again.
func (b *Bookings) Take(bk proto.Booking) (refused, err error) {
	clk := b.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := b.Logger
	if log == nil {
		log = slog.Default()
	}
	now := clk.Now()
	refuse := func(err error) (error, error) {
		err = fmt.Errorf("booking %s rev %d from %s: %w", bk.ID, bk.Rev, bk.Caller, err)
		log.Warn("booking refused", "booking", bk.ID, "rev", bk.Rev, "caller", bk.Caller, "err", err)
		return err, nil
	}
	if b.Callers == nil {
		return refuse(errNoAllowlist)
	}
	caller, err := b.Callers(bk.Caller)
	if err != nil {
		return refuse(err)
	}
	if err := signed.Verify(caller.Key, bk.SigningBytes(), bk.Sig); err != nil {
		return refuse(err)
	}
	if !caller.May(proto.RightBook) { // book, or forced (carers booked before the right existed)
		return refuse(ErrNotCarer)
	}
	if b.Live == nil || b.Live.Get().ClockTrusted() {
		// From the caller's future, or already over: a replay of an old
		// booking, or a clock far off on one side.
		until := bk.End()
		if bk.Cancel {
			until = now.Add(signed.ClockSkew + 1) // a cancellation is never over
		}
		if err := signed.Lifetime(now, bk.Issued, until); err != nil {
			return refuse(err)
		}
	}
	cur, ok, err := b.Store.Booking(bk.ID)
	if err != nil {
		return nil, err
	}
	if ok && cur.Booking.Caller != bk.Caller {
		return refuse(fmt.Errorf("%w (%s)", ErrOtherCaller, cur.Booking.Caller))
	}
	out, err := b.Store.PutBooking(bk, now)
	if err != nil {
		return nil, err
	}
	a := store.Activity{Time: now, Type: ActivityBookingKept, Caller: bk.Caller, Item: bk.ID,
		Reason: fmt.Sprintf("%s for %s", bk.At.UTC().Format(time.RFC3339), bk.Length())}
	if bk.Reason != "" {
		a.Reason += ": " + bk.Reason
	}
	if bk.Cancel {
		a.Type, a.Reason = ActivityBookingCancelled, ""
		log.Info("booking cancelled", "booking", bk.ID, "rev", bk.Rev, "caller", bk.Caller, "outcome", out)
	} else {
		log.Info("booking kept", "booking", bk.ID, "rev", bk.Rev, "caller", bk.Caller, "at", bk.At,
			"length", bk.Length(), "outcome", out)
	}
	if out == store.Added || out == store.Updated || out == store.Deleted {
		// The carer reads the outcome in the activity log, as a refusal.
		if err := b.Store.LogActivity(a); err != nil {
			log.Warn("activity", "err", err)
		}
	}
	return nil, nil
}

// Activity types of a booking taken (a refused one is input_refused).
const (
	ActivityBookingKept      = "booking_kept"
	ActivityBookingCancelled = "booking_cancelled"
)
