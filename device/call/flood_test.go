package call

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/sync/proto"
)

// A carer's forced call takes the place of a call that has carried no
// media for 3 s: the old call's caller reads why, its "Call ended" gives
// way at once. A call with media makes it wait that long, and then, if
// media still flows, busy; a signalled call is busy at once.
func TestForcedPreemptsACallWithoutMedia(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-bo", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	media := func() { // RTP from Bo, now
		r.m.post(func() { r.m.cur.peers["c-bo"].lastMedia.Store(r.clk.Now().UnixNano()) })
		r.settle()
	}
	r.advance(2 * time.Second)
	media()
	r.invite("c-signalled", proto.ModeSignalled)
	waitUntil(t, "busy for a signalled call", func() bool { return r.out.has("c-signalled", proto.SignalBusy) })

	r.invite("c-early", proto.ModeForced) // waits until 3 s after Bo's media
	r.advance(2 * time.Second)
	media()
	if r.out.has("c-early", proto.SignalBusy) || r.scr.last().Call != "c-bo" {
		t.Fatal("the forced call did not wait")
	}
	r.advance(time.Second)
	waitUntil(t, "busy once the wait is over with media flowing", func() bool { return r.out.has("c-early", proto.SignalBusy) })

	r.advance(3 * time.Second) // no media since
	r.invite("c-nurse", proto.ModeForced)
	r.waitPhase(device.CallAnnouncing)
	if v := r.scr.last(); v.Call != "c-nurse" {
		t.Fatalf("on screen %+v, want the carer's call", v)
	}
	var hangup proto.Reply
	r.out.mu.Lock()
	for _, rep := range r.out.r {
		if rep.Call == "c-bo" && rep.Type == proto.SignalHangup {
			hangup = rep
		}
	}
	r.out.mu.Unlock()
	if hangup.Reason != ReasonPreempted {
		t.Fatalf("the old call's caller read %+v, want hangup %q", hangup, ReasonPreempted)
	}
	// The old call's "Call ended" gave way at once (no wait for EndedShow).
	r.scr.mu.Lock()
	var phases []device.CallPhase
	for _, v := range r.scr.v {
		if len(phases) == 0 || phases[len(phases)-1] != v.Phase {
			phases = append(phases, v.Phase)
		}
	}
	r.scr.mu.Unlock()
	want := []device.CallPhase{device.CallRinging, device.CallEnded, device.CallNone, device.CallAnnouncing}
	if !slices.Equal(phases, want) {
		t.Fatalf("phases %v, want %v", phases, want)
	}
	if s := r.live.Get(); s.CallID != "c-nurse" || s.Call != device.CallAnnouncing {
		t.Fatalf("live state call %q %v, want c-nurse announcing", s.CallID, s.Call)
	}
}

// A carer's forced call that waits for a call in progress goes next as
// soon as that call ends (here: its caller hangs up).
func TestWaitingForcedCallGoesNext(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-bo", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	r.invite("c-nurse", proto.ModeForced)
	r.settle()
	hang := proto.Signal{V: 1, Type: proto.SignalHangup, Call: "c-bo", Device: "mum", Caller: "bo", Time: r.clk.Now()}
	hang.Sig = ed25519.Sign(r.bo, hang.SigningBytes())
	r.m.Deliver(proto.CallIn{Signal: &hang})
	r.waitPhase(device.CallAnnouncing)
	if v := r.scr.last(); v.Call != "c-nurse" || !r.clk.Now().Equal(t0) {
		t.Fatalf("on screen %+v at %v, want the nurse's call at once", v, r.clk.Now())
	}
}

// A flood of forged invites (unknown callers, and an allowed caller's id
// with bad signatures) neither keeps a carer's valid forced invite out
// nor fills the activity log: refusals are counted and reported once per
// (caller, reason) and window, and strangers get one reply a window.
func TestFloodOfForgedInvites(t *testing.T) {
	r := newTimerRig(t)
	_, mallory, _ := ed25519.GenerateKey(nil)
	inv := r.signedInvite("anna", r.anna, "c-template", proto.ModeForced)
	const n = 5000
	forged := make([]*proto.Invite, n)
	for i := range n {
		f := *inv
		f.Call = fmt.Sprintf("c-forged-%d", i)
		switch i % 3 {
		case 0: // an allowed caller's id, signed by someone else
			f.Sig = ed25519.Sign(mallory, f.SigningBytes())
		case 1: // an allowed caller's id, a signature of junk
			f.Sig = make([]byte, ed25519.SignatureSize)
		case 2: // strangers, each under a new name
			f.Caller = fmt.Sprintf("mallory-%d", i)
			f.Sig = ed25519.Sign(mallory, f.SigningBytes())
		}
		forged[i] = &f
	}
	valid := r.signedInvite("anna", r.anna, "c-valid", proto.ModeForced)
	start := time.Now()
	for i, f := range forged {
		if i == n/2 {
			r.m.Deliver(proto.CallIn{Invite: valid})
		}
		r.m.Deliver(proto.CallIn{Invite: f})
	}
	took := time.Since(start)
	r.waitPhase(device.CallAnnouncing)
	if v := r.scr.last(); v.Call != "c-valid" {
		t.Fatalf("on screen %+v, want the valid forced call", v)
	}
	waitUntil(t, "the valid call answered", func() bool { return r.out.has("c-valid", proto.SignalAnswer) })
	st := r.m.DeliverStats()
	t.Logf("%d forged invites delivered in %v (%.0f/s, %.1f µs each): %+v", n, took.Round(time.Millisecond),
		float64(n)/took.Seconds(), float64(took.Microseconds())/n, st)
	var pub ed25519.PublicKey = mallory.Public().(ed25519.PublicKey)
	msg := valid.SigningBytes()
	vstart := time.Now()
	for range 1000 {
		ed25519.Verify(pub, msg, valid.Sig)
	}
	t.Logf("ed25519 verifications here: %.0f/s", 1000/time.Since(vstart).Seconds())
	if st.Queued != 1 || st.Forged+st.Unknown != n {
		t.Fatalf("stats %+v: want only the valid invite queued, every forged one turned away", st)
	}

	// Before the window closes: one event per (caller, reason), first one only.
	r.settle()
	refused := func() []Event {
		var out []Event
		for _, e := range r.activity() {
			if e.Type == "call_refused" {
				out = append(out, e)
			}
		}
		return out
	}
	if ev := refused(); len(ev) != 2 {
		t.Fatalf("%d refusal events before the window closed, want 2 (anna: bad signature; strangers: unknown caller): %+v", len(ev), ev)
	}
	// One reply per kind, not one per forged invite.
	if nref := countOf(r.out.types(), proto.SignalRefused); nref != 2 {
		t.Fatalf("%d refused replies, want 2", nref)
	}
	// The window closes: one event each with the count of the rest.
	r.advance(refusalWindow)
	waitUntil(t, "the window's counts", func() bool { return len(refused()) == 4 })
	total := 0
	for _, e := range refused() {
		total += e.Count
		if e.Caller != "anna" && !strings.HasPrefix(e.Caller, "mallory") && e.Caller != "" {
			t.Errorf("event %+v names a caller it should not", e)
		}
	}
	if total != n {
		t.Fatalf("counts add up to %d, want %d", total, n)
	}
	if ev := r.activity(); len(ev) > 6 {
		t.Fatalf("%d activity events for a flood of %d, want a handful: %+v", len(ev), n, ev)
	}
}

