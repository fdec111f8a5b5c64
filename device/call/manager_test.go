package call

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"image"
	"runtime"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// These tests drive the Manager's timers with a fake clock; media are
// stand-ins (no camera here), and the caller never connects. The
// Pion-to-Pion calls with real media are in cmd/internal/caller.

type fakeMedia struct {
	opened, closed atomic.Int64
	chimes, stops  atomic.Int64
	// gate, when set, holds OpenCapture until it is closed; failOpen makes
	// it fail; hang, when set, keeps the capture's readers from returning
	// after Close until it is closed (a media stack stuck in closing).
	gate     chan struct{}
	failOpen error
	hang     chan struct{}
	// opening counts OpenCapture calls begun.
	opening atomic.Int64
	// greeting is what the last chime was given to play after it.
	greeting atomic.Pointer[[]byte]
}

type fakeCapture struct {
	m    *fakeMedia
	done chan struct{}
	once gosync.Once
}

func (c *fakeCapture) HasVideo() bool                 { return true }
func (c *fakeCapture) HasAudio() bool                 { return true }
func (c *fakeCapture) RequestKeyframe()               {}
func (c *fakeCapture) SelfFrames() <-chan image.Image { return nil }
func (c *fakeCapture) ReadVideo() (Sample, error)     { return c.read() }
func (c *fakeCapture) ReadAudio() (Sample, error)     { return c.read() }
func (c *fakeCapture) read() (Sample, error) {
	<-c.done
	if c.m.hang != nil {
		<-c.m.hang
	}
	return Sample{}, errors.New("closed")
}
func (c *fakeCapture) Close() error {
	c.once.Do(func() { close(c.done); c.m.closed.Add(1) })
	return nil
}

func (m *fakeMedia) OpenCapture() (Capture, error) {
	m.opening.Add(1)
	if m.gate != nil {
		<-m.gate
	}
	if m.failOpen != nil {
		return nil, m.failOpen
	}
	m.opened.Add(1)
	return &fakeCapture{m: m, done: make(chan struct{})}, nil
}
func (m *fakeMedia) NewVideoDecoder(func(image.Image), func()) VideoDecoder { return nopDecoder{} }
func (m *fakeMedia) Speaker() Speaker                                       { return (*chimeCounter)(m) }

type nopDecoder struct{}

func (nopDecoder) Push(*rtp.Packet)   {}
func (nopDecoder) FramesDecoded() int { return 0 }
func (nopDecoder) Close()             {}

type chimeCounter fakeMedia

func (c *chimeCounter) Push(string, []byte) {}
func (c *chimeCounter) RemoveStream(string) {}
func (c *chimeCounter) PlayChime(g []byte)  { c.chimes.Add(1); c.greeting.Store(&g) }
func (c *chimeCounter) StopChime()          { c.stops.Add(1) }

type views struct {
	mu gosync.Mutex
	v  []device.CallView
}

func (s *views) ShowCall(v device.CallView)      { s.mu.Lock(); s.v = append(s.v, v); s.mu.Unlock() }
func (s *views) RemoteFrame(string, image.Image) {}
func (s *views) SelfFrame(image.Image)           {}
func (s *views) last() device.CallView           { return lastOf(&s.mu, &s.v) }

// lastOf is the last of what was recorded in *s under mu, or the zero value.
func lastOf[T any](mu *gosync.Mutex, s *[]T) T {
	mu.Lock()
	defer mu.Unlock()
	var zero T
	if len(*s) == 0 {
		return zero
	}
	return (*s)[len(*s)-1]
}

type replies struct {
	mu    gosync.Mutex
	r     []proto.Reply
	avail []proto.Availability
}

func (o *replies) Reply(_ string, r proto.Reply) { o.mu.Lock(); o.r = append(o.r, r); o.mu.Unlock() }

// setAvailability records what device.PublishAvailability publishes.
func (o *replies) setAvailability(a proto.Availability) {
	o.mu.Lock()
	o.avail = append(o.avail, a)
	o.mu.Unlock()
}

