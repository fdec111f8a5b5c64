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
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// ringEvery is how often a ringing call chimes.
const ringEvery = 2500 * time.Millisecond

// Outbox is how the call talks upward; the MQTT link implements it.
type Outbox interface {
	// Reply sends r to one caller (call/out/{caller}); best effort.
	Reply(caller string, r proto.Reply)
	// SetAvailability publishes the device's availability, retained; the
	// link republishes the latest one after every reconnect.
	SetAvailability(a proto.Availability)
}

// Event is one entry for the device's activity log.
type Event struct {
	Type   string // call_answered, call_ended, call_refused, call_missed, call_busy
	Call   string
	Caller string
	Mode   proto.CallMode
	Reason string
	// Duration of an ended call, from answer to end.
	Duration time.Duration
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
	Logger  *slog.Logger
	// Activity receives calls and refusals for the activity log.
	Activity func(Event)
	// HasCamera and HasMicrophone are what the device found at start.
	HasCamera, HasMicrophone bool
	// Night reports whether t is in the night hours (calls still wake the
	// screen; availability says "night").
	Night func(t time.Time) bool
	// DND reports whether do-not-disturb is on at t, and until when. While
	// it is, signalled calls are refused and forced ones answered; at its
	// end the availability is published again.
	DND func(t time.Time) (until time.Time, on bool)

	Announce       time.Duration // forced: chime and notice before video, default 5s
	Ring           time.Duration // signalled: ring before answering, default 10s
	ConnectTimeout time.Duration // answer to media flowing, default 20s
	Limit          time.Duration // a call's length unless the invite says, default 30m
	Warn           time.Duration // warning before the end, default 5m
	EndedShow      time.Duration // "Call ended" before the carousel, default 3s

	// ICEServers are STUN/TURN servers; none on a LAN or loopback.
	ICEServers []webrtc.ICEServer
	// Loopback lets ICE use 127.0.0.1 (tests, and a caller on the device).
	Loopback bool
}

// Manager answers calls. Deliver gives it what arrived; Run owns the call.
type Manager struct {
	opt    Options
	log    *slog.Logger
	api    *webrtc.API
	in     chan proto.CallIn
	events chan func()
	hangup chan string

	cur   *callState // owned by Run
	alarm clock.Alarm
	// shownDND is the do-not-disturb end in the availability last
	// published (zero: off); owned by Run, which publishes again then.
	shownDND time.Time
	done     chan struct{} // closed when Run returns
	// statsMu guards last, for tests and status.
	statsMu gosync.Mutex
	last    Stats
}

// New checks opt and prepares Pion.
func New(opt Options) (*Manager, error) {
	switch {
	case !proto.ValidID(opt.Device):
		return nil, fmt.Errorf("call: device id %q is not valid", opt.Device)
	case opt.Auth == nil || opt.Display == nil || opt.Out == nil || opt.Media == nil:
		return nil, errors.New("call: Auth, Display, Out and Media are required")
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
	api, err := NewAPI(opt.Loopback)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opt:    opt,
		log:    opt.Logger.With("component", "call"),
		api:    api,
		in:     make(chan proto.CallIn, 256),
		events: make(chan func(), 256),
		hangup: make(chan string, 1),
		done:   make(chan struct{}),
	}
	m.alarm.Clock = opt.Clock
	return m, nil
}

// Deliver hands the Manager a message from call/in. It never blocks: when
// the queue is full (a flood) the message is dropped and logged.
func (m *Manager) Deliver(msg proto.CallIn) {
	select {
	case m.in <- msg:
	default:
		m.log.Warn("call: queue full, message dropped")
	}
}

// post runs fn on the Run goroutine (for Pion's callbacks).
func (m *Manager) post(fn func()) {
	select {
	case m.events <- fn:
	case <-m.done:
	}
}

