package call

import (
	"bytes"
	"crypto/ed25519"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/sync/proto"
)

// These tests are about what the resident and the callers are told: the
// ringing call that can be declined, why a call ended, the call that met
// another, the picture and the greeting.

// hangupSignal delivers caller's hangup of call, signed with key.
func (r *timerRig) hangupSignal(caller string, key ed25519.PrivateKey, call string) {
	s := proto.Signal{V: 1, Type: proto.SignalHangup, Call: call, Device: "mum", Caller: caller, Time: r.clk.Now()}
	s.Sig = ed25519.Sign(key, s.SigningBytes())
	r.m.Deliver(proto.CallIn{Signal: &s})
}

// reply returns the reply of type typ to call, waiting for it.
func (r *timerRig) reply(call, typ string) proto.Reply {
	r.t.Helper()
	waitUntil(r.t, typ+" to "+call, func() bool { return r.out.has(call, typ) })
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	for _, rep := range r.out.r {
		if rep.Call == call && rep.Type == typ {
			return rep
		}
	}
	return proto.Reply{}
}

// event returns the first activity event of type typ for call, waiting
// for it.
func (r *timerRig) event(call, typ string) Event {
	r.t.Helper()
	var ev Event
	waitUntil(r.t, typ+" of "+call, func() bool {
		i := slices.IndexFunc(r.activity(), func(e Event) bool { return e.Call == call && e.Type == typ })
		if i >= 0 {
			ev = r.activity()[i]
		}
		return i >= 0
	})
	return ev
}

// TestRingingCountsDownAndDeclines: a ringing call says when it answers
// by itself and can be declined; its caller reads why, and the resident's
// log has it as missed. The camera never opens.
func TestRingingCountsDownAndDeclines(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-1", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	v := r.scr.last()
	if want := t0.Add(10 * time.Second); !v.StartsAt.Equal(want) {
		t.Errorf("ringing StartsAt = %v, want %v", v.StartsAt, want)
	}
	if v.Decline == nil || v.Hangup == nil {
		t.Fatal("a ringing call without Decline or Hangup")
	}
	r.advance(3 * time.Second)
	r.scr.last().Decline()
	r.waitPhase(device.CallEnded)
	if v := r.scr.last(); v.End != device.EndNoAnswer || v.EndReason != ReasonDeclined || v.Decline != nil || v.Hangup != nil {
		t.Errorf("after Not now: End %v reason %q decline %v hangup %v, want EndNoAnswer %q and nothing to touch",
			v.End, v.EndReason, v.Decline != nil, v.Hangup != nil, ReasonDeclined)
	}
	if rep := r.reply("c-1", proto.SignalHangup); rep.Reason != ReasonDeclined {
		t.Errorf("the caller reads hangup %q, want %q", rep.Reason, ReasonDeclined)
	}
	if e := r.event("c-1", "call_missed"); e.Caller != "bo" || e.Reason != ReasonDeclined {
		t.Errorf("activity %+v, want call_missed by bo, %q", e, ReasonDeclined)
	}
	if n := r.fake.opened.Load(); n != 0 {
		t.Errorf("the camera opened %d times for a declined call", n)
	}
}

// TestDeclineAfterTheRingEnds: Not now touched as the ring ended ends the
// call like End.
func TestDeclineAfterTheRingEnds(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-1", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	decline := r.scr.last().Decline
	r.advance(10 * time.Second)
	r.waitPhase(device.CallConnecting)
	if r.scr.last().Decline != nil {
		t.Error("Decline offered past the ring")
	}
	decline()
	r.waitPhase(device.CallEnded)
	if v := r.scr.last(); v.End != device.EndResident || v.EndReason != ReasonOnDevice {
		t.Errorf("End %v reason %q, want EndResident %q", v.End, v.EndReason, ReasonOnDevice)
	}
}

