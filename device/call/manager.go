// Package call answers video calls on the device. One goroutine, the
// Manager's Run loop, owns the call: invites, the caller's signals, Pion's
// events and every deadline (announcement, ring, connect, warning, time
// limit) arrive there as events, in order. The caller always offers; the
// device only answers.
//
// Media is written into Pion tracks by the call itself (mediadevices only
// captures and encodes): mediadevices' own bind path hangs
// PeerConnection.Close when a call never connected.
package call

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// ringEvery is how often a ringing call chimes.
const ringEvery = 2500 * time.Millisecond

const (
	// lostAfter is how long a participant's connection may stay
	// disconnected (ICE heard nothing for disconnectedTimeout, see NewAPI)
	// before the participant is dropped as lost.
	lostAfter = time.Second
	// preemptAfter is how long a call must have had no media from anyone
	// before a carer's forced call may take its place.
	preemptAfter = 3 * time.Second
	// maxPending bounds the candidates kept for a participant before the
	// device has its peer connection.
	maxPending = 32
	// maxExtends bounds how often a call may be extended.
	maxExtends = 4
	// closeWait bounds how long closing a call's media may hold the Run
	// loop; what has not closed by then is left to finish on its own and
	// counted as stuck (Alive fails while it is).
	closeWait = 3 * time.Second
	// aliveWait bounds Alive's round trip through the Run loop.
	aliveWait = 5 * time.Second
)

// Reasons the far side reads in a hangup reply (protocol.md).
const (
	// ReasonPreempted ends a call without media for a carer's forced call.
	ReasonPreempted = "ended for a carer's call"
	// ReasonShutdown ends a call when the device stops.
	ReasonShutdown = "the device is shutting down"
	// ReasonDeclined ends a ringing call the resident declined ("Not now").
	ReasonDeclined = "declined"
	// ReasonOnDevice ends a call the resident ended on the device.
	ReasonOnDevice = "ended on the device"
	// ReasonBusy is a missed call's reason when it met another call.
	ReasonBusy = "busy"
)

// Outbox is how the call talks to callers; the MQTT link implements it.
type Outbox interface {
	// Reply sends r to one caller (call/out/{caller}); best effort.
	Reply(caller string, r proto.Reply)
}

// Event is one entry for the device's activity log.
type Event struct {
	// Type is call_answered, call_ended, call_refused, call_missed (a
	// call never answered: it rang and was declined or hung up, or met
	// another call, Reason "busy") or control_refused.
	Type   string
	Call   string
	Caller string
	Mode   proto.CallMode
	Reason string
	// Duration of an ended call, from answer to end.
	Duration time.Duration
	// Count is how many refusals a call_refused event stands for: 1 for
	// the first of its kind (caller, reason) in a window, then the number
	// of the rest when the window closes (see refusals). Zero for other
	// types.
	Count int
}

// Options configures a Manager. Zero durations take the defaults.
type Options struct {
	Device  string
	Name    string // the device's display name for callers ("Mum's kitchen")
	Auth    *callauth.Checker
	Clock   clock.Clock
	Display device.CallDisplay
	Out     Outbox
	Media   Media
	// Live is the device's live state: the Manager reads do-not-disturb
	// and which of camera and microphone there are, and is the only writer
	// of the call (SetCall) and of whether calls are on (SetCalls).
	Live   *device.Live
	Logger *slog.Logger
	// Activity receives calls and refusals for the activity log. It is
	// called on the Run goroutine only.
	Activity func(Event)
	// Wake, when set, is called at the very start of a call, before its
	// first screen and its chime: the display comes on (at night too)
	// before anything is announced. On the Run goroutine; it may block
	// briefly.
	Wake func()

	Announce       time.Duration // forced: chime and notice before video, default 5s
	Ring           time.Duration // signalled: ring before answering, default 10s
	ConnectTimeout time.Duration // answer to media flowing, default 20s
	Limit          time.Duration // a call's length unless the invite says, default 30m
	Warn           time.Duration // warning before the end, default 5m
	EndedShow      time.Duration // "Call ended" before the carousel, default 3s

	// InviteBurst and InviteEvery limit each allowed caller's invites: a
	// burst of InviteBurst, then one per InviteEvery (defaults 5 and 2s).
	InviteBurst int
	InviteEvery time.Duration

	// ICEServers are STUN/TURN servers; none on a LAN or loopback.
	ICEServers []webrtc.ICEServer
	// Loopback lets ICE use 127.0.0.1 (tests, and a caller on the device).
	Loopback bool
}