func (o *replies) lastAvailability() proto.Availability { return lastOf(&o.mu, &o.avail) }
func (o *replies) lastReply() proto.Reply               { return lastOf(&o.mu, &o.r) }

// has reports whether a reply of type typ went to call.
func (o *replies) has(call, typ string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.ContainsFunc(o.r, func(r proto.Reply) bool { return r.Call == call && r.Type == typ })
}

func (o *replies) types() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, r := range o.r {
		out = append(out, r.Type)
	}
	return out
}

type timerRig struct {
	t     *testing.T
	clk   *clock.Fake
	m     *Manager
	live  *device.Live
	media Media
	fake  *fakeMedia
	scr   *views
	out   *replies
	anna  ed25519.PrivateKey
	bo    ed25519.PrivateKey // signalled only
	org   ed25519.PrivateKey // signs allowlists
	list  proto.Allowlist    // the allowlist installed
	// stop cancels Run; stopped is closed when it returned.
	stop    context.CancelFunc
	stopped chan struct{}

	mu     gosync.Mutex
	events []Event
}

// activity returns the activity events so far.
func (r *timerRig) activity() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newTimerRig(t *testing.T) *timerRig { return newTimerRigWith(t, nil) }

// newTimerRigWith lets set change the Manager's options first.
func newTimerRigWith(t *testing.T, set func(*Options)) *timerRig {
	orgPub, org, _ := ed25519.GenerateKey(nil)
	annaPub, anna, _ := ed25519.GenerateKey(nil)
	boPub, bo, _ := ed25519.GenerateKey(nil)
	clk := clock.NewFake(t0)
	auth, err := callauth.New(orgPub, clk)
	if err != nil {
		t.Fatal(err)
	}
	list := proto.Allowlist{V: 1, Serial: 1, Callers: []proto.AllowedCaller{
		{ID: "anna", Name: "Anna", Key: annaPub, Mode: []proto.CallMode{proto.ModeForced, proto.ModeSignalled}},
		{ID: "bo", Name: "Bo", Key: boPub, Mode: []proto.CallMode{proto.ModeSignalled}}}}
	list.Sig = ed25519.Sign(org, list.SigningBytes())
	fake := &fakeMedia{}
	live := device.NewLive(device.State{Devices: device.Devices{Camera: true, Microphone: true, Speaker: true}}, clk, time.UTC)
	r := &timerRig{t: t, clk: clk, live: live, media: fake, fake: fake, scr: &views{}, out: &replies{}, anna: anna, bo: bo,
		org: org, list: list, stopped: make(chan struct{})}
	opt := Options{Device: "mum", Auth: auth, Clock: clk, Display: r.scr, Out: r.out, Media: r.media, Live: live, Loopback: true,
		Activity: func(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }}
	if set != nil {
		set(&opt)
	}
	r.m, err = New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.m.SetAllowlist(list); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		device.PublishAvailability(ctx, live, clk, "mum", "Mum's kitchen", r.out.setAvailability)
	}()
	go func() { defer close(r.stopped); r.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.stopped; <-pubDone })
	return r
}

// offer is a real SDP offer with audio and video, from a Pion peer that
// never connects.
func offer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func (r *timerRig) invite(call string, mode proto.CallMode) {
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("anna", r.anna, call, mode)})
}

// signedInvite is an invite from caller signed with key.
func (r *timerRig) signedInvite(caller string, key ed25519.PrivateKey, call string, mode proto.CallMode) *proto.Invite {
	in := proto.Invite{V: 1, Type: proto.SignalInvite, Call: call, Device: "mum", Caller: caller, CallerName: caller,
		Mode: mode, Created: r.clk.Now(), Expires: r.clk.Now().Add(2 * time.Minute), Offer: offer(r.t)}
	in.Sig = ed25519.Sign(key, in.SigningBytes())
	return &in
}

// waitUntil waits (in real time, generously) until ok holds, for what
// the Manager's goroutines do without the fake clock.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *timerRig) waitPhase(p device.CallPhase) {
	r.t.Helper()
	waitUntil(r.t, "phase "+p.String(), func() bool { return r.scr.last().Phase == p })
}