// TestEndCauses: every way the Manager ends a call tells the screen why,
// and names whom it is about.
func TestEndCauses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		do     func(r *timerRig)
		cause  device.EndCause
		reason string
		who    string
	}{
		{"resident", func(r *timerRig) { r.scr.last().Hangup() }, device.EndResident, ReasonOnDevice, "bo"},
		{"caller", func(r *timerRig) { r.hangupSignal("bo", r.bo, "c-1") }, device.EndCallerHungUp, "bo hung up", "bo"},
		{"no connection", func(r *timerRig) { r.advance(31 * time.Second) }, device.EndNoConnect, "the call did not connect", "bo"},
		{"shutdown", func(r *timerRig) { r.stop() }, device.EndShutdown, ReasonShutdown, "bo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTimerRig(t)
			r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-1", proto.ModeSignalled)})
			r.waitPhase(device.CallRinging)
			r.advance(10 * time.Second)
			r.waitPhase(device.CallConnecting)
			tc.do(r)
			var v device.CallView
			waitUntil(t, "the ended screen", func() bool {
				all := lastAll(r.scr)
				i := slices.IndexFunc(all, func(v device.CallView) bool { return v.Phase == device.CallEnded })
				if i >= 0 {
					v = all[i]
				}
				return i >= 0
			})
			if v.End != tc.cause || v.EndReason != tc.reason || v.Name != tc.who {
				t.Errorf("ended: cause %v reason %q name %q, want %v %q %q", v.End, v.EndReason, v.Name, tc.cause, tc.reason, tc.who)
			}
		})
	}
}

// TestBusyIsAMissedCall: a call that meets another is missed, for the
// resident's list of today's calls; a carer reads whom the device is busy
// with since when, family only that it is busy.
func TestBusyIsAMissedCall(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-bo", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	r.advance(2 * time.Second)
	// Anna may call forced: she is a carer.
	r.invite("c-anna", proto.ModeSignalled)
	rep := r.reply("c-anna", proto.SignalBusy)
	if rep.Reason != ReasonBusy || rep.With != "bo" || !rep.Since.Equal(t0) {
		t.Errorf("busy to a carer = reason %q with %q since %v, want %q, bo, %v", rep.Reason, rep.With, rep.Since, ReasonBusy, t0)
	}
	if e := r.event("c-anna", "call_missed"); e.Caller != "anna" || e.Reason != ReasonBusy {
		t.Errorf("activity %+v, want call_missed by anna, busy", e)
	}
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	if n := r.fake.stops.Load(); n != 1 {
		t.Errorf("the greeting was stopped %d times when the resident ended the announced call, want 1", n)
	}
	r.advance(3 * time.Second)
	r.waitPhase(device.CallNone)

	// Now Anna's call holds the device and Bo, family, meets it.
	r.invite("c-anna2", proto.ModeForced)
	r.waitPhase(device.CallAnnouncing)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-bo2", proto.ModeSignalled)})
	rep = r.reply("c-bo2", proto.SignalBusy)
	if rep.Reason != ReasonBusy || rep.With != "" || !rep.Since.IsZero() {
		t.Errorf("busy to family = reason %q with %q since %v, want only %q", rep.Reason, rep.With, rep.Since, ReasonBusy)
	}
	if e := r.event("c-bo2", "call_missed"); e.Caller != "bo" || e.Reason != ReasonBusy {
		t.Errorf("activity %+v, want call_missed by bo, busy", e)
	}
	if slices.ContainsFunc(r.activity(), func(e Event) bool { return e.Type == "call_busy" }) {
		t.Error("a call_busy event: busy calls are call_missed")
	}
}

// TestWakeBeforeTheFirstScreen: the display is woken before a call shows
// anything or chimes, once per call.
func TestWakeBeforeTheFirstScreen(t *testing.T) {
	type wake struct {
		shown  int
		chimes int64
	}
	var mu gosync.Mutex
	var wakes []wake
	var r *timerRig
	r = newTimerRigWith(t, func(o *Options) {
		o.Wake = func() {
			r.scr.mu.Lock()
			n := len(r.scr.v)
			r.scr.mu.Unlock()
			mu.Lock()
			wakes = append(wakes, wake{n, r.fake.chimes.Load()})
			mu.Unlock()
		}
	})
	for i, mode := range []proto.CallMode{proto.ModeForced, proto.ModeSignalled} {
		before := len(lastAll(r.scr))
		r.invite("c-"+string(mode), mode)
		r.waitPhase([]device.CallPhase{device.CallAnnouncing, device.CallRinging}[i])
		mu.Lock()
		got := slices.Clone(wakes)
		mu.Unlock()
		if len(got) != i+1 || got[i].shown != before || got[i].chimes != int64(i) {
			t.Errorf("%s: wakes %+v, want call %d's before its first screen (%d shown) and chime", mode, got, i+1, before)
		}
		r.scr.last().Hangup()
		r.waitPhase(device.CallEnded)
		r.advance(3 * time.Second)
		r.waitPhase(device.CallNone)
	}
}