// Manager answers calls. Deliver gives it what arrived; Run owns the call.
type Manager struct {
	opt      Options
	log      *slog.Logger
	api      *webrtc.API
	box      *inbox
	limits   limits
	taken    takenCalls
	refusals *refusals
	counts   deliverCounters
	pics     pictures
	events   chan func()
	hangup   chan endRequest
	alive    chan chan struct{}

	// postMu and stopped: once Run is past its end, post refuses, and the
	// poster cleans up itself (a capture opened late is closed).
	postMu  gosync.RWMutex
	stopped bool
	// openers are the goroutines opening captures; Run waits for them.
	openers gosync.WaitGroup
	// stuck counts media (peer connections, captures) that did not close
	// within closeWait and are still closing.
	stuck atomic.Int64

	cur      *callState // owned by Run
	alarm    clock.Alarm
	refAlarm clock.Alarm
	done     chan struct{} // closed when Run is ending
	// statsMu guards last, for tests and status.
	statsMu gosync.Mutex
	last    Stats
}

// New checks opt and prepares Pion.
func New(opt Options) (*Manager, error) {
	switch {
	case !proto.ValidID(opt.Device):
		return nil, fmt.Errorf("call: device id %q is not valid", opt.Device)
	case opt.Auth == nil || opt.Display == nil || opt.Out == nil || opt.Media == nil || opt.Live == nil:
		return nil, errors.New("call: Auth, Display, Out, Media and Live are required")
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Activity == nil {
		opt.Activity = func(Event) {}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opt.Announce, 5*time.Second)
	def(&opt.Ring, 10*time.Second)
	def(&opt.ConnectTimeout, 20*time.Second)
	def(&opt.Limit, 30*time.Minute)
	def(&opt.Warn, 5*time.Minute)
	def(&opt.EndedShow, 3*time.Second)
	def(&opt.InviteEvery, DefaultInviteEvery)
	if opt.InviteBurst <= 0 {
		opt.InviteBurst = DefaultInviteBurst
	}
	api, err := NewAPI(opt.Loopback)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opt:    opt,
		log:    opt.Logger.With("component", "call"),
		api:    api,
		box:    newInbox(),
		events: make(chan func(), 256),
		hangup: make(chan endRequest, 1),
		alive:  make(chan chan struct{}),
		done:   make(chan struct{}),
	}
	m.refusals = newRefusals(m)
	m.alarm.Clock = opt.Clock
	m.refAlarm.Clock = opt.Clock
	if list, ok := opt.Auth.Allowlist(); ok {
		m.pics.load(list, m.log) // decoded now, not as a call comes
		opt.Live.SetCalls(device.CallsOn)
	} else {
		opt.Live.SetCalls(device.CallsNoAllowlist)
	}
	return m, nil
}

// post runs fn on the Run goroutine (for Pion's callbacks and the capture
// opener). It reports false, without running fn, once Run is ending.
func (m *Manager) post(fn func()) bool {
	m.postMu.RLock()
	defer m.postMu.RUnlock()
	if m.stopped {
		return false
	}
	select {
	case m.events <- fn:
		return true
	case <-m.done:
		return false
	}
}

// endRequest is the resident's touch: end the call, or decline it.
type endRequest struct {
	call    string
	decline bool
}

// Hangup ends the current call from the device (the resident's button).
func (m *Manager) Hangup(call string) {
	select {
	case m.hangup <- endRequest{call: call}:
	default:
	}
}

// Decline refuses a ringing call from the device ("Not now"): its callers
// read hangup with the reason "declined". Once the call is past ringing
// it ends the call like Hangup.
func (m *Manager) Decline(call string) {
	select {
	case m.hangup <- endRequest{call: call, decline: true}:
	default:
	}
}

// Alive reports whether the Manager works: its Run loop answers within
// ctx (and at most aliveWait), and no call's media is stuck closing. The
// systemd watchdog asks it, so a Run loop blocked for good, or a camera
// that never closes, stops the petting and systemd restarts the daemon.
func (m *Manager) Alive(ctx context.Context) error {
	if n := m.stuck.Load(); n > 0 {
		return fmt.Errorf("call: %d peer connections or captures stuck closing", n)
	}
	ctx, cancel := context.WithTimeout(ctx, aliveWait)
	defer cancel()
	pong := make(chan struct{})
	select {
	case m.alive <- pong:
	case <-m.done:
		return errors.New("call: not running")
	case <-ctx.Done():
		return fmt.Errorf("call: the call loop does not answer: %w", ctx.Err())
	}
	select {
	case <-pong:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("call: the call loop does not answer: %w", ctx.Err())
	}
}

