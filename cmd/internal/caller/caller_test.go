package caller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-home/hearth/cmd/internal/caller"
	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

const dev = "mum-kitchen"

// screen records what the device would show.
type screen struct {
	mu     gosync.Mutex
	views  []device.CallView
	remote map[string]int
	self   atomic.Int64
}

func (s *screen) ShowCall(v device.CallView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.views = append(s.views, v)
}

func (s *screen) RemoteFrame(p string, _ image.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote[p]++
}

func (s *screen) SelfFrame(image.Image) { s.self.Add(1) }

func (s *screen) last() device.CallView {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.views) == 0 {
		return device.CallView{}
	}
	return s.views[len(s.views)-1]
}

func (s *screen) phases() []device.CallPhase {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []device.CallPhase
	for _, v := range s.views {
		if len(out) == 0 || out[len(out)-1] != v.Phase {
			out = append(out, v.Phase)
		}
	}
	return out
}

// outbox hands the device's replies to the callers in this process.
type outbox struct {
	mu      gosync.Mutex
	callers []*caller.Caller
	avail   []proto.Availability
	joins   map[string]bool // callers told to join (SignalJoin sent to them)
}

func (o *outbox) Reply(to string, r proto.Reply) {
	b, _ := json.Marshal(r) // through the real decoder, as over MQTT
	r, err := proto.DecodeReply(b)
	if err != nil {
		panic(err)
	}
	o.mu.Lock()
	cs := slices.Clone(o.callers)
	if r.Type == proto.SignalJoin {
		if o.joins == nil {
			o.joins = map[string]bool{}
		}
		o.joins[to] = true
	}
	o.mu.Unlock()
	for _, c := range cs {
		c.Handle(r)
	}
}

// setAvailability records what device.PublishAvailability publishes.
func (o *outbox) setAvailability(a proto.Availability) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.avail = append(o.avail, a)
}

// countingMedia counts how often the camera is opened and closed.
type countingMedia struct {
	*callmedia.Media
	open atomic.Int64
}

type countedCapture struct {
	call.Capture
	m    *countingMedia
	once gosync.Once
}

func (c *countedCapture) Close() error {
	c.once.Do(func() { c.m.open.Add(-1) })
	return c.Capture.Close()
}

func (m *countingMedia) OpenCapture() (call.Capture, error) {
	c, err := m.Media.OpenCapture()
	if err != nil {
		return nil, err
	}
	m.open.Add(1)
	return &countedCapture{Capture: c, m: m}, nil
}

type rig struct {
	t      *testing.T
	mgr    *call.Manager
	live   *device.Live
	org    provisioning.Org
	scr    *screen
	out    *outbox
	media  *countingMedia
	events chan call.Event
	dir    string
	list   proto.Allowlist
	// noCleanup: the test closes its callers itself (so none is kept alive).
	noCleanup bool
	// deaf: callers dialled now never hear the device's replies.
	deaf bool
}

func newRig(t *testing.T, tune func(*call.Options)) *rig {
	t.Helper()
	dir := t.TempDir()
	org, err := provisioning.NewOrg(filepath.Join(dir, "org"), "Test")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := callauth.New(org.Public(), clock.Real())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, org: org, scr: &screen{remote: map[string]int{}}, out: &outbox{}, dir: dir,
		media: &countingMedia{Media: callmedia.New(media.KindTest, nil)}, events: make(chan call.Event, 100),
		live: device.NewLive(device.State{Devices: device.Devices{Camera: true, Microphone: true, Speaker: true}}, nil, nil)}
	opt := call.Options{
		Device: dev, Name: "Mum's kitchen", Auth: auth, Display: r.scr, Out: r.out, Media: r.media,
		Live: r.live, Loopback: true,
		Announce: time.Second, Ring: time.Second, EndedShow: 200 * time.Millisecond,
		Activity: func(e call.Event) {
			select {
			case r.events <- e:
			default:
			}
		},
	}
	if tune != nil {
		tune(&opt)
	}
	r.mgr, err = call.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pubDone := make(chan struct{})
	go func() { done <- r.mgr.Run(ctx) }()
	go func() {
		defer close(pubDone)
		device.PublishAvailability(ctx, r.live, nil, dev, "Mum's kitchen", r.out.setAvailability)
	}()
	t.Cleanup(func() {
		cancel()
		<-pubDone
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("call manager did not stop")
		}
	})
	return r
}