// waitCount waits until n reads want; the camera opens and closes on
// goroutines of its own.
func waitCount(t *testing.T, what string, n *atomic.Int64, want int64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s = %d", what, want), func() bool { return n.Load() == want })
	if got := n.Load(); got != want {
		t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

// settle waits until the Run loop has acted on every deadline the fake
// clock has reached. A closure posted to the loop runs there between
// events, where it can see the deadline the loop aims its alarm at; while
// that is not after now, the alarm's fire is still to be handled.
func (r *timerRig) settle() {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		due := make(chan bool, 1)
		r.m.post(func() {
			next := r.m.refusals.next()
			if c := r.m.cur; c != nil {
				if d := c.nextDeadline(); next.IsZero() || (!d.IsZero() && d.Before(next)) {
					next = d
				}
			}
			due <- !next.IsZero() && !next.After(r.clk.Now())
		})
		select {
		case d := <-due:
			if !d {
				return
			}
		case <-r.m.done:
			r.t.Fatal("the Manager stopped")
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the Manager has not acted on a deadline due at %v", r.clk.Now())
		}
		runtime.Gosched()
	}
}

// advance moves the fake clock forward by d one deadline at a time, and
// lets the Manager act on each before the next: the fake alarm fires once
// however far the clock jumps, so two deadlines in one jump would merge.
func (r *timerRig) advance(d time.Duration) {
	r.t.Helper()
	target := r.clk.Now().Add(d)
	for {
		r.settle() // also: the alarm is aimed at the loop's next deadline
		p := r.clk.Pending()
		if len(p) == 0 || p[0].After(target) {
			r.clk.Set(target)
			r.settle()
			return
		}
		r.clk.Set(p[0])
	}
}

func TestSignalledRingsThenOpensTheCamera(t *testing.T) {
	r := newTimerRig(t)
	r.invite("c-1", proto.ModeSignalled)
	r.waitPhase(device.CallRinging)
	r.advance(9 * time.Second)
	if n := r.fake.opened.Load(); n != 0 {
		t.Fatalf("camera opened while ringing (%d)", n)
	}
	// A chime at the start and every 2.5 s: 0, 2.5, 5, 7.5.
	if n := r.fake.chimes.Load(); n != 4 {
		t.Fatalf("%d chimes in 9 s of ringing, want 4", n)
	}
	r.advance(1500 * time.Millisecond)
	r.waitPhase(device.CallConnecting)
	if n := r.fake.chimes.Load(); n != 4 {
		t.Fatalf("%d chimes by the ring's end, want 4 (none as it answers)", n)
	}
	waitCount(t, "cameras opened when the ring ended", &r.fake.opened, 1)
	// The caller never connects: abandoned 20 s later, camera closed.
	r.advance(21 * time.Second)
	r.waitPhase(device.CallEnded)
	if v := r.scr.last(); v.EndReason != "the call did not connect" {
		t.Fatalf("end reason %q", v.EndReason)
	}
	waitCount(t, "cameras closed after the abandoned call", &r.fake.closed, 1)
	r.advance(3 * time.Second)
	r.waitPhase(device.CallNone)
}

func TestForcedAnnouncesWithTheCameraOpen(t *testing.T) {
	r := newTimerRig(t)
	r.invite("c-1", proto.ModeForced)
	r.waitPhase(device.CallAnnouncing)
	if !r.scr.last().CameraOn {
		t.Fatal("the camera indicator is off during the announcement")
	}
	waitCount(t, "cameras opened during the announcement", &r.fake.opened, 1)
	// The answer goes out during the announcement, so ICE can connect
	// then: it is there while the fake clock stands at the invite, and
	// before any candidate.
	waitUntil(t, "an answer during the announcement", func() bool { return slices.Contains(r.out.types(), proto.SignalAnswer) })
	if ph := r.scr.last().Phase; ph != device.CallAnnouncing || !r.clk.Now().Equal(t0) {
		t.Fatalf("answered at %v in phase %v, want during the announcement", r.clk.Now(), ph)
	}
	if types := r.out.types(); types[0] != proto.SignalAnswer {
		t.Fatalf("replies %v: the answer goes first, candidates after it", types)
	}
	r.advance(5*time.Second - time.Millisecond)
	if ph := r.scr.last().Phase; ph != device.CallAnnouncing {
		t.Fatalf("phase %v a millisecond before the announcement's end, want %v", ph, device.CallAnnouncing)
	}
	r.advance(time.Millisecond)
	r.waitPhase(device.CallConnecting)
	if n := countOf(r.out.types(), proto.SignalAnswer); n != 1 {
		t.Fatalf("%d answers, want one: %v", n, r.out.types())
	}
	// A second invite meanwhile is told busy.
	r.invite("c-2", proto.ModeSignalled)
	// (Candidates of the first call may still trickle in after it.)
	waitUntil(t, "busy to the second invite", func() bool { return r.out.has("c-2", proto.SignalBusy) })
	if ph := r.scr.last().Phase; ph != device.CallConnecting {
		t.Fatalf("phase %v after a second invite, want the first call still %v", ph, device.CallConnecting)
	}
	// The resident's button ends it.
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	waitCount(t, "cameras closed after the hang-up", &r.fake.closed, 1)
}

// countOf counts the elements of s equal to v.
func countOf[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// waitAvailability waits (in real time, generously) for an availability
// that ok accepts.
func (r *timerRig) waitAvailability(what string, ok func(proto.Availability) bool) proto.Availability {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := r.out.lastAvailability()
		if ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("availability %+v, want %s", a, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isState(state proto.AvailabilityState, forced, signalled proto.Answer) func(proto.Availability) bool {
	return func(a proto.Availability) bool {
		return a.State == state && a.Answer[proto.ModeForced] == forced && a.Answer[proto.ModeSignalled] == signalled
	}
}

// While do-not-disturb is on, a signalled call is refused with its reason
// and logged, and a carer's forced call is still announced and answered.
func TestDNDRefusesSignalledAnswersForced(t *testing.T) {
	r := newTimerRig(t)
	r.live.SetDND(t0.Add(time.Hour))
	a := r.waitAvailability("do_not_disturb", isState("do_not_disturb", proto.AnswerAuto, proto.AnswerAsleep))
	if !a.DNDUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("dnd_until = %v, want %v", a.DNDUntil, t0.Add(time.Hour))
	}

	r.invite("c-1", proto.ModeSignalled)
	deadline := time.Now().Add(10 * time.Second)
	for r.out.lastReply().Type != proto.SignalRefused {
		if time.Now().After(deadline) {
			t.Fatalf("signalled call during do-not-disturb: replies %v, want refused", r.out.types())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rep := r.out.lastReply(); rep.Call != "c-1" || rep.Reason != proto.RefusedDND {
		t.Fatalf("refusal = %+v, want call c-1, reason %q", rep, proto.RefusedDND)
	}
	if ev := r.activity(); len(ev) != 1 || ev[0].Type != "call_refused" || ev[0].Reason != proto.RefusedDND || ev[0].Call != "c-1" {
		t.Fatalf("activity = %+v, want one call_refused %q", ev, proto.RefusedDND)
	}
	if n := r.fake.chimes.Load(); n != 0 || r.scr.last().Phase != device.CallNone {
		t.Fatalf("a refused call chimed %d times, screen %v", n, r.scr.last().Phase)
	}

	r.invite("c-2", proto.ModeForced)
	r.waitPhase(device.CallAnnouncing)
	// A call comes first; do-not-disturb is still told.
	a = r.waitAvailability("in_call", isState("in_call", proto.AnswerBusy, proto.AnswerBusy))
	if !a.DNDUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("during the call dnd_until = %v, want %v", a.DNDUntil, t0.Add(time.Hour))
	}
	if !slices.Contains(r.out.types(), proto.SignalAnswer) {
		t.Fatalf("the forced call was not answered: replies %v", r.out.types())
	}
	r.advance(1500 * time.Millisecond)
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	r.advance(3 * time.Second)
	r.waitPhase(device.CallNone)
	r.waitAvailability("do_not_disturb after the call", isState("do_not_disturb", proto.AnswerAuto, proto.AnswerAsleep))
}