// Stats describes the last finished call (and the current one so far).
type Stats struct {
	Call               string
	Answered           bool
	ICEConnected       time.Duration // from invite
	FirstFrame         time.Duration // from invite to the first decoded remote picture
	VideoFramesDecoded int
	AudioPackets       int64
	VideoPacketsSent   int64
	Duration           time.Duration
	EndReason          string
}

// LastStats returns the statistics of the most recent call.
func (m *Manager) LastStats() Stats {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	return m.last
}

// Run answers calls until ctx ends; a call in progress is ended cleanly.
// It returns within a few seconds (closeWait per stage) even when the
// media hang; what hangs is left counted in stuck.
func (m *Manager) Run(ctx context.Context) error {
	defer m.finish()
	for {
		if c := m.cur; c != nil && c.phase == device.CallEnded && c.waiting != nil {
			m.takeWaiting(c)
		}
		now := m.opt.Clock.Now()
		var wake <-chan time.Time
		if m.cur != nil {
			wake = m.alarm.At(now, m.cur.nextDeadline())
		} else {
			m.alarm.Stop()
		}
		var refWake <-chan time.Time
		if next := m.refusals.next(); !next.IsZero() {
			refWake = m.refAlarm.At(now, next)
		} else {
			m.refAlarm.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.box.ready:
			for range drainBatch {
				q, ok := m.box.take()
				if !ok {
					break
				}
				switch {
				case q.invite != nil:
					m.onInvite(*q.invite, q.caller)
				case q.signal != nil:
					m.onSignal(*q.signal, q.caller)
				}
			}
			m.box.more()
		case <-m.refusals.wake:
			m.report()
		case <-refWake:
			m.refusals.flush(m.opt.Clock.Now(), false)
			m.report()
		case fn := <-m.events:
			fn()
		case req := <-m.hangup:
			switch c := m.cur; {
			case c == nil || c.id != req.call || c.phase == device.CallEnded:
			case req.decline && c.phase == device.CallRinging:
				m.end(c, device.EndNoAnswer, "", ReasonDeclined)
			default:
				m.end(c, device.EndResident, "", ReasonOnDevice)
			}
		case pong := <-m.alive:
			close(pong)
		case <-wake:
			m.onDeadline()
		}
	}
}

// finish ends Run: the call in progress ends, posting stops, the capture
// openers are waited for (bounded), and whatever they posted meanwhile
// runs (a capture that arrives for an ended call is closed). Refusals
// still counted are reported.
func (m *Manager) finish() {
	if c := m.cur; c != nil {
		if w := c.waiting; w != nil {
			c.waiting = nil
			m.busy(w.in, w.caller)
		}
		m.end(c, device.EndShutdown, "", ReasonShutdown)
		m.clear()
	}
	close(m.done)
	m.postMu.Lock() // waits for posters in flight
	m.stopped = true
	m.postMu.Unlock()
	opened := make(chan struct{})
	go func() { m.openers.Wait(); close(opened) }()
	m.waitClosed(opened, "camera and microphone still opening")
	for drained := false; !drained; {
		select {
		case fn := <-m.events:
			fn()
		default:
			drained = true
		}
	}
	m.refusals.flush(m.opt.Clock.Now(), true)
	m.report()
	m.alarm.Stop()
	m.refAlarm.Stop()
}

// waitClosed waits up to closeWait for done. If it does not come, the
// work is left to finish on its own, counted in stuck until it does (Alive
// fails meanwhile), and the Run loop goes on.
func (m *Manager) waitClosed(done <-chan struct{}, what string, args ...any) bool {
	t := time.NewTimer(closeWait) // real time: it bounds real work, not the call's clock
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	}
	m.log.Error("call: "+what+" after "+closeWait.String()+"; leaving it", args...)
	m.stuck.Add(1)
	go func() {
		<-done
		m.stuck.Add(-1)
		m.log.Warn("call: "+what+": done at last", args...)
	}()
	return false
}

// report sends what the refusals have waiting: events upward, replies to
// callers.
func (m *Manager) report() {
	for _, r := range m.refusals.take() {
		if r.ev != nil {
			m.opt.Activity(*r.ev)
		}
		if r.hasReply {
			m.opt.Out.Reply(r.replyTo, m.reply(proto.SignalRefused, r.call, func(p *proto.Reply) { p.Reason = r.reason }))
		}
	}
}

// SetAllowlist installs a new allowlist; calls are on from then.
func (m *Manager) SetAllowlist(a proto.Allowlist) error {
	if err := m.opt.Auth.SetAllowlist(a); err != nil {
		return err
	}
	m.pics.load(a, m.log)
	m.opt.Live.SetCalls(device.CallsOn)
	return nil
}