// Hangup ends the current call from the device (the resident's button).
func (m *Manager) Hangup(call string) {
	select {
	case m.hangup <- call:
	default:
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
func (m *Manager) Run(ctx context.Context) error {
	defer close(m.done)
	m.publishAvailability()
	for {
		var wake <-chan time.Time
		now := m.opt.Clock.Now()
		if m.cur != nil {
			wake = m.alarm.At(now, m.cur.nextDeadline())
		} else if !m.shownDND.IsZero() {
			// Do-not-disturb ends by itself: say so when it does. Aimed at
			// what was published, so an end that passed meanwhile fires at
			// once. (During a call, clearing it publishes anyway.)
			wake = m.alarm.At(now, m.shownDND)
		} else {
			m.alarm.Stop()
		}
		select {
		case <-ctx.Done():
			if m.cur != nil {
				m.end(m.cur, "the device is shutting down")
				m.clear()
			}
			m.alarm.Stop()
			return nil
		case msg := <-m.in:
			switch {
			case msg.Invite != nil:
				m.onInvite(*msg.Invite)
			case msg.Signal != nil:
				m.onSignal(*msg.Signal)
			}
		case fn := <-m.events:
			fn()
		case id := <-m.hangup:
			if c := m.cur; c != nil && c.id == id && c.phase != device.CallEnded {
				m.end(c, "ended on the device")
			}
		case <-wake:
			if m.cur == nil {
				m.publishAvailability() // do-not-disturb is over
				continue
			}
			m.onDeadline()
		}
	}
}

// dnd reports whether do-not-disturb is on at t, and until when.
func (m *Manager) dnd(t time.Time) (time.Time, bool) {
	if m.opt.DND == nil {
		return time.Time{}, false
	}
	until, on := m.opt.DND(t)
	return until, on && t.Before(until)
}

// Refresh republishes availability (night hours began or ended,
// do-not-disturb was set).
func (m *Manager) Refresh() { m.post(m.publishAvailability) }

// SetDevices says which of camera and microphone the device has now (a USB
// camera unplugged, or plugged back): availability follows at once, and
// the next call uses what there is.
func (m *Manager) SetDevices(camera, microphone bool) {
	m.post(func() {
		if m.opt.HasCamera == camera && m.opt.HasMicrophone == microphone {
			return
		}
		m.opt.HasCamera, m.opt.HasMicrophone = camera, microphone
		m.publishAvailability()
	})
}

// SetAllowlist installs a new allowlist and republishes availability.
func (m *Manager) SetAllowlist(a proto.Allowlist) error {
	if err := m.opt.Auth.SetAllowlist(a); err != nil {
		return err
	}
	m.post(m.publishAvailability)
	return nil
}

func (m *Manager) refuse(in proto.Invite, reason string, err error) {
	m.log.Warn("call: refused", "call", in.Call, "caller", in.Caller, "mode", in.Mode, "reason", reason, "err", err)
	m.opt.Activity(Event{Type: "call_refused", Call: in.Call, Caller: in.Caller, Mode: in.Mode, Reason: reason})
	if errors.Is(err, callauth.ErrReplayed) {
		// The call id belongs to a genuine call: a refusal sent to it would
		// let whoever replayed the invite end that call.
		return
	}
	m.opt.Out.Reply(in.Caller, m.reply(proto.SignalRefused, in.Call, func(r *proto.Reply) { r.Reason = reason }))
}

func (m *Manager) reply(typ, call string, fill func(*proto.Reply)) proto.Reply {
	r := proto.Reply{V: proto.Version, Type: typ, Call: call, Device: m.opt.Device, Time: m.opt.Clock.Now().UTC()}
	if fill != nil {
		fill(&r)
	}
	return r
}

func (m *Manager) onInvite(in proto.Invite) {
	caller, err := m.opt.Auth.Check(in)
	if err != nil {
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
			m.busy(in)
		default:
			m.join(c, in, caller)
		}
		return
	}
	if c != nil && c.phase != device.CallEnded {
		m.busy(in)
		return
	}
	// Do-not-disturb keeps out all but a carer's forced call.
	if _, on := m.dnd(m.opt.Clock.Now()); on && in.Mode != proto.ModeForced {
		m.refuse(in, proto.RefusedDND, nil)
		return
	}
	if c != nil {
		m.clear() // "Call ended" gives way to the next call at once
	}
	m.start(in, caller)
}

func (m *Manager) busy(in proto.Invite) {
	m.log.Info("call: busy", "call", in.Call, "caller", in.Caller)
	m.opt.Out.Reply(in.Caller, m.reply(proto.SignalBusy, in.Call, func(r *proto.Reply) { r.Reason = "busy" }))
	m.opt.Activity(Event{Type: "call_busy", Call: in.Call, Caller: in.Caller, Mode: in.Mode})
}

// start begins a call: forced calls announce and open the camera at once,
// signalled ones ring first.
func (m *Manager) start(in proto.Invite, caller proto.AllowedCaller) {
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
		peers: map[string]*peer{},
	}
	p := &peer{call: in.Call, caller: caller, name: name, offer: in.Offer, invited: now}
	c.peers[in.Call] = p
	c.order = append(c.order, in.Call)
	m.cur = c
	m.log.Info("call: incoming", "call", c.id, "caller", caller.ID, "name", name, "mode", in.Mode, "reason", in.Reason)
	if c.forced {
		c.phase = device.CallAnnouncing
		c.announceEnd = now.Add(m.opt.Announce)
		// The answer goes out at once and the camera opens during the
		// announcement, so picture and connection are ready when it ends;
		// nothing is sent until then.
		if err := m.makeTracks(c); err != nil {
			m.end(c, err.Error())
			return
		}
		m.openCapture(c)
		if err := m.answer(c, p); err != nil {
			m.end(c, "could not answer: "+err.Error())
			return
		}
		// The chime after the answer: opening the speaker is not on the
		// caller's way to a connection (a few ms; nobody hears the gap).
		m.opt.Media.Speaker().PlayChime()
		c.connectBy = c.announceEnd.Add(m.opt.ConnectTimeout)
	} else {
		m.opt.Media.Speaker().PlayChime()
		c.phase = device.CallRinging
		c.ringEnd = now.Add(m.opt.Ring)
		c.nextRing = now.Add(ringEvery)
	}
	m.show(c)
	m.publishAvailability()
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
			m.dropPeer(c, p, "could not answer")
			return
		}
	}
	m.show(c)
}