// person makes a caller key and puts it on the allowlist with modes.
func (r *rig) person(name string, modes ...proto.CallMode) provisioning.Caller {
	r.t.Helper()
	c, err := provisioning.NewCaller(filepath.Join(r.dir, name), "", name)
	if err != nil {
		r.t.Fatal(err)
	}
	r.list = r.org.Allow(r.list, proto.AllowedCaller{ID: c.ID, Name: name, Key: c.Public(), Mode: modes}, time.Now())
	if err := r.mgr.SetAllowlist(r.list); err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *rig) send(b []byte) error {
	m, err := proto.DecodeCallIn(dev, b)
	if err != nil {
		return err
	}
	r.mgr.Deliver(m)
	return nil
}

func (r *rig) dial(who provisioning.Caller, mode proto.CallMode, tune func(*caller.Options)) *caller.Caller {
	r.t.Helper()
	opt := caller.Options{Device: dev, Caller: who, Mode: mode, Reason: "Morning medicine check",
		Media: callmedia.New(media.KindTest, nil), Send: r.send, Loopback: true}
	if tune != nil {
		tune(&opt)
	}
	c, err := caller.New(opt)
	if err != nil {
		r.t.Fatal(err)
	}
	if !r.deaf {
		r.out.mu.Lock()
		r.out.callers = append(r.out.callers, c)
		r.out.mu.Unlock()
	}
	if err := c.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	if !r.noCleanup {
		r.t.Cleanup(func() { c.Close() })
	}
	return c
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) waitPhase(p device.CallPhase, d time.Duration) {
	r.t.Helper()
	waitFor(r.t, "phase "+p.String(), d, func() bool { return r.scr.last().Phase == p })
}

func (r *rig) waitEvent(typ string) call.Event {
	r.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.Type == typ {
				return e
			}
		case <-deadline:
			r.t.Fatalf("no %s event", typ)
		}
	}
}

func TestForcedCall(t *testing.T) {
	r := newRig(t, nil)
	nurse := r.person("Nurse", proto.ModeForced)
	c := r.dial(nurse, proto.ModeForced, nil)
	waitFor(t, "announcement", 5*time.Second, func() bool { return r.scr.last().Phase == device.CallAnnouncing })
	if v := r.scr.last(); v.Reason != "Morning medicine check" || v.Name != "Nurse" || !v.CameraOn {
		t.Fatalf("announcement view = %+v", v)
	}
	waitFor(t, "the camera to open during the announcement", 2*time.Second, func() bool { return r.media.open.Load() == 1 })
	if r.scr.last().Phase != device.CallAnnouncing {
		t.Fatal("announcement over before the camera opened")
	}
	r.waitPhase(device.CallActive, 10*time.Second)
	waitFor(t, "frames both ways", 10*time.Second, func() bool {
		s := c.Snapshot()
		r.scr.mu.Lock()
		n := r.scr.remote[nurse.ID]
		r.scr.mu.Unlock()
		return s.VideoFramesReceived > 10 && s.AudioPacketsReceived > 10 && n > 10
	})
	s := c.Snapshot()
	// No picture leaves the device before the announcement is over.
	if s.FirstVideoMs < 1000 {
		t.Fatalf("first video packet %d ms after the invite, before the 1 s announcement ended", s.FirstVideoMs)
	}
	if s.ICEConnectedMs == 0 || s.FirstFrameMs == 0 {
		t.Fatalf("timings missing: %+v", s)
	}
	if r.scr.self.Load() == 0 {
		t.Error("no self view frames")
	}
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.waitPhase(device.CallNone, 5*time.Second)
	if e := r.waitEvent("call_ended"); e.Duration <= 0 || e.Reason != "Nurse hung up" {
		t.Fatalf("ended event = %+v", e)
	}
	if n := r.media.open.Load(); n != 0 {
		t.Fatalf("camera still open after the call (%d)", n)
	}
	st := r.mgr.LastStats()
	if st.VideoFramesDecoded < 10 || st.AudioPackets < 10 {
		t.Fatalf("device stats = %+v", st)
	}
	want := []device.CallPhase{device.CallAnnouncing, device.CallActive, device.CallEnded, device.CallNone}
	if got := r.scr.phases(); !slices.Equal(got, want) && !slices.Equal(got, slices.Insert(slices.Clone(want), 1, device.CallConnecting)) {
		t.Fatalf("phases = %v", got)
	}
}