// refuse refuses an invite the Run loop will not take (its caller is
// authentic: the reply goes to it, except for a replay).
func (m *Manager) refuse(in proto.Invite, reason string, err error) {
	m.refusals.note(m.opt.Clock.Now(), refusal{inv: in, reason: reason, err: err, known: true, authentic: true, reply: true})
	m.report()
}

func (m *Manager) reply(typ, call string, fill func(*proto.Reply)) proto.Reply {
	r := proto.Reply{V: proto.Version, Type: typ, Call: call, Device: m.opt.Device, Time: m.opt.Clock.Now().UTC()}
	if fill != nil {
		fill(&r)
	}
	return r
}

// setPhase moves the call to phase p, in the live state too.
func (m *Manager) setPhase(c *callState, p device.CallPhase) {
	c.phase = p
	m.opt.Live.SetCall(c.id, p)
}

func (m *Manager) onInvite(in proto.Invite, caller proto.AllowedCaller) {
	// Deliver verified it; the call id is spent (durably) here, before
	// anything is shown or answered.
	if err := m.opt.Auth.Spend(in); err != nil {
		m.refuse(in, callauth.Reason(err), err)
		return
	}
	c := m.cur
	if in.Join != "" {
		switch {
		case c == nil || c.id != in.Join || c.phase == device.CallEnded:
			m.refuse(in, "no such call", nil)
		case !c.added[caller.ID]:
			m.refuse(in, "not added to this call", nil)
		case len(c.peers) >= proto.MaxParticipants:
			m.busy(in, caller)
		default:
			m.join(c, in, caller)
		}
		return
	}
	now := m.opt.Clock.Now()
	if c != nil && c.phase != device.CallEnded {
		// A carer's forced call takes the place of a call that carries
		// nothing (a caller gone without a word, a call that never
		// connected). While the call still had media within preemptAfter,
		// the forced call waits until then (the call may end, or fall
		// silent); any other call is busy.
		switch {
		case in.Mode != proto.ModeForced || c.waiting != nil:
			m.busy(in, caller)
			return
		case !c.silentFor(now, preemptAfter):
			c.waiting = &waitingInvite{in: in, caller: caller, at: c.quietSince().Add(preemptAfter)}
			m.log.Info("call: a carer's forced call waits for the call in progress", "call", c.id, "by", in.Call, "until", c.waiting.at)
			return
		}
		m.preempt(c, in, caller)
		return
	}
	// Do-not-disturb keeps out all but a carer's forced call.
	if m.opt.Live.Get().DND() && in.Mode != proto.ModeForced {
		m.refuse(in, proto.RefusedDND, nil)
		return
	}
	if m.cur != nil {
		m.clear() // "Call ended" gives way to the next call at once
	}
	m.start(in, caller)
}

// preempt ends c for a carer's forced call and starts that at once.
func (m *Manager) preempt(c *callState, in proto.Invite, caller proto.AllowedCaller) {
	m.log.Info("call: a carer's forced call takes the place of a call without media", "call", c.id, "by", in.Call, "caller", caller.ID)
	c.waiting = nil
	m.end(c, device.EndPreempted, "", ReasonPreempted)
	m.clear() // "Call ended" gives way at once
	m.start(in, caller)
}

// takeWaiting starts the forced call that waited for c, now that c ended.
func (m *Manager) takeWaiting(c *callState) {
	w := c.waiting
	if w == nil || m.cur != c {
		return
	}
	c.waiting = nil
	m.log.Info("call: the waiting forced call takes the device", "call", w.in.Call, "after", c.id)
	m.clear()
	m.start(w.in, w.caller)
}

// busy tells a caller the device is in another call, and records the
// call as missed for the resident (today's calls: "Anna tried to call").
// A carer (a caller allowed forced calls) also reads whom the device is
// in a call with and since when; family callers only that it is busy.
func (m *Manager) busy(in proto.Invite, caller proto.AllowedCaller) {
	m.log.Info("call: busy", "call", in.Call, "caller", in.Caller)
	c := m.cur
	carer := slices.Contains(caller.Mode, proto.ModeForced)
	m.opt.Out.Reply(in.Caller, m.reply(proto.SignalBusy, in.Call, func(r *proto.Reply) {
		r.Reason = ReasonBusy
		if carer && c != nil {
			r.With, r.Since = c.name, c.since()
		}
	}))
	m.opt.Activity(Event{Type: "call_missed", Call: in.Call, Caller: in.Caller, Mode: in.Mode, Reason: ReasonBusy})
}