func (m *Manager) onSignal(s proto.Signal) {
	caller, err := m.opt.Auth.CheckSignal(s)
	if err != nil {
		// Debug: a refused caller's trickled candidates would flood the log;
		// its invite's refusal is logged already.
		m.log.Debug("call: signal refused", "type", s.Type, "call", s.Call, "caller", s.Caller, "err", err)
		return
	}
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
			p.pending = append(p.pending, init) // early: kept until the answer
			return
		}
		if err := p.pc.AddICECandidate(init); err != nil {
			m.log.Warn("call: add candidate", "call", s.Call, "err", err)
		}
	case proto.SignalHangup:
		m.log.Info("call: remote hangup", "call", s.Call, "caller", caller.ID)
		m.dropPeer(c, p, p.name+" hung up")
	case proto.SignalControl:
		m.control(c, p, s.Data)
	}
}

func (m *Manager) control(c *callState, p *peer, ctl string) {
	carer := slices.Contains(p.caller.Mode, proto.ModeForced)
	m.log.Info("call: control", "call", c.id, "caller", p.caller.ID, "control", ctl)
	switch {
	case ctl == proto.ControlExtend:
		if c.ends.IsZero() {
			c.extra += proto.ExtendBy
		} else {
			c.ends = c.ends.Add(proto.ExtendBy)
			c.warned = false
		}
	case ctl == proto.ControlEnd:
		m.end(c, "ended by "+p.name)
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
	case c.phase == device.CallAnnouncing && !now.Before(c.announceEnd):
		c.announced = true
		m.log.Info("call: announcement over, media flows", "call", c.id)
		if c.anyConnected() {
			m.activate(c)
		} else {
			c.phase = device.CallConnecting
		}
		m.updateGates(c)
		m.show(c)
	case c.phase == device.CallRinging && now.Before(c.ringEnd) && !now.Before(c.nextRing):
		// A ring is a chime again and again, like a telephone's.
		m.opt.Media.Speaker().PlayChime()
		c.nextRing = now.Add(ringEvery)
	case c.phase == device.CallRinging && !now.Before(c.ringEnd):
		c.announced = true
		c.phase = device.CallConnecting
		c.connectBy = now.Add(m.opt.ConnectTimeout)
		if err := m.makeTracks(c); err != nil {
			m.end(c, err.Error())
			return
		}
		m.openCapture(c)
		for _, id := range c.order {
			if err := m.answer(c, c.peers[id]); err != nil {
				m.end(c, "could not answer: "+err.Error())
				return
			}
		}
		m.updateGates(c)
		m.show(c)
	case !c.connectBy.IsZero() && !now.Before(c.connectBy) && !c.anyConnected():
		m.end(c, "the call did not connect")
	case !c.ends.IsZero() && !now.Before(c.ends):
		m.end(c, "the call's time is up")
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
	c.phase = device.CallActive
	c.connectBy = time.Time{}
	if c.ends.IsZero() {
		c.activeAt = now
		c.ends = now.Add(c.limit + c.extra)
	}
	m.log.Info("call: answered", "call", c.id, "caller", c.host, "mode", c.mode,
		"invite_to_connected_ms", now.Sub(c.invited).Milliseconds())
	m.opt.Activity(Event{Type: "call_answered", Call: c.id, Caller: c.host, Mode: c.mode, Reason: c.reason})
	m.show(c)
	m.publishAvailability()
}

func (m *Manager) peerState(c *callState, p *peer, s webrtc.PeerConnectionState) {
	if m.cur != c || c.phase == device.CallEnded || c.peers[p.call] != p {
		return
	}
	m.log.Debug("call: peer state", "call", c.id, "participant", p.caller.ID, "state", s)
	switch s {
	case webrtc.PeerConnectionStateConnected:
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
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		m.dropPeer(c, p, "lost the connection to "+p.name)
	}
}

// dropPeer removes one participant; the call ends with the last one.
func (m *Manager) dropPeer(c *callState, p *peer, reason string) {
	if len(c.peers) <= 1 {
		m.end(c, reason)
		return
	}
	m.log.Info("call: participant left", "call", c.id, "participant", p.caller.ID, "reason", reason)
	delete(c.peers, p.call)
	c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == p.call })
	m.opt.Out.Reply(p.caller.ID, m.reply(proto.SignalHangup, p.call, func(r *proto.Reply) { r.Reason = reason }))
	m.closePeer(c, p)
	m.show(c)
}

