package call

import (
	"crypto/ed25519"
	"errors"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/sync/proto"
)

// Anyone may publish on a device's call/in topic (the broker cannot know
// who is on which allowlist), so what arrives there is sorted before it
// costs the call anything: Deliver, on the link's goroutine, turns away
// strangers (an allowlist look-up) and forgeries (an Ed25519 verification,
// ~50 µs) before they take a slot, rate-limits each allowed caller, and
// queues per caller. Refusals are counted per (caller, reason) over a
// window and reported once, so a flood neither evicts real events from
// the bounded activity log nor sends a reply per forged message.

const (
	// queuePerCaller bounds what waits for the Run loop from one caller:
	// an invite and its trickled candidates, with room to spare.
	queuePerCaller = 64
	// drainBatch is how many queued messages the Run loop takes before it
	// looks at its other events again.
	drainBatch = 16

	// Each allowed caller's invites: a burst of DefaultInviteBurst, then
	// one per DefaultInviteEvery (Options can change them). Signals
	// (mostly candidates, a dozen at a call's start): signalBurst, then
	// signalRate a second.
	DefaultInviteBurst = 5
	DefaultInviteEvery = 2 * time.Second
	signalBurst        = 64
	signalRate         = 20

	// refusalWindow is how long refusals of one kind are counted before
	// they are reported as one event.
	refusalWindow = time.Minute
	// maxDue bounds the reports waiting for the Run loop.
	maxDue = 256

	// reasonRateLimited is the reason a verified invite is dropped when its
	// caller sent too many (no reply: see refuseLimited).
	reasonRateLimited = "too many invites"
)

// queued is a message that passed Deliver's checks, with the caller it
// proved to come from.
type queued struct {
	invite *proto.Invite
	signal *proto.Signal
	caller proto.AllowedCaller
}

// DeliverStats counts what Deliver did, for tests and the log.
type DeliverStats struct {
	Received   int64 // messages handed to Deliver
	Queued     int64 // passed every check, queued for the Run loop
	Unknown    int64 // from no allowlisted caller (or no allowlist)
	Forged     int64 // a signature that does not verify
	Refused    int64 // verified, and refused (expired, replayed, mode)
	Limited    int64 // verified, over the caller's rate
	QueueFull  int64 // verified, but the caller's queue was full
	Aggregated int64 // refusals counted into a window's report, not reported one by one
}

type deliverCounters struct {
	received, queued, unknown, forged, refused, limited, full, aggregated atomic.Int64
}

// DeliverStats returns what Deliver has done so far.
func (m *Manager) DeliverStats() DeliverStats {
	c := &m.counts
	return DeliverStats{Received: c.received.Load(), Queued: c.queued.Load(), Unknown: c.unknown.Load(),
		Forged: c.forged.Load(), Refused: c.refused.Load(), Limited: c.limited.Load(), QueueFull: c.full.Load(),
		Aggregated: c.aggregated.Load()}
}

// Deliver hands the Manager a message from call/in. It never blocks and
// runs on the link's goroutine: it checks the sender (allowlist, then
// signature) and the sender's rate before anything is queued.
func (m *Manager) Deliver(msg proto.CallIn) {
	m.counts.received.Add(1)
	switch {
	case msg.Invite != nil:
		m.deliverInvite(*msg.Invite)
	case msg.Signal != nil:
		m.deliverSignal(*msg.Signal)
	}
}

func (m *Manager) deliverInvite(in proto.Invite) {
	now := m.opt.Clock.Now()
	if len(in.Offer) > proto.MaxSDP || len(in.Sig) != ed25519.SignatureSize {
		// proto's decoder keeps the offer in bounds; a signature of the
		// wrong size cannot verify: said without the verification.
		m.counts.forged.Add(1)
		m.refusals.note(now, refusal{inv: in, reason: callauth.ErrBadSignature.Error(), known: m.known(in.Caller)})
		return
	}
	caller, err := m.opt.Auth.Verify(in)
	switch {
	case err == nil:
	case !callauth.Authenticated(err):
		if errors.Is(err, callauth.ErrBadSignature) {
			m.counts.forged.Add(1)
		} else {
			m.counts.unknown.Add(1)
		}
		// Strangers are counted under one name: their claimed ids are
		// theirs to invent, and would fill the table.
		m.refusals.note(now, refusal{inv: in, reason: callauth.Reason(err), err: err, known: errors.Is(err, callauth.ErrBadSignature)})
		return
	case errors.Is(err, callauth.ErrReplayed):
		// A copy of a genuine invite: never answered (the reply would
		// reach, and end, the genuine call), and it takes none of the
		// genuine caller's rate.
		m.counts.refused.Add(1)
		m.refusals.note(now, refusal{inv: in, reason: callauth.Reason(err), err: err, known: true, authentic: true})
		return
	}
	if !m.taken.add(in.Caller, in.Call) {
		// A copy of an invite already taken (not yet spent: still queued
		// or ringing): never answered, and it takes none of the genuine
		// caller's rate.
		m.counts.refused.Add(1)
		m.refusals.note(now, refusal{inv: in, reason: callauth.Reason(callauth.ErrReplayed), err: callauth.ErrReplayed, known: true, authentic: true})
		return
	}
	if !m.limits.allow(in.Caller, true, now, m.opt) {
		m.counts.limited.Add(1)
		m.refuseLimited(now, in)
		return
	}
	if err != nil {
		m.counts.refused.Add(1)
		m.refusals.note(now, refusal{inv: in, reason: callauth.Reason(err), err: err, known: true, authentic: true, reply: true})
		return
	}
	m.enqueue(caller.ID, queued{invite: &in, caller: caller})
}