// start begins a call: forced calls announce and open the camera at once,
// signalled ones ring first.
func (m *Manager) start(in proto.Invite, caller proto.AllowedCaller) {
	if m.opt.Wake != nil {
		m.opt.Wake() // before the first screen and the chime
	}
	now := m.opt.Clock.Now()
	name := in.CallerName
	if name == "" {
		name = caller.Name
	}
	limit := m.opt.Limit
	if in.LimitS > 0 {
		limit = time.Duration(in.LimitS) * time.Second
	}
	c := &callState{
		id: in.Call, host: caller.ID, name: name, forced: in.Mode == proto.ModeForced, reason: in.Reason,
		mode: in.Mode, limit: limit, invited: now, added: map[string]bool{}, warnBefore: m.opt.Warn,
		peers: map[string]*peer{}, picture: m.pics.of(caller, m.log),
	}
	p := &peer{call: in.Call, caller: caller, name: name, offer: in.Offer, invited: now}
	c.peers[in.Call] = p
	c.order = append(c.order, in.Call)
	m.cur = c
	m.log.Info("call: incoming", "call", c.id, "caller", caller.ID, "name", name, "mode", in.Mode, "reason", in.Reason)
	if c.forced {
		m.setPhase(c, device.CallAnnouncing)
		c.announceEnd = now.Add(announceFor(m.opt.Announce, caller.Greeting))
		// The answer goes out at once and the camera opens during the
		// announcement, so picture and connection are ready when it ends;
		// nothing is sent until then.
		if err := m.makeTracks(c); err != nil {
			m.end(c, device.EndNoConnect, "", err.Error())
			return
		}
		m.openCapture(c)
		if err := m.answer(c, p); err != nil {
			m.end(c, device.EndNoConnect, "", "could not answer: "+err.Error())
			return
		}
		// The chime after the answer: opening the speaker is not on the
		// caller's way to a connection (a few ms; nobody hears the gap).
		// The caller's recorded greeting follows it.
		m.opt.Media.Speaker().PlayChime(caller.Greeting)
		c.connectBy = c.announceEnd.Add(m.opt.ConnectTimeout)
	} else {
		m.opt.Media.Speaker().PlayChime(nil)
		m.setPhase(c, device.CallRinging)
		c.ringEnd = now.Add(m.opt.Ring)
		c.nextRing = now.Add(ringEvery)
	}
	m.show(c)
}

func (m *Manager) join(c *callState, in proto.Invite, caller proto.AllowedCaller) {
	name := in.CallerName
	if name == "" {
		name = caller.Name
	}
	p := &peer{call: in.Call, caller: caller, name: name, offer: in.Offer, invited: m.opt.Clock.Now()}
	c.peers[in.Call] = p
	c.order = append(c.order, in.Call)
	m.log.Info("call: participant joins", "call", c.id, "participant", caller.ID, "as", in.Call)
	if c.video != nil || c.audio != nil {
		if err := m.answer(c, p); err != nil {
			m.log.Warn("call: answer participant", "participant", caller.ID, "err", err)
			m.dropPeer(c, p, device.EndNoConnect, "could not answer")
			return
		}
	}
	m.show(c)
}

func (m *Manager) onSignal(s proto.Signal, caller proto.AllowedCaller) {
	c := m.cur
	if c == nil || c.phase == device.CallEnded {
		m.log.Debug("call: signal for no call", "type", s.Type, "call", s.Call)
		return
	}
	p := c.peers[s.Call]
	if p == nil || p.caller.ID != caller.ID {
		m.log.Debug("call: signal for another call", "type", s.Type, "call", s.Call, "current", c.id)
		return
	}
	switch s.Type {
	case proto.SignalCandidate:
		cand, err := s.Candidate()
		if err != nil {
			m.log.Warn("call: bad candidate", "call", s.Call, "err", err)
			return
		}
		init := webrtc.ICECandidateInit{Candidate: cand.Candidate, SDPMid: cand.SDPMid, SDPMLineIndex: cand.SDPMLineIndex, UsernameFragment: cand.UFrag}
		if p.pc == nil || p.pc.RemoteDescription() == nil {
			if len(p.pending) >= maxPending {
				m.log.Debug("call: too many early candidates, dropped", "call", s.Call, "kept", len(p.pending))
				return
			}
			p.pending = append(p.pending, init) // early: kept until the answer
			return
		}
		if err := p.pc.AddICECandidate(init); err != nil {
			m.log.Warn("call: add candidate", "call", s.Call, "err", err)
		}
	case proto.SignalHangup:
		m.log.Info("call: remote hangup", "call", s.Call, "caller", caller.ID)
		m.dropPeer(c, p, device.EndCallerHungUp, p.name+" hung up")
	case proto.SignalControl:
		m.control(c, p, s.Data)
	}
}