// lastAll is every view shown so far.
func lastAll(s *views) []device.CallView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.v)
}

func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 0x80, A: 0xFF})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPictureAndGreeting: a forced call shows the caller's picture, made
// screen-sized, and plays their greeting after the chime; a bad picture
// is left out and the call goes on.
func TestPictureAndGreeting(t *testing.T) {
	r := newTimerRig(t)
	list := r.list
	list.Serial = 2
	list.Callers = slices.Clone(list.Callers)
	list.Callers[0].Picture = jpegOf(t, 1200, 900)
	list.Callers[0].Greeting = []byte("OggS greeting")
	list.Callers[1].Picture = []byte("not a jpeg")
	list.Sig = ed25519.Sign(r.org, list.SigningBytes())
	if err := r.m.SetAllowlist(list); err != nil {
		t.Fatal(err)
	}
	r.invite("c-1", proto.ModeForced)
	r.waitPhase(device.CallAnnouncing)
	v := r.scr.last()
	if v.Picture == nil || v.Picture.Bounds().Dx() != pictureSide || v.Picture.Bounds().Dy() != pictureSide*3/4 {
		t.Errorf("picture %v, want Anna's at %dx%d", v.Picture, pictureSide, pictureSide*3/4)
	}
	if want := t0.Add(5 * time.Second); !v.StartsAt.Equal(want) {
		t.Errorf("announcing StartsAt = %v, want %v", v.StartsAt, want)
	}
	if g := r.fake.greeting.Load(); g == nil || string(*g) != "OggS greeting" {
		t.Errorf("the chime's greeting = %v, want Anna's", g)
	}
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	if n := r.fake.stops.Load(); n != 1 {
		t.Errorf("the greeting was stopped %d times when the resident ended the announced call, want 1", n)
	}
	r.advance(3 * time.Second)
	r.waitPhase(device.CallNone)

	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-2", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	if v := r.scr.last(); v.Picture != nil {
		t.Error("a picture that is not a JPEG is shown")
	}
	if g := r.fake.greeting.Load(); g == nil || *g != nil {
		t.Error("a ringing call plays a greeting")
	}
}

func TestDecodePictureBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"small", jpegOf(t, 200, 300), true},
		{"too wide", jpegOf(t, maxPictureSide+1, 8), false},
		{"too many bytes", append(jpegOf(t, 8, 8), make([]byte, maxPictureBytes)...), false},
		{"not a jpeg", []byte("\x89PNG\r\n"), false},
		{"empty", nil, false},
	} {
		img, err := decodePicture(tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: decodePicture err = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err == nil && max(img.Bounds().Dx(), img.Bounds().Dy()) > pictureSide {
			t.Errorf("%s: %v, want at most %d a side", tc.name, img.Bounds(), pictureSide)
		}
	}
}

func FuzzDecodePicture(f *testing.F) {
	f.Add(jpegOf(f, 16, 9))
	f.Add(jpegOf(f, 640, 20))
	f.Add([]byte("\xff\xd8\xff\xe0garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodePicture(b)
		if err != nil {
			return
		}
		if r := img.Bounds(); r.Empty() || max(r.Dx(), r.Dy()) > pictureSide {
			t.Fatalf("decodePicture gave %v", r)
		}
	})
}

// TestAnnouncementHoldsTheGreeting: a forced call's announcement lasts
// until the caller's greeting has been heard, chime included; without a
// greeting (or with one the parser refuses) it is the configured time.
func TestAnnouncementHoldsTheGreeting(t *testing.T) {
	g, err := os.ReadFile("testdata/greeting-4s.ogg")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := proto.ParseGreeting(g)
	if err != nil {
		t.Fatal(err)
	}
	long := parsed.Duration() // 4 s of packets less the encoder's pre-skip
	for _, tc := range []struct {
		announce time.Duration
		greeting []byte
		want     time.Duration
	}{
		{5 * time.Second, nil, 5 * time.Second},
		{5 * time.Second, []byte("OggS not a greeting"), 5 * time.Second},
		{5 * time.Second, g, greetingLead + long + greetingTail},
		{8 * time.Second, g, 8 * time.Second},
	} {
		if got := announceFor(tc.announce, tc.greeting); got != tc.want {
			t.Errorf("announceFor(%v, %d bytes) = %v, want %v", tc.announce, len(tc.greeting), got, tc.want)
		}
	}
}