// refuseLimited refuses a verified invite over its caller's rate. Its
// call id is new (copies of a taken invite are dropped before), so the
// refusal reaches the caller who sent it and ends no other call.
func (m *Manager) refuseLimited(now time.Time, in proto.Invite) {
	m.refusals.note(now, refusal{inv: in, reason: reasonRateLimited, known: true, authentic: true, reply: true})
}

// takenCalls remembers the call ids of each allowed caller's latest
// verified invites, so a copy of one (replayed before the Run loop spent
// its id) is told from a new invite. The table is as large as the
// allowlist, each caller's list takenPerCaller long.
type takenCalls struct {
	mu gosync.Mutex
	m  map[string][]string
}

// takenPerCaller is how many of a caller's call ids are remembered: more
// than its invites can take within an invite's lifetime at its rate.
const takenPerCaller = 64

// add records caller's call id and reports whether it is new.
func (t *takenCalls) add(caller, call string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string][]string{}
	}
	ids := t.m[caller]
	if slices.Contains(ids, call) {
		return false
	}
	if len(ids) >= takenPerCaller {
		ids = ids[1:]
	}
	t.m[caller] = append(ids, call)
	return true
}

func (m *Manager) deliverSignal(s proto.Signal) {
	now := m.opt.Clock.Now()
	caller, err := m.opt.Auth.CheckSignal(s)
	if err != nil {
		// Not an activity: a refused caller's trickled candidates would
		// flood the log; its invite's refusal is reported already.
		if errors.Is(err, callauth.ErrBadSignature) {
			m.counts.forged.Add(1)
		} else if !callauth.Authenticated(err) {
			m.counts.unknown.Add(1)
		} else {
			m.counts.refused.Add(1)
		}
		m.log.Debug("call: signal refused", "type", s.Type, "call", s.Call, "caller", s.Caller, "err", err)
		return
	}
	if !m.limits.allow(caller.ID, false, now, m.opt) {
		m.counts.limited.Add(1)
		m.log.Debug("call: signal over the caller's rate, dropped", "type", s.Type, "call", s.Call, "caller", s.Caller)
		return
	}
	m.enqueue(caller.ID, queued{signal: &s, caller: caller})
}

// known reports whether id is on the allowlist (so it may be counted
// under its own name).
func (m *Manager) known(id string) bool {
	_, err := m.opt.Auth.Caller(id)
	return err == nil
}

func (m *Manager) enqueue(caller string, q queued) {
	if !m.box.put(caller, q) {
		m.counts.full.Add(1)
		m.log.Warn("call: caller's queue full, message dropped", "caller", caller)
		return
	}
	m.counts.queued.Add(1)
}

// inbox holds verified messages, one small queue per caller, served
// round-robin: no caller's flood delays another's invite.
type inbox struct {
	mu    gosync.Mutex
	q     map[string][]queued
	turn  []string // callers with something queued, in serving order
	ready chan struct{}
}

func newInbox() *inbox {
	return &inbox{q: map[string][]queued{}, ready: make(chan struct{}, 1)}
}

func (b *inbox) put(caller string, q queued) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.q[caller]
	if len(cur) >= queuePerCaller {
		return false
	}
	if len(cur) == 0 {
		b.turn = append(b.turn, caller)
	}
	b.q[caller] = append(cur, q)
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the next message, round-robin over the callers.
func (b *inbox) take() (queued, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.turn) == 0 {
		return queued{}, false
	}
	caller := b.turn[0]
	b.turn = b.turn[1:]
	cur := b.q[caller]
	q := cur[0]
	cur[0] = queued{}
	if cur = cur[1:]; len(cur) == 0 {
		delete(b.q, caller)
	} else {
		b.q[caller] = cur
		b.turn = append(b.turn, caller)
	}
	return q, true
}

// more reports whether anything is queued (and re-arms ready if so).
func (b *inbox) more() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.turn) == 0 {
		return false
	}
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return true
}

// limits is a token bucket per allowed caller, for invites and signals.
type limits struct {
	mu gosync.Mutex
	b  map[string]*buckets
}

type buckets struct{ invite, signal bucket }