func (m *Manager) control(c *callState, p *peer, ctl string) {
	carer := slices.Contains(p.caller.Mode, proto.ModeForced)
	m.log.Info("call: control", "call", c.id, "caller", p.caller.ID, "control", ctl)
	switch {
	case ctl == proto.ControlExtend:
		if c.extends >= maxExtends {
			m.refuseControl(c, p, ctl, fmt.Sprintf("no more than %d extensions", maxExtends))
			return
		}
		c.extends++
		if c.ends.IsZero() {
			c.extra += proto.ExtendBy
		} else {
			c.ends = c.ends.Add(proto.ExtendBy)
			c.warned = false
		}
	case ctl == proto.ControlEnd:
		m.end(c, device.EndCallerHungUp, p.name, "ended by "+p.name)
		return
	case strings.HasPrefix(ctl, proto.ControlAdd):
		if p.call != c.id {
			m.refuseControl(c, p, ctl, "only the caller who started the call may add people")
			return
		}
		id := strings.TrimPrefix(ctl, proto.ControlAdd)
		if list, ok := m.opt.Auth.Allowlist(); !ok || !slices.ContainsFunc(list.Callers, func(a proto.AllowedCaller) bool { return a.ID == id }) {
			m.refuseControl(c, p, ctl, "cannot add "+id+": not on the allowlist")
			return
		}
		c.added[id] = true
		// Tell them, so their caller can join with this call's id.
		m.opt.Out.Reply(id, m.reply(proto.SignalJoin, c.id, func(r *proto.Reply) { r.From = p.name }))
	case !carer:
		m.refuseControl(c, p, ctl, "camera and microphone controls are for carers")
		return
	case ctl == proto.ControlCameraOff:
		c.cameraOff = true
	case ctl == proto.ControlCameraOn:
		c.cameraOff = false
	case ctl == proto.ControlMicOff:
		c.micOff = true
	case ctl == proto.ControlMicOn:
		c.micOff = false
	}
	m.updateGates(c)
	m.show(c)
}

// onDeadline acts on whatever deadline has passed.
// refuseControl logs an in-call control the caller may not give, and
// reports it upward (control_refused); the call goes on.
func (m *Manager) refuseControl(c *callState, p *peer, ctl, reason string) {
	m.log.Warn("call: control refused", "call", c.id, "caller", p.caller.ID, "control", ctl, "reason", reason)
	m.opt.Activity(Event{Type: "control_refused", Call: c.id, Caller: p.caller.ID, Mode: c.mode, Reason: reason + " (" + ctl + ")"})
}

func (m *Manager) onDeadline() {
	c := m.cur
	if c == nil {
		return
	}
	now := m.opt.Clock.Now()
	switch {
	case c.phase == device.CallEnded:
		if !now.Before(c.clearAt) {
			m.clear()
		}
		return
	case c.waiting != nil && !now.Before(c.waiting.at):
		w := c.waiting
		if c.silentFor(now, preemptAfter) {
			m.preempt(c, w.in, w.caller)
			return
		}
		c.waiting = nil
		m.busy(w.in, w.caller)
	case c.lostPeer(now) != nil:
		p := c.lostPeer(now)
		m.log.Info("call: participant's connection lost", "call", c.id, "participant", p.caller.ID,
			"disconnected_for", now.Sub(p.disconnectedAt).Round(time.Millisecond))
		m.dropPeer(c, p, device.EndLost, "lost the connection to "+p.name)
	case c.phase == device.CallAnnouncing && !now.Before(c.announceEnd):
		c.announced = true
		m.log.Info("call: announcement over, media flows", "call", c.id)
		if c.anyConnected() {
			m.activate(c)
		} else {
			m.setPhase(c, device.CallConnecting)
		}
		m.updateGates(c)
		m.show(c)
	case c.phase == device.CallRinging && now.Before(c.ringEnd) && !now.Before(c.nextRing):
		// A ring is a chime again and again, like a telephone's.
		m.opt.Media.Speaker().PlayChime(nil)
		c.nextRing = now.Add(ringEvery)
	case c.phase == device.CallRinging && !now.Before(c.ringEnd):
		c.announced = true
		m.setPhase(c, device.CallConnecting)
		c.connectBy = now.Add(m.opt.ConnectTimeout)
		if err := m.makeTracks(c); err != nil {
			m.end(c, device.EndNoConnect, "", err.Error())
			return
		}
		m.openCapture(c)
		for _, id := range c.order {
			if err := m.answer(c, c.peers[id]); err != nil {
				m.end(c, device.EndNoConnect, "", "could not answer: "+err.Error())
				return
			}
		}
		m.updateGates(c)
		m.show(c)
	case !c.connectBy.IsZero() && !now.Before(c.connectBy) && !c.anyConnected():
		m.end(c, device.EndNoConnect, "", "the call did not connect")
	case !c.ends.IsZero() && !now.Before(c.ends):
		m.end(c, device.EndTimeUp, "", "the call's time is up")
	case !c.warnAt().IsZero() && !now.Before(c.warnAt()) && !c.warned:
		c.warned = true
		m.log.Info("call: ends soon", "call", c.id, "ends", c.ends)
		m.show(c)
	}
}

