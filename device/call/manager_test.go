package call

import (
	"context"
	"crypto/ed25519"
	"errors"
	"image"
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
	chimes         atomic.Int64
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
func (c *fakeCapture) ReadVideo() (Sample, error)     { <-c.done; return Sample{}, errors.New("closed") }
func (c *fakeCapture) ReadAudio() (Sample, error)     { <-c.done; return Sample{}, errors.New("closed") }
func (c *fakeCapture) Close() error {
	c.once.Do(func() { close(c.done); c.m.closed.Add(1) })
	return nil
}

func (m *fakeMedia) OpenCapture() (Capture, error) {
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
func (c *chimeCounter) PlayChime()          { c.chimes.Add(1) }

type views struct {
	mu gosync.Mutex
	v  []device.CallView
}

func (s *views) ShowCall(v device.CallView)      { s.mu.Lock(); s.v = append(s.v, v); s.mu.Unlock() }
func (s *views) RemoteFrame(string, image.Image) {}
func (s *views) SelfFrame(image.Image)           {}
func (s *views) last() device.CallView {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.v) == 0 {
		return device.CallView{}
	}
	return s.v[len(s.v)-1]
}

type replies struct {
	mu gosync.Mutex
	r  []proto.Reply
}

func (o *replies) Reply(_ string, r proto.Reply)      { o.mu.Lock(); o.r = append(o.r, r); o.mu.Unlock() }
func (o *replies) SetAvailability(proto.Availability) {}
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
	media *fakeMedia
	scr   *views
	out   *replies
	anna  ed25519.PrivateKey
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newTimerRig(t *testing.T) *timerRig {
	orgPub, org, _ := ed25519.GenerateKey(nil)
	annaPub, anna, _ := ed25519.GenerateKey(nil)
	clk := clock.NewFake(t0)
	auth, err := callauth.New(orgPub, clk)
	if err != nil {
		t.Fatal(err)
	}
	list := proto.Allowlist{V: 1, Serial: 1, Callers: []proto.AllowedCaller{{ID: "anna", Name: "Anna", Key: annaPub,
		Mode: []proto.CallMode{proto.ModeForced, proto.ModeSignalled}}}}
	list.Sig = ed25519.Sign(org, list.SigningBytes())
	r := &timerRig{t: t, clk: clk, media: &fakeMedia{}, scr: &views{}, out: &replies{}, anna: anna}
	r.m, err = New(Options{Device: "mum", Auth: auth, Clock: clk, Display: r.scr, Out: r.out, Media: r.media,
		HasCamera: true, HasMicrophone: true, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.SetAllowlist(list); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
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
	in := proto.Invite{V: 1, Type: proto.SignalInvite, Call: call, Device: "mum", Caller: "anna", CallerName: "Anna",
		Mode: mode, Created: r.clk.Now(), Expires: r.clk.Now().Add(2 * time.Minute), Offer: offer(r.t)}
	in.Sig = ed25519.Sign(r.anna, in.SigningBytes())
	r.m.Deliver(proto.CallIn{Invite: &in})
}

func (r *timerRig) waitPhase(p device.CallPhase) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.scr.last().Phase != p {
		if time.Now().After(deadline) {
			r.t.Fatalf("phase %v, want %v", r.scr.last().Phase, p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// advance moves the fake clock in small steps, letting the loop run.
func (r *timerRig) advance(d time.Duration) {
	for step := 250 * time.Millisecond; d > 0; d -= step {
		r.clk.Advance(min(step, d))
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSignalledRingsThenOpensTheCamera(t *testing.T) {
	r := newTimerRig(t)
	r.invite("c-1", proto.ModeSignalled)
	r.waitPhase(device.CallRinging)
	r.advance(9 * time.Second)
	if n := r.media.opened.Load(); n != 0 {
		t.Fatalf("camera opened while ringing (%d)", n)
	}
	// A chime at the start and every 2.5 s: 0, 2.5, 5, 7.5.
	if n := r.media.chimes.Load(); n != 4 {
		t.Fatalf("%d chimes in 9 s of ringing, want 4", n)
	}
	r.advance(1500 * time.Millisecond)
	r.waitPhase(device.CallConnecting)
	deadline := time.Now().Add(5 * time.Second)
	for r.media.opened.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("camera not opened when the ring ended")
		}
		time.Sleep(2 * time.Millisecond)
	}
	// The caller never connects: abandoned 20 s later, camera closed.
	r.advance(21 * time.Second)
	r.waitPhase(device.CallEnded)
	if v := r.scr.last(); v.EndReason != "the call did not connect" {
		t.Fatalf("end reason %q", v.EndReason)
	}
	if r.media.closed.Load() != 1 {
		t.Fatal("camera not closed after the abandoned call")
	}
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
	deadline := time.Now().Add(5 * time.Second)
	for r.media.opened.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the camera did not open during the announcement")
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.advance(4 * time.Second)
	if r.scr.last().Phase != device.CallAnnouncing {
		t.Fatal("announcement ended before 5 s")
	}
	r.advance(1500 * time.Millisecond)
	r.waitPhase(device.CallConnecting)
	// The answer went out during the announcement, so ICE can connect then.
	types := r.out.types()
	if len(types) == 0 || types[0] != proto.SignalAnswer {
		t.Fatalf("replies %v: the answer goes first, candidates after it", types)
	}
	var answered bool
	for _, ty := range types {
		answered = answered || ty == proto.SignalAnswer
	}
	if !answered {
		t.Fatalf("no answer during the announcement: %v", types)
	}
	// A second invite meanwhile is told busy.
	r.invite("c-2", proto.ModeSignalled)
	deadline = time.Now().Add(5 * time.Second)
	for {
		ts := r.out.types()
		if ts[len(ts)-1] == proto.SignalBusy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second invite: %v", ts)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The resident's button ends it.
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	if r.media.closed.Load() != 1 {
		t.Fatal("camera not closed")
	}
}