// An allowed caller's invites are rate-limited: a burst, then one per 2 s.
func TestInviteRateLimit(t *testing.T) {
	r := newTimerRig(t)
	for i := range DefaultInviteBurst + 3 {
		// Bo (signalled) while a call would be busy anyway: only counting.
		r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, fmt.Sprintf("c-%d", i), proto.ModeSignalled)})
	}
	st := r.m.DeliverStats()
	if st.Queued != DefaultInviteBurst || st.Limited != 3 {
		t.Fatalf("stats %+v, want %d queued and 3 limited", st, DefaultInviteBurst)
	}
	// A new invite over the rate is told so (its id is its own: the
	// refusal ends no other call) ...
	waitUntil(t, "a refused reply for an invite over the rate", func() bool {
		r.out.mu.Lock()
		defer r.out.mu.Unlock()
		return slices.ContainsFunc(r.out.r, func(rep proto.Reply) bool {
			return rep.Call == fmt.Sprintf("c-%d", DefaultInviteBurst) && rep.Type == proto.SignalRefused && rep.Reason == reasonRateLimited
		})
	})
	// ... while a copy of a taken invite (replayed before its id was
	// spent) is dropped without a word and takes none of the rate.
	copied := r.signedInvite("bo", r.bo, "c-0", proto.ModeSignalled)
	before := r.m.DeliverStats()
	r.m.Deliver(proto.CallIn{Invite: copied})
	if st := r.m.DeliverStats(); st.Limited != before.Limited || st.Queued != before.Queued {
		t.Fatalf("a copy of a taken invite: stats %+v, were %+v", st, before)
	}
	r.advance(DefaultInviteEvery)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-later", proto.ModeSignalled)})
	if st := r.m.DeliverStats(); st.Queued != DefaultInviteBurst+1 {
		t.Fatalf("after %v: stats %+v, want one more queued", DefaultInviteEvery, st)
	}
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	for _, rep := range r.out.r {
		if rep.Call == "c-0" && rep.Type == proto.SignalRefused {
			t.Fatalf("the copy of c-0 was answered: %+v (it would end the genuine call)", rep)
		}
	}
}

// Early candidates are kept up to a bound, and a call is extended at most
// maxExtends times.
func TestCandidateAndExtendBounds(t *testing.T) {
	r := newTimerRig(t)
	r.m.Deliver(proto.CallIn{Invite: r.signedInvite("bo", r.bo, "c-1", proto.ModeSignalled)})
	r.waitPhase(device.CallRinging)
	signal := func(typ, data string) {
		s := proto.Signal{V: 1, Type: typ, Call: "c-1", Device: "mum", Caller: "bo", Time: r.clk.Now(), Data: data}
		s.Sig = ed25519.Sign(r.bo, s.SigningBytes())
		r.m.Deliver(proto.CallIn{Signal: &s})
	}
	for i := range maxPending + 10 {
		signal(proto.SignalCandidate, fmt.Sprintf(`{"candidate":"candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host","sdpMid":"0","sdpMLineIndex":0}`, i, 40000+i))
	}
	r.settle()
	kept := make(chan int)
	r.m.post(func() { kept <- len(r.m.cur.peers["c-1"].pending) })
	if n := <-kept; n != maxPending {
		t.Fatalf("%d early candidates kept, want %d", n, maxPending)
	}
	for range maxExtends + 1 {
		signal(proto.SignalControl, proto.ControlExtend)
	}
	waitUntil(t, "the fifth extension refused", func() bool {
		return slices.ContainsFunc(r.activity(), func(e Event) bool { return e.Type == "control_refused" })
	})
	extends := make(chan int)
	r.m.post(func() { extends <- r.m.cur.extends })
	if n := <-extends; n != maxExtends {
		t.Fatalf("extended %d times, want %d", n, maxExtends)
	}
}