func TestSignalledCallRingsThenAnswers(t *testing.T) {
	r := newRig(t, nil)
	anna := r.person("Anna", proto.ModeSignalled)
	c := r.dial(anna, proto.ModeSignalled, nil)
	r.waitPhase(device.CallRinging, 5*time.Second)
	if r.media.open.Load() != 0 {
		t.Fatal("camera open while ringing")
	}
	if v := r.scr.last(); v.Hangup == nil || v.Name != "Anna" {
		t.Fatalf("ringing view = %+v", v)
	}
	r.waitPhase(device.CallActive, 10*time.Second)
	s := c.Snapshot()
	if s.AnswerMs < 1000 {
		t.Fatalf("answered after %d ms, before the 1 s ring", s.AnswerMs)
	}
	waitFor(t, "video at the caller", 10*time.Second, func() bool { return c.Snapshot().VideoFramesReceived > 5 })
	// The resident ends it with one touch.
	r.scr.last().Hangup()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("caller not told the call ended")
	}
	if got := c.Snapshot().EndReason; got != "ended on the device" {
		t.Fatalf("end reason %q", got)
	}
	r.waitPhase(device.CallNone, 5*time.Second)
}

// TestNotNowDeclines: the resident's Not now reaches the caller as a
// hangup "declined"; the camera never opened.
func TestNotNowDeclines(t *testing.T) {
	r := newRig(t, nil)
	anna := r.person("Anna", proto.ModeSignalled)
	c := r.dial(anna, proto.ModeSignalled, nil)
	r.waitPhase(device.CallRinging, 5*time.Second)
	v := r.scr.last()
	if v.Decline == nil || v.StartsAt.IsZero() {
		t.Fatalf("ringing view = %+v, want Decline and StartsAt", v)
	}
	v.Decline()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("caller not told the call was declined")
	}
	if s := c.Snapshot(); s.EndReason != call.ReasonDeclined || s.Answered {
		t.Fatalf("caller: %+v, want not answered, %q", s, call.ReasonDeclined)
	}
	if e := r.waitEvent("call_missed"); e.Caller != anna.ID || e.Reason != call.ReasonDeclined {
		t.Errorf("activity %+v, want Anna's call missed, declined", e)
	}
	if n := r.media.open.Load(); n != 0 {
		t.Errorf("camera opened %d times for a declined call", n)
	}
	r.waitPhase(device.CallNone, 5*time.Second)
}