// end closes the call: tell every participant, close the peer connections
// (before the tracks: closing tracks first deadlocked), then the capture.
func (m *Manager) end(c *callState, reason string) {
	if c.phase == device.CallEnded {
		return
	}
	now := m.opt.Clock.Now()
	wasActive := c.phase == device.CallActive
	c.phase = device.CallEnded
	c.endReason = reason
	c.clearAt = now.Add(m.opt.EndedShow)
	for _, id := range c.order {
		p := c.peers[id]
		m.opt.Out.Reply(p.caller.ID, m.reply(proto.SignalHangup, p.call, func(r *proto.Reply) { r.Reason = reason }))
	}
	m.show(c)
	st := Stats{Call: c.id, Answered: wasActive, EndReason: reason, VideoPacketsSent: c.videoSent.Load()}
	for _, id := range c.order {
		p := c.peers[id]
		m.closePeer(c, p)
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
	m.publishAvailability()
}

// clear returns the screen to the carousel after an ended call.
func (m *Manager) clear() {
	m.cur = nil
	m.opt.Display.ShowCall(device.CallView{Phase: device.CallNone})
	m.publishAvailability()
}

// show sends the call's view to the screen and its state to the callers.
func (m *Manager) show(c *callState) {
	v := device.CallView{
		Phase: c.phase, Call: c.id, Forced: c.forced, Name: c.name, Reason: c.reason,
		Ends: c.ends, Warning: c.warned, EndReason: c.endReason,
		// Shown from the moment the camera starts opening.
		CameraOn: !c.cameraOff && (c.capture != nil && c.capture.HasVideo() || c.opening && m.opt.HasCamera),
		MicOn:    !c.micOff && (c.capture != nil && c.capture.HasAudio() || c.opening && m.opt.HasMicrophone),
	}
	for _, id := range c.order {
		p := c.peers[id]
		v.Participants = append(v.Participants, device.Participant{ID: p.caller.ID, Name: p.name})
	}
	if c.phase != device.CallEnded {
		id := c.id
		v.Hangup = func() { m.Hangup(id) }
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
			r.Phase, r.Ends, r.Camera, r.Mic, r.Participants = c.phase.String(), c.ends, &cam, &mic, who
		}))
	}
}

func (m *Manager) publishAvailability() {
	a := proto.Availability{V: proto.Version, Device: m.opt.Device, Name: m.opt.Name, Time: m.opt.Clock.Now().UTC(),
		Camera: m.opt.HasCamera, Microphone: m.opt.HasMicrophone,
		Answer: map[proto.CallMode]string{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerRings}}
	until, dnd := m.dnd(a.Time)
	if dnd {
		a.DNDUntil = until.UTC()
	}
	m.shownDND = a.DNDUntil
	switch {
	case m.cur != nil && m.cur.phase == device.CallRinging:
		a.State = "ringing"
	case m.cur != nil:
		a.State = "in_call"
	case dnd:
		a.State = "do_not_disturb"
		a.Answer[proto.ModeSignalled] = proto.AnswerAsleep
	case m.opt.Night != nil && m.opt.Night(m.opt.Clock.Now()):
		a.State = "night"
	case !m.opt.HasCamera:
		a.State = "camera_missing"
	case !m.opt.HasMicrophone:
		a.State = "microphone_missing"
	default:
		a.State = "available"
	}
	if m.cur != nil {
		a.Answer = map[proto.CallMode]string{proto.ModeForced: proto.AnswerBusy, proto.ModeSignalled: proto.AnswerBusy}
	}
	if _, ok := m.opt.Auth.Allowlist(); !ok {
		a.State = "no_allowlist"
		a.Answer = map[proto.CallMode]string{proto.ModeForced: proto.AnswerNone, proto.ModeSignalled: proto.AnswerNone}
	}
	if !m.opt.HasCamera && !m.opt.HasMicrophone {
		a.State = "no_camera_or_microphone"
		a.Answer = map[proto.CallMode]string{proto.ModeForced: proto.AnswerNone, proto.ModeSignalled: proto.AnswerNone}
	}
	m.opt.Out.SetAvailability(a)
}

// candidateJSON is a local candidate as callers read it.
func candidateJSON(c webrtc.ICECandidateInit) string {
	b, _ := json.Marshal(c) // plain fields: cannot fail
	return string(b)
}