type bucket struct {
	tokens float64
	at     time.Time
}

// take refills b at rate per second up to burst and takes one token.
func (b *bucket) take(now time.Time, burst, rate float64) bool {
	if b.at.IsZero() {
		b.tokens, b.at = burst, now
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// allow takes a token for caller's invite (or signal). Only allowed
// callers get here, so the table is as large as the allowlist.
func (l *limits) allow(caller string, invite bool, now time.Time, opt Options) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		l.b = map[string]*buckets{}
	}
	bs := l.b[caller]
	if bs == nil {
		bs = &buckets{}
		l.b[caller] = bs
	}
	if invite {
		return bs.invite.take(now, float64(opt.InviteBurst), float64(time.Second)/float64(opt.InviteEvery))
	}
	return bs.signal.take(now, signalBurst, signalRate)
}

// refusal is one refused invite, as Deliver or the Run loop saw it.
type refusal struct {
	inv    proto.Invite
	reason string
	err    error
	// known: the claimed caller is on the allowlist (counted under its
	// name; strangers are counted together).
	known bool
	// authentic: the invite proved to come from its caller.
	authentic bool
	// reply: send the caller a refused reply even when it is not the
	// first of its window (a genuine caller waits for its answer).
	reply bool
}

type refusalKey struct{ caller, reason string }

type refusalCount struct {
	start time.Time
	more  int // refusals after the first
	mode  proto.CallMode
	call  string // the latest
}

// report is what the Run loop does for a refusal: an activity event, a
// reply, or both.
type report struct {
	ev       *Event
	replyTo  string
	call     string
	reason   string
	hasReply bool
}

// refusals counts refusals per (caller, reason) over refusalWindow. The
// first of a window is logged at Warn, reported upward at once (Count 1)
// and answered with a refused reply; the rest are logged at Debug,
// answered only if authentic and asked for, and reported as one event
// with their Count when the window closes. Safe for concurrent use; what
// is to be reported waits in due for the Run loop (which alone talks to
// the outbox and the activity log).
type refusals struct {
	m    *Manager
	mu   gosync.Mutex
	open map[refusalKey]*refusalCount
	due  []report
	wake chan struct{}
}

func newRefusals(m *Manager) *refusals {
	return &refusals{m: m, open: map[refusalKey]*refusalCount{}, wake: make(chan struct{}, 1)}
}

func (r *refusals) note(now time.Time, f refusal) {
	key := refusalKey{reason: f.reason}
	if f.known {
		key.caller = f.inv.Caller
	}
	replayed := errors.Is(f.err, callauth.ErrReplayed)
	r.mu.Lock()
	w := r.open[key]
	first := w == nil
	if first {
		w = &refusalCount{start: now}
		r.open[key] = w
	} else {
		w.more++
		r.m.counts.aggregated.Add(1)
	}
	w.mode, w.call = f.inv.Mode, f.inv.Call
	var rep report
	if first {
		rep.ev = &Event{Type: "call_refused", Call: f.inv.Call, Caller: f.inv.Caller, Mode: f.inv.Mode, Reason: f.reason, Count: 1}
	}
	// A replayed id is never answered: the reply would reach, and end,
	// the genuine call that owns it. Otherwise the first of a window is
	// answered, and every authentic one that asks (a new invite over its
	// caller's rate: see refuseLimited).
	if !replayed && (first || f.reply) {
		rep.hasReply, rep.replyTo, rep.call, rep.reason = true, f.inv.Caller, f.inv.Call, f.reason
	}
	queuedRep := false
	if (rep.ev != nil || rep.hasReply) && len(r.due) < maxDue {
		r.due = append(r.due, rep)
		queuedRep = true
	}
	r.mu.Unlock()
	log := r.m.log.Debug
	if first {
		log = r.m.log.Warn
	}
	log("call: refused", "call", f.inv.Call, "caller", f.inv.Caller, "mode", f.inv.Mode, "reason", f.reason, "err", f.err,
		"first_in_window", first)
	if queuedRep {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// flush closes the windows that ended by now (all of them if all), turning
// their counts into reports; it returns when the next one ends.
func (r *refusals) flush(now time.Time, all bool) (next time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, w := range r.open {
		end := w.start.Add(refusalWindow)
		if !all && now.Before(end) {
			if next.IsZero() || end.Before(next) {
				next = end
			}
			continue
		}
		delete(r.open, k)
		if w.more > 0 {
			r.due = append(r.due, report{ev: &Event{Type: "call_refused", Call: w.call, Caller: k.caller, Mode: w.mode,
				Reason: k.reason, Count: w.more}})
		}
	}
	return next
}

// next is when the earliest open window ends (zero: none open).
func (r *refusals) next() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, w := range r.open {
		if end := w.start.Add(refusalWindow); next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return next
}

// take returns the reports waiting.
func (r *refusals) take() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.due
	r.due = nil
	return d
}