// activate marks the call connected and starts its time limit.
func (m *Manager) activate(c *callState) {
	if c.phase == device.CallActive {
		return
	}
	now := m.opt.Clock.Now()
	m.setPhase(c, device.CallActive)
	c.connectBy = time.Time{}
	if c.ends.IsZero() {
		c.activeAt = now
		c.ends = now.Add(c.limit + c.extra)
	}
	m.log.Info("call: answered", "call", c.id, "caller", c.host, "mode", c.mode,
		"invite_to_connected_ms", now.Sub(c.invited).Milliseconds())
	m.opt.Activity(Event{Type: "call_answered", Call: c.id, Caller: c.host, Mode: c.mode, Reason: c.reason})
	m.show(c)
}

func (m *Manager) peerState(c *callState, p *peer, s webrtc.PeerConnectionState) {
	if m.cur != c || c.phase == device.CallEnded || c.peers[p.call] != p {
		return
	}
	m.log.Debug("call: peer state", "call", c.id, "participant", p.caller.ID, "state", s)
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.disconnectedAt = time.Time{}
		if p.connectedAt.IsZero() {
			p.connectedAt = m.opt.Clock.Now()
		}
		// Frames written before the connection were dropped: start the
		// picture with a keyframe rather than wait for the caller's PLI.
		if c.capture != nil && c.sendVideo.Load() {
			c.capture.RequestKeyframe()
		}
		if c.announced {
			m.activate(c)
		}
	case webrtc.PeerConnectionStateDisconnected:
		// Nothing heard for ICE's disconnected timeout: dropped as lost
		// if it lasts lostAfter more (onDeadline), so a caller whose
		// browser died is gone within seconds; a short gap heals.
		if p.disconnectedAt.IsZero() {
			p.disconnectedAt = m.opt.Clock.Now()
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		m.dropPeer(c, p, device.EndLost, "lost the connection to "+p.name)
	}
}

// dropPeer removes one participant; the call ends with the last one,
// for cause (about p).
func (m *Manager) dropPeer(c *callState, p *peer, cause device.EndCause, reason string) {
	if len(c.peers) <= 1 {
		m.end(c, cause, p.name, reason)
		return
	}
	m.log.Info("call: participant left", "call", c.id, "participant", p.caller.ID, "reason", reason)
	delete(c.peers, p.call)
	c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == p.call })
	m.opt.Out.Reply(p.caller.ID, m.reply(proto.SignalHangup, p.call, func(r *proto.Reply) { r.Reason = reason }))
	m.closePeers(c, p)
	m.show(c)
}

// end closes the call: tell every participant, close the peer connections
// (before the tracks: closing tracks first deadlocked), then the capture.
// cause is why, for the screen to word; who is the participant it is
// about (empty: the caller); reason is the same in English, for the log
// and the callers.
func (m *Manager) end(c *callState, cause device.EndCause, who, reason string) {
	if c.phase == device.CallEnded {
		return
	}
	now := m.opt.Clock.Now()
	wasActive := c.phase == device.CallActive
	if !wasActive {
		// Ended while announced or ringing: the chime and the caller's
		// greeting stop with it.
		m.opt.Media.Speaker().StopChime()
	}
	m.setPhase(c, device.CallEnded)
	c.endReason, c.endCause, c.endWho = reason, cause, who
	// The "Call ended" screen stays for the resident to read; callers
	// read the device available meanwhile (it gives way to the next call).
	c.clearAt = now.Add(m.opt.EndedShow)
	for _, id := range c.order {
		p := c.peers[id]
		m.opt.Out.Reply(p.caller.ID, m.reply(proto.SignalHangup, p.call, func(r *proto.Reply) { r.Reason = reason }))
	}
	m.show(c)
	st := Stats{Call: c.id, Answered: wasActive, EndReason: reason, VideoPacketsSent: c.videoSent.Load()}
	var all []*peer
	for _, id := range c.order {
		all = append(all, c.peers[id])
	}
	m.closePeers(c, all...)
	for _, id := range c.order {
		p := c.peers[id]
		st.VideoFramesDecoded += p.frames()
		st.AudioPackets += p.audioPackets.Load()
		if !p.connectedAt.IsZero() && st.ICEConnected == 0 {
			st.ICEConnected = p.connectedAt.Sub(p.invited)
		}
		if ff := p.firstFrame(); !ff.IsZero() && st.FirstFrame == 0 {
			st.FirstFrame = ff.Sub(p.invited)
		}
	}
	m.closeCapture(c)
	// The privacy light follows the camera: the ended screen went up
	// with it on (nothing was sent by then); now that the camera and
	// microphone are closed, it goes out.
	m.show(c)
	if wasActive {
		st.Duration = now.Sub(c.activeAt)
	}
	m.statsMu.Lock()
	m.last = st
	m.statsMu.Unlock()
	typ := "call_ended"
	if !wasActive {
		typ = "call_missed"
	}
	m.log.Info("call: ended", "call", c.id, "reason", reason, "answered", wasActive, "duration", st.Duration.Round(time.Millisecond))
	m.log.Info("call: stats", "call", c.id, "video_frames_decoded", st.VideoFramesDecoded, "audio_packets", st.AudioPackets,
		"video_packets_sent", st.VideoPacketsSent, "ice_connected_ms", st.ICEConnected.Milliseconds(), "first_frame_ms", st.FirstFrame.Milliseconds())
	m.opt.Activity(Event{Type: typ, Call: c.id, Caller: c.host, Mode: c.mode, Reason: reason, Duration: st.Duration})
	// A carer's forced call waiting for this one goes next: Run takes it
	// (takeWaiting) once the caller of end is done with c.
}