func TestBusyAndRefused(t *testing.T) {
	r := newRig(t, nil)
	anna := r.person("Anna", proto.ModeSignalled, proto.ModeForced)
	bo := r.person("Bo", proto.ModeSignalled)
	eva := r.person("Eva", proto.ModeSignalled, proto.ModeForced)
	first := r.dial(anna, proto.ModeForced, nil)
	r.waitPhase(device.CallActive, 10*time.Second)

	// Family read only that the device is busy; a carer whom with and
	// since when. Both are missed calls for the resident.
	second := r.dial(bo, proto.ModeSignalled, nil)
	<-second.Done()
	if s := second.Snapshot(); !s.Busy || s.BusyWith != "" || !s.BusySince.IsZero() {
		t.Fatalf("second caller: %+v, want busy and no more", s)
	}
	if e := r.waitEvent("call_missed"); e.Caller != bo.ID || e.Reason != "busy" {
		t.Errorf("activity %+v, want Bo's call missed as busy", e)
	}
	carer := r.dial(eva, proto.ModeSignalled, nil)
	<-carer.Done()
	if s := carer.Snapshot(); !s.Busy || s.BusyWith != "Anna" || s.BusySince.IsZero() || time.Since(s.BusySince) > time.Minute {
		t.Fatalf("carer: %+v, want busy with Anna since just now", s)
	}

	stranger, _ := provisioning.NewCaller(filepath.Join(r.dir, "stranger"), "", "Stranger")
	forger := bo
	forger.Key = stranger.Key // Bo's id, someone else's key
	for _, tc := range []struct {
		name string
		who  provisioning.Caller
		mode proto.CallMode
		tune func(*caller.Options)
		want string
	}{
		{"unknown", stranger, proto.ModeSignalled, nil, "unknown caller"},
		{"forged", forger, proto.ModeSignalled, nil, "bad signature"},
		{"expired", bo, proto.ModeSignalled, func(o *caller.Options) { o.Now = func() time.Time { return time.Now().Add(-time.Hour) } }, "expired"},
		{"mode", bo, proto.ModeForced, nil, "mode not allowed for this caller"},
	} {
		c := r.dial(tc.who, tc.mode, tc.tune)
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no answer", tc.name)
		}
		if got := c.Snapshot().RefusedReason; got != tc.want {
			t.Errorf("%s: refused %q, want %q", tc.name, got, tc.want)
		}
	}
	if r.scr.last().Phase != device.CallActive {
		t.Fatal("the call in progress was disturbed")
	}
	first.Hangup()
	r.waitPhase(device.CallNone, 5*time.Second)
}

func TestReplayedInviteIsRefusedQuietly(t *testing.T) {
	r := newRig(t, nil)
	anna := r.person("Anna", proto.ModeSignalled)
	var invite []byte
	c := r.dial(anna, proto.ModeSignalled, func(o *caller.Options) {
		o.Send = func(b []byte) error {
			if invite == nil {
				invite = b
			}
			return r.send(b)
		}
	})
	r.waitPhase(device.CallActive, 10*time.Second)
	r.send(invite)
	if e := r.waitEvent("call_refused"); e.Reason != "replayed call id" {
		t.Fatalf("replay: %+v", e)
	}
	time.Sleep(200 * time.Millisecond)
	if c.Snapshot().RefusedReason != "" || r.scr.last().Phase != device.CallActive {
		t.Fatal("a replayed invite disturbed the genuine call")
	}
}

func TestNoAllowlistRefusesEveryone(t *testing.T) {
	r := newRig(t, nil)
	someone, _ := provisioning.NewCaller(filepath.Join(r.dir, "x"), "", "X")
	c := r.dial(someone, proto.ModeForced, nil)
	<-c.Done()
	if got := c.Snapshot().RefusedReason; got != "no allowlist" {
		t.Fatalf("refused %q", got)
	}
}

func TestTimeLimitWarningAndExtend(t *testing.T) {
	r := newRig(t, func(o *call.Options) { o.Announce = 100 * time.Millisecond; o.Warn = 1500 * time.Millisecond })
	nurse := r.person("Nurse", proto.ModeForced)
	c := r.dial(nurse, proto.ModeForced, func(o *caller.Options) { o.Limit = 3 * time.Second })
	r.waitPhase(device.CallActive, 10*time.Second)
	ends := r.scr.last().Ends
	waitFor(t, "warning", 5*time.Second, func() bool { return r.scr.last().Warning })
	if err := c.Control(proto.ControlExtend); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "extension", 5*time.Second, func() bool { return r.scr.last().Ends.Sub(ends) == proto.ExtendBy })
	if r.scr.last().Warning {
		t.Fatal("warning still shown after extending by 15 minutes")
	}
	c.Hangup()
	r.waitPhase(device.CallNone, 5*time.Second)

	// Without an extension the call ends by itself.
	c2 := r.dial(nurse, proto.ModeForced, func(o *caller.Options) { o.Limit = 2 * time.Second })
	select {
	case <-c2.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the call did not end at its time limit")
	}
	if got := c2.Snapshot().EndReason; got != "the call's time is up" {
		t.Fatalf("end reason %q", got)
	}
	r.waitPhase(device.CallNone, 5*time.Second)
}

func TestRemoteCameraOff(t *testing.T) {
	r := newRig(t, func(o *call.Options) { o.Announce = 100 * time.Millisecond })
	nurse := r.person("Nurse", proto.ModeForced)
	anna := r.person("Anna", proto.ModeSignalled)
	c := r.dial(nurse, proto.ModeForced, nil)
	r.waitPhase(device.CallActive, 10*time.Second)
	waitFor(t, "video", 10*time.Second, func() bool { return c.Snapshot().VideoFramesReceived > 5 })
	c.Control(proto.ControlCameraOff)
	waitFor(t, "camera off", 5*time.Second, func() bool { return !r.scr.last().CameraOn })
	// Packets already on their way may still come; then none (a camera
	// that stays on never gets here).
	var before int64
	waitFor(t, "the video to stop", 10*time.Second, func() bool {
		before = c.Snapshot().VideoPacketsReceived
		time.Sleep(500 * time.Millisecond)
		return c.Snapshot().VideoPacketsReceived == before
	})
	c.Control(proto.ControlCameraOn)
	waitFor(t, "video again", 5*time.Second, func() bool { return c.Snapshot().VideoPacketsReceived > before+5 })
	c.Hangup()
	r.waitPhase(device.CallNone, 5*time.Second)

	// Family may not switch the resident's camera off.
	c2 := r.dial(anna, proto.ModeSignalled, func(o *caller.Options) {})
	r.waitPhase(device.CallActive, 10*time.Second)
	if err := c2.Control(proto.ControlCameraOff); err != nil {
		t.Fatal(err)
	}
	if e := r.waitEvent("control_refused"); e.Caller != anna.ID || !strings.Contains(e.Reason, "for carers") {
		t.Fatalf("refused control reported as %+v", e)
	}
	if !r.scr.last().CameraOn {
		t.Fatal("a family caller switched the camera off")
	}
}

func TestGroupOfThree(t *testing.T) {
	r := newRig(t, func(o *call.Options) { o.Announce = 100 * time.Millisecond })
	nurse := r.person("Nurse", proto.ModeForced)
	bo := r.person("Bo", proto.ModeSignalled)
	cy := r.person("Cy", proto.ModeSignalled)
	host := r.dial(nurse, proto.ModeForced, nil)
	r.waitPhase(device.CallActive, 10*time.Second)
	// Nobody joins uninvited.
	early := r.dial(bo, proto.ModeSignalled, func(o *caller.Options) { o.Join = host.ID() })
	<-early.Done()
	if got := early.Snapshot().RefusedReason; got != "not added to this call" {
		t.Fatalf("uninvited join: %q", got)
	}
	host.Control("add:" + bo.ID)
	host.Control("add:" + cy.ID)
	waitFor(t, "both added", 5*time.Second, func() bool {
		r.out.mu.Lock()
		defer r.out.mu.Unlock()
		return r.out.joins[bo.ID] && r.out.joins[cy.ID]
	})
	j1 := r.dial(bo, proto.ModeSignalled, func(o *caller.Options) { o.Join = host.ID() })
	j2 := r.dial(cy, proto.ModeSignalled, func(o *caller.Options) { o.Join = host.ID() })
	waitFor(t, "three participants", 10*time.Second, func() bool { return len(r.scr.last().Participants) == 3 })
	waitFor(t, "pictures from all three", 15*time.Second, func() bool {
		r.scr.mu.Lock()
		defer r.scr.mu.Unlock()
		return r.scr.remote[nurse.ID] > 5 && r.scr.remote[bo.ID] > 5 && r.scr.remote[cy.ID] > 5
	})
	for _, c := range []*caller.Caller{host, j1, j2} {
		waitFor(t, "the device's picture at every participant", 10*time.Second, func() bool { return c.Snapshot().VideoFramesReceived > 5 })
	}
	j1.Hangup()
	waitFor(t, "two participants", 5*time.Second, func() bool { return len(r.scr.last().Participants) == 2 })
	if r.scr.last().Phase != device.CallActive {
		t.Fatal("the call ended when one of three left")
	}
	host.Hangup()
	j2.Hangup()
	r.waitPhase(device.CallNone, 5*time.Second)
}