// clear returns the screen to the carousel after an ended call.
func (m *Manager) clear() {
	m.cur = nil
	m.opt.Live.SetCall("", device.CallNone)
	m.opt.Display.ShowCall(device.CallView{Phase: device.CallNone})
}

// show sends the call's view to the screen and its state to the callers.
func (m *Manager) show(c *callState) {
	devs := m.opt.Live.Get().Devices
	v := device.CallView{
		Phase: c.phase, Call: c.id, Forced: c.forced, Name: c.name, Reason: c.reason,
		Ends: c.ends, Warning: c.warned, EndReason: c.endReason, End: c.endCause, Picture: c.picture,
		// Shown from the moment the camera starts opening.
		CameraOn: !c.cameraOff && (c.capture != nil && c.capture.HasVideo() || c.opening && devs.Camera),
		MicOn:    !c.micOff && (c.capture != nil && c.capture.HasAudio() || c.opening && devs.Microphone),
	}
	for _, id := range c.order {
		p := c.peers[id]
		v.Participants = append(v.Participants, device.Participant{ID: p.caller.ID, Name: p.name})
	}
	switch c.phase {
	case device.CallAnnouncing:
		v.StartsAt = c.announceEnd
	case device.CallRinging:
		v.StartsAt = c.ringEnd
	case device.CallEnded:
		if c.endWho != "" {
			v.Name = c.endWho // the one the end is about: "Erik hung up"
		}
	}
	if c.phase != device.CallEnded {
		id := c.id
		v.Hangup = func() { m.Hangup(id) }
	}
	if c.phase == device.CallRinging {
		id := c.id
		v.Decline = func() { m.Decline(id) }
	}
	m.opt.Display.ShowCall(v)
	if c.phase == device.CallEnded {
		return
	}
	cam, mic := v.CameraOn, v.MicOn
	var who []string
	for _, p := range v.Participants {
		who = append(who, p.ID)
	}
	for _, id := range c.order {
		p := c.peers[id]
		m.opt.Out.Reply(p.caller.ID, m.reply(proto.SignalState, p.call, func(r *proto.Reply) {
			r.Phase, r.Ends, r.Camera, r.Mic, r.Participants = c.phase, c.ends, &cam, &mic, who
		}))
	}
}

// candidateJSON is a local candidate as callers read it.
func candidateJSON(c webrtc.ICECandidateInit) string {
	b, _ := json.Marshal(c) // plain fields: cannot fail
	return string(b)
}

// greetingLead is the chime and the pause before a greeting starts
// (media plays a 0.64 s chime and waits 0.2 s); greetingTail a breath after
// it before the camera's picture goes out.
const (
	greetingLead = 900 * time.Millisecond
	greetingTail = 300 * time.Millisecond
)

// announceFor is how long a forced call is announced: the configured time,
// or longer when the caller's greeting needs it, so the greeting is heard
// to its end before the call starts (the allowlist caps it at 5 s).
func announceFor(announce time.Duration, greeting []byte) time.Duration {
	if len(greeting) == 0 {
		return announce
	}
	g, err := proto.ParseGreeting(greeting)
	if err != nil {
		return announce // checked with the allowlist; the speaker logs it
	}
	return max(announce, greetingLead+g.Duration()+greetingTail)
}