func TestAbandonedWhenItDoesNotConnect(t *testing.T) {
	r := newRig(t, func(o *call.Options) { o.Announce = 100 * time.Millisecond; o.ConnectTimeout = time.Second })
	nurse := r.person("Nurse", proto.ModeForced)
	// A caller that vanishes after its invite: no candidates, and it never
	// reads the answer, so ICE has nobody to reach. (Deaf from the start:
	// cutting it off after dialling let a quick answer through, and the
	// call connected.)
	r.deaf = true
	c := r.dial(nurse, proto.ModeForced, func(o *caller.Options) {
		send := o.Send
		o.Send = func(b []byte) error {
			if strings.Contains(string(b), `"type":"candidate"`) {
				return nil
			}
			return send(b)
		}
	})
	waitFor(t, "the call to start", 5*time.Second, func() bool { return len(r.scr.phases()) > 0 })
	start := time.Now()
	r.waitPhase(device.CallNone, 15*time.Second)
	if e := r.waitEvent("call_missed"); e.Reason != "the call did not connect" {
		t.Fatalf("missed event %+v", e)
	}
	if r.media.open.Load() != 0 {
		t.Fatal("camera left open after an abandoned call")
	}
	t.Logf("abandoned %s after the announcement", time.Since(start).Round(time.Millisecond))
	// Closing a peer connection that never connected returned (the
	// mediadevices bind path would hang here); the next call works.
	c.Close()
	r.deaf = false
	c2 := r.dial(nurse, proto.ModeForced, nil)
	r.waitPhase(device.CallActive, 10*time.Second)
	c2.Hangup()
	r.waitPhase(device.CallNone, 5*time.Second)
}

// Many calls in a row leak neither goroutines nor file descriptors, and
// every close returns.
func TestManyCallsNoLeak(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 10
	}
	r := newRig(t, func(o *call.Options) {
		o.Announce = 10 * time.Millisecond
		o.EndedShow = 10 * time.Millisecond
		o.InviteBurst = 1000 // a carer calling 100 times in a row
	})
	nurse := r.person("Nurse", proto.ModeForced)
	r.noCleanup = true
	one := func() {
		c := r.dial(nurse, proto.ModeForced, nil)
		r.waitPhase(device.CallActive, 10*time.Second)
		waitFor(t, "video", 10*time.Second, func() bool { return c.Snapshot().VideoFramesReceived > 0 })
		c.Hangup()
		r.waitPhase(device.CallNone, 10*time.Second)
		done := make(chan struct{})
		go func() { c.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("caller Close hung")
		}
		r.out.mu.Lock()
		r.out.callers = r.out.callers[:0]
		r.out.mu.Unlock()
	}
	for range 3 {
		one()
	}
	// C memory (libvpx, glibc's arenas) grows over the first calls and
	// then levels off: compare the second half with the first.
	base, baseFD := settle(), fds(t)
	for range n / 2 {
		one()
	}
	mid := rss(t)
	for range n - n/2 {
		one()
	}
	g, fd, end := settle(), fds(t), rss(t)
	t.Logf("%d calls: goroutines %d -> %d, fds %d -> %d, rss after %d calls %d KiB, after %d %d KiB", n, base, g, baseFD, fd, n/2, mid, n, end)
	if g > base+10 || fd > baseFD+10 {
		t.Fatalf("leak after %d calls: goroutines %d -> %d, fds %d -> %d", n, base, g, baseFD, fd)
	}
	if end > mid+24*1024 && !raceOn {
		t.Fatalf("RSS still growing: %d KiB after %d calls, %d KiB after %d", mid, n/2, end, n)
	}
}

func settle() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return m
		}
		n = m
	}
	return n
}

func fds(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc")
	}
	return len(es)
}

func rss(t *testing.T) int {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("go heap in use %d KiB, sys %d KiB", ms.HeapInuse>>10, ms.Sys>>10)
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}
