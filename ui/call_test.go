package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/internal/demoart"
)

var (
	anna  = device.Participant{ID: "anna", Name: "Anna"}
	erik  = device.Participant{ID: "erik", Name: "Erik"}
	nurse = device.Participant{ID: "nurse-maria", Name: "Nurse Maria"}
)

func annaPicture() image.Image {
	return demoart.Person(640, 480, color.RGBA{R: 0x7A, G: 0x9E, B: 0xB8, A: 0xFF}, color.RGBA{R: 0x8E, G: 0x2F, B: 0x4B, A: 0xFF})
}

func selfPicture() image.Image {
	return demoart.Person(320, 180, color.RGBA{R: 0xC9, G: 0xB8, B: 0x94, A: 0xFF}, color.RGBA{R: 0x3C, G: 0x5A, B: 0x8A, A: 0xFF})
}

func activeCall(now time.Time, ps ...device.Participant) device.CallView {
	return device.CallView{
		Phase: device.CallActive, Call: "c1", Name: ps[0].Name, Participants: ps,
		Ends: now.Add(30 * time.Minute), CameraOn: true, MicOn: true, Hangup: func() {},
	}
}

// The sizes every call screen is checked at; goldens carry the suffix.
var callSizes = []struct {
	suffix string
	size   fyne.Size
}{{"", hd}, {"_1080", fyne.NewSize(1920, 1080)}, {"_600", fyne.NewSize(1024, 600)}}

// goldenCall shows v (and, for an active call, the pictures) on a screen
// of each size in sizes and compares it with name+suffix.png. frames
// sends the pictures after ShowCall.
func goldenCall(t *testing.T, name, lang string, sizes int, v device.CallView, frames func(s *Screen)) {
	for _, cs := range callSizes[:sizes] {
		t.Run(name+cs.suffix, func(t *testing.T) {
			test.NewTempApp(t)
			s, _ := newTestScreen(t, lang, testNow(t))
			w := showOn(t, s, cs.size)
			s.ShowCall(v)
			if frames != nil {
				frames(s)
			}
			test.AssertImageMatches(t, name+cs.suffix+".png", w.Canvas().Capture())
			s.ShowCall(device.CallView{}) // stops the countdown's tick
		})
	}
}

const medicineReason = "Morning medicine check"

// TestGoldenCallAnnouncing: a forced call's picture, name, reason and
// countdown, no button.
func TestGoldenCallAnnouncing(t *testing.T) {
	now := testNow(t)
	goldenCall(t, "call_announcing", "en", 3, device.CallView{
		Phase: device.CallAnnouncing, Call: "c1", Forced: true, Name: "Nurse Maria", Reason: medicineReason,
		Participants: []device.Participant{nurse}, CameraOn: true, MicOn: true,
		Picture: annaPicture(), StartsAt: now.Add(5 * time.Second),
	}, nil)
}

// TestGoldenCallRinging: the caller's picture, "starts by itself in 8 s"
// and one calm Not now.
func TestGoldenCallRinging(t *testing.T) {
	now := testNow(t)
	goldenCall(t, "call_ringing", "en", 3, device.CallView{
		Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		Picture: annaPicture(), StartsAt: now.Add(7*time.Second + 200*time.Millisecond),
		Hangup: func() {}, Decline: func() {},
	}, nil)
}

func TestGoldenCallConnecting(t *testing.T) {
	goldenCall(t, "call_connecting", "en", 1, device.CallView{
		Phase: device.CallConnecting, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		Picture: annaPicture(), CameraOn: true, MicOn: true, Hangup: func() {},
	}, nil)
}

func annaAndSelf(s *Screen) {
	s.RemoteFrame("anna", annaPicture())
	s.SelfFrame(selfPicture())
}

// TestGoldenCallActive: a 4:3 picture letterboxed above the control
// strip, the clock top-right, the resident's own picture bottom-right.
func TestGoldenCallActive(t *testing.T) {
	goldenCall(t, "call_active", "en", 1, activeCall(testNow(t), anna), annaAndSelf)
}

// TestGoldenCallWarning: 4.5 minutes left read "5 minutes"; the
// microphone is off: "They can't hear you".
func TestGoldenCallWarning(t *testing.T) {
	now := testNow(t)
	v := activeCall(now, anna)
	v.Ends, v.Warning, v.MicOn = now.Add(4*time.Minute+30*time.Second), true, false
	goldenCall(t, "call_warning", "en", 1, v, annaAndSelf)
}

// TestGoldenCallThree: three people tiled two above one, above the
// strip; one sends a portrait picture.
func TestGoldenCallThree(t *testing.T) {
	goldenCall(t, "call_three", "en", 3, activeCall(testNow(t), anna, erik, nurse), func(s *Screen) {
		s.RemoteFrame("anna", annaPicture())
		s.RemoteFrame("erik", demoart.Person(640, 360, color.RGBA{R: 0x9B, G: 0xB5, B: 0x8C, A: 0xFF}, color.RGBA{R: 0x2E, G: 0x3B, B: 0x4F, A: 0xFF}))
		s.RemoteFrame("nurse-maria", demoart.Person(360, 640, color.RGBA{R: 0xD8, G: 0xDD, B: 0xE3, A: 0xFF}, color.RGBA{R: 0x4F, G: 0x8F, B: 0x9E, A: 0xFF}))
		s.SelfFrame(selfPicture())
	})
}

// TestGoldenCallWaitingForPicture: before the first frame a participant
// is their name on a dark tile; the camera is off.
func TestGoldenCallWaitingForPicture(t *testing.T) {
	v := activeCall(testNow(t), anna, erik)
	v.CameraOn = false
	goldenCall(t, "call_waiting", "en", 1, v, func(s *Screen) { s.RemoteFrame("anna", annaPicture()) })
}

// TestGoldenCallEnded: why, in the screen's language.
func TestGoldenCallEnded(t *testing.T) {
	v := device.CallView{Phase: device.CallEnded, Call: "c1", Name: "Anna", End: device.EndCallerHungUp, EndReason: "Anna hung up"}
	goldenCall(t, "call_ended", "en", 1, v, nil)
	goldenCall(t, "call_ended_de", "de", 1, v, nil)
	v.End, v.EndReason = device.EndResident, "ended on the device"
	goldenCall(t, "call_ended_resident_de", "de", 1, v, nil)
}

// TestGoldenCallLocales: an active call with the warning and the
// microphone off in every other language.
func TestGoldenCallLocales(t *testing.T) {
	now := testNow(t)
	v := activeCall(now, anna)
	v.Ends, v.Warning, v.MicOn = now.Add(5*time.Minute), true, false
	for _, lang := range []string{"sv", "fi", "de"} {
		goldenCall(t, "call_active_"+lang, lang, 1, v, annaAndSelf)
	}
}

// longReason is more than fits on the announcement at the smallest
// size a reason may have.
const longReason = "Evening medicine check: please have the blue box from the kitchen drawer ready, with a glass of water. " +
	"We will also talk about tomorrow's visit to the doctor in town; the taxi comes at nine, and Erik will meet you there. " +
	"If you feel dizzy or unwell, tell me at once and I will call the doctor for you. " +
	"After that we look at the new walking frame together, and I show you how to fold it for the taxi. " +
	"Anna sends her love and will call you on Sunday afternoon as usual."

// TestCallLongReasonPaged: a long reason is never cut: it is shown page
// by page, each for pageEvery, every page at full size, and the pages
// together hold every word.
func TestCallLongReasonPaged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "de", now)
		w := showOn(t, s, hd)
		s.ShowCall(device.CallView{
			Phase: device.CallAnnouncing, Call: "c1", Forced: true, Name: "Nurse Maria", Reason: longReason,
			Participants: []device.Participant{nurse}, Picture: annaPicture(), StartsAt: now.Add(5 * time.Second),
		})
		defer s.ShowCall(device.CallView{}) // stops the tick
		synctest.Wait()
		cv := s.ui.cv
		if cv.pages < 2 {
			t.Fatalf("%d pages for a %d-character reason, want more than one", cv.pages, len(longReason))
		}
		var words []string
		for page := range cv.pages {
			if page > 0 {
				fake.Advance(pageEvery)
				synctest.Wait()
			}
			if cv.page != page {
				t.Fatalf("at %v: page %d, want %d", fake.Now().Sub(now), cv.page, page)
			}
			for _, l := range s.ui.cv.lines {
				if l.base == textSoft {
					words = append(words, strings.Fields(strings.TrimSuffix(l.t.Text, ellipsis))...)
					if l.t.TextSize < 0.07*hd.Height-0.01 {
						t.Errorf("page %d: %q at size %.1f, want at least %.1f", page, l.t.Text, l.t.TextSize, 0.07*hd.Height)
					}
				}
			}
			if page == 0 {
				test.AssertImageMatches(t, "call_announcing_long.png", w.Canvas().Capture())
			}
		}
		if got := strings.Join(words, " "); got != strings.Join(strings.Fields(longReason), " ") {
			t.Errorf("the pages read %q,\nwant %q", got, longReason)
		}
	})
}

// TestCallCountdownTicks: the ringing screen counts the seconds down,
// once a second, and stops ticking once the call is no longer ringing.
func TestCallCountdownTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		showOn(t, s, hd)
		ring := device.CallView{
			Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
			StartsAt: now.Add(8 * time.Second), Hangup: func() {}, Decline: func() {},
		}
		s.ShowCall(ring)
		defer s.ShowCall(device.CallView{})
		synctest.Wait()
		for want := 8; want >= 1; want-- {
			if got := s.ui.cv.count.Text; got != fmt.Sprintf("The call starts by itself in %d s", want) {
				t.Fatalf("at %v: %q, want %d s", fake.Now().Sub(now), got, want)
			}
			fake.Advance(time.Second)
			synctest.Wait()
		}
		// Active: no countdown, nothing ticks but the minute.
		s.ShowCall(activeCall(fake.Now(), anna))
		synctest.Wait()
		if p := fake.Pending(); len(p) != 0 {
			t.Errorf("timers pending in a call with no countdown: %v", p)
		}
	})
}

// TestCallActiveClock: the clock stays in a call and follows the time.
func TestCallActiveClock(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	s.ShowCall(activeCall(now, anna))
	if got, want := s.ui.cv.clock.Text, now.Format("15:04"); got != want {
		t.Errorf("clock in a call = %q, want %q", got, want)
	}
	s.ui.cv.tick(now.Add(time.Minute))
	if got, want := s.ui.cv.clock.Text, now.Add(time.Minute).Format("15:04"); got != want {
		t.Errorf("clock a minute later = %q, want %q", got, want)
	}
}

// TestCallEndCauseWords: every cause is worded in every language, with
// the name where it names someone; EndOther keeps the device's reason.
func TestCallEndCauseWords(t *testing.T) {
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		l, _ := lookupLocale(tag)
		seen := map[string]device.EndCause{}
		for c := device.EndCallerHungUp; c <= device.EndNoConnect; c++ {
			got := l.endCause(c, "Anna", "english reason")
			if got == "" || got == "english reason" || strings.Contains(got, "%") {
				t.Errorf("%s endCause(%d) = %q", tag, c, got)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%s: causes %d and %d both read %q", tag, other, c, got)
			}
			seen[got] = c
			if (c == device.EndCallerHungUp || c == device.EndLost) && !strings.Contains(got, "Anna") {
				t.Errorf("%s endCause(%d) = %q, want the name", tag, c, got)
			}
		}
		if got := l.endCause(device.EndOther, "Anna", "english reason"); got != "english reason" {
			t.Errorf("%s endCause(EndOther) = %q, want the reason as it is", tag, got)
		}
	}
}

// TestCallNotNowDeclines: the ringing screen's one button declines.
func TestCallNotNowDeclines(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	showOn(t, s, hd)
	var declined, hungUp atomic.Int32
	s.ShowCall(device.CallView{
		Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		Hangup: func() { hungUp.Add(1) }, Decline: func() { declined.Add(1) },
	})
	if s.ui.cv.hang == nil || s.ui.cv.hang.label.Text != "Not now" {
		t.Fatal("no Not now button while ringing")
	}
	test.Tap(s.ui.cv.hang)
	test.Tap(s.ui.cv.hang)
	if declined.Load() != 1 || hungUp.Load() != 0 {
		t.Errorf("after two taps: Decline %d, Hangup %d, want 1 and 0", declined.Load(), hungUp.Load())
	}
}

func capturePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCallNoneRestoresCarousel: a call covers the carousel and pauses it;
// CallNone brings back the very slide that was showing, which then gets a
// full dwell.
func TestCallNoneRestoresCarousel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		w := showOn(t, s, hd)
		s.SetSlides(messages("a", "b", "c"))
		carousel(t, s)
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "b")
		before := capturePNG(t, w.Canvas().Capture())

		s.ShowCall(activeCall(now, anna))
		s.RemoteFrame("anna", annaPicture())
		synctest.Wait()
		if !s.ui.callBox.Visible() || s.ui.slides.Visible() || s.ui.clock.Visible() {
			t.Errorf("in a call: call %v slides %v clock %v, want the call alone",
				s.ui.callBox.Visible(), s.ui.slides.Visible(), s.ui.clock.Visible())
		}
		// The carousel stands still under the call: only the clock's timer.
		wantPending(t, fake, now.Add(time.Minute))
		fake.Advance(20 * time.Second) // 14:05:35
		synctest.Wait()
		wantCurrent(t, s, "b")

		s.ShowCall(device.CallView{Phase: device.CallEnded, Call: "c1", Name: "Anna"})
		s.ShowCall(device.CallView{})
		synctest.Wait()
		wantCurrent(t, s, "b")
		if s.ui.callBox.Visible() || !s.ui.slides.Visible() || !s.ui.clock.Visible() || s.ui.cv != nil {
			t.Errorf("after the call: call %v slides %v clock %v, want the carousel",
				s.ui.callBox.Visible(), s.ui.slides.Visible(), s.ui.clock.Visible())
		}
		if after := capturePNG(t, w.Canvas().Capture()); !bytes.Equal(before, after) {
			t.Error("the carousel looks different after the call")
		}
		wantPending(t, fake, now.Add(50*time.Second), now.Add(time.Minute))
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "c")
	})
}

// TestCallSlidesArriveDuringCall: slides sent during a call wait under it
// without a crossfade and are there when it ends.
func TestCallSlidesArriveDuringCall(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	s.SetSlides(messages("a"))
	s.ShowCall(activeCall(now, anna))
	s.SetSlides(messages("a", "new"))
	wantCurrent(t, s, "new")
	if s.ui.anim != nil || len(s.ui.slides.Objects) != 1 {
		t.Errorf("a crossfade runs under the call (%d views)", len(s.ui.slides.Objects))
	}
	s.ShowCall(device.CallView{})
	wantCurrent(t, s, "new")
}

func TestCallHangupOnce(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	var n atomic.Int32
	ring := device.CallView{
		Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		Hangup: func() { n.Add(1) },
	}
	s.ShowCall(ring)
	if s.ui.cv == nil || s.ui.cv.hang == nil {
		t.Fatal("no hang-up button while ringing")
	}
	test.Tap(s.ui.cv.hang)
	test.Tap(s.ui.cv.hang)
	if got := n.Load(); got != 1 {
		t.Errorf("Hangup called %d times after two taps, want 1", got)
	}
	// The same call, now active: still once.
	active := activeCall(now, anna)
	active.Hangup = ring.Hangup
	s.ShowCall(active)
	test.Tap(s.ui.cv.hang)
	if got := n.Load(); got != 1 {
		t.Errorf("Hangup called %d times in one call, want 1", got)
	}
	// The next call can be ended again.
	active.Call = "c2"
	s.ShowCall(active)
	test.Tap(s.ui.cv.hang)
	if got := n.Load(); got != 2 {
		t.Errorf("Hangup called %d times over two calls, want 2", got)
	}
}

func TestCallHangupButtonOnlyWithHangup(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	for _, v := range []device.CallView{
		{Phase: device.CallAnnouncing, Call: "c1", Name: "Anna", Hangup: func() {}},
		{Phase: device.CallRinging, Call: "c1", Name: "Anna"},
		{Phase: device.CallEnded, Call: "c1", Name: "Anna", Hangup: func() {}},
		{Phase: device.CallActive, Call: "c1", Name: "Anna", Participants: []device.Participant{anna}},
	} {
		s.ShowCall(v)
		if s.ui.cv.hang != nil {
			t.Errorf("%v (hangup %v): a hang-up button", v.Phase, v.Hangup != nil)
		}
	}
}

// TestCallFramesCoalesced: any number of frames between two runs of
// Fyne's loop queue one update, which shows the latest pictures.
func TestCallFramesCoalesced(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	s.ShowCall(activeCall(now, anna, erik))
	var queued []func()
	s.fyneDo = func(fn func()) { queued = append(queued, fn) }
	var last image.Image
	for i := range 100 {
		last = image.NewRGBA(image.Rect(0, 0, 16+i, 9))
		s.RemoteFrame("anna", last)
		s.SelfFrame(last)
	}
	if len(queued) != 1 {
		t.Fatalf("%d updates queued for 200 frames, want 1", len(queued))
	}
	queued[0]()
	if got := s.ui.cv.tiles[0].img.Image; got != last {
		t.Error("anna's tile does not show the latest frame")
	}
	if got := s.ui.cv.self.Image; got != last {
		t.Error("the self view does not show the latest frame")
	}
	if s.ui.cv.tiles[1].seq != 0 {
		t.Error("erik's tile shows a picture he never sent")
	}
	s.RemoteFrame("erik", last)
	if len(queued) != 2 {
		t.Errorf("%d updates queued after the first ran and a frame came, want 2", len(queued))
	}
}

// TestCallFramesIgnored: frames with no call, or of someone not in it,
// are dropped.
func TestCallFramesIgnored(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	pic := annaPicture()
	s.RemoteFrame("anna", pic)
	s.SelfFrame(pic)
	if len(s.callState.remote) != 0 || s.callState.self.img != nil {
		t.Error("frames kept with no call")
	}
	s.ShowCall(activeCall(now, anna))
	s.RemoteFrame("mallory", pic)
	if _, ok := s.callState.remote["mallory"]; ok {
		t.Error("a frame of someone not in the call was kept")
	}
	s.RemoteFrame("anna", pic)
	s.ShowCall(device.CallView{})
	if len(s.callState.remote) != 0 || s.callState.self.img != nil {
		t.Error("frames kept after the call")
	}
	// A participant who leaves takes their picture along.
	s.ShowCall(activeCall(now, anna, erik))
	s.RemoteFrame("erik", pic)
	s.ShowCall(activeCall(now, anna))
	if _, ok := s.callState.remote["erik"]; ok {
		t.Error("the picture of someone who left was kept")
	}
}

// serialDo makes s run its Fyne work on one goroutine, in order, as the
// real event loop does (the test driver runs fyne.Do at once, on the
// caller's goroutine). It returns a function that waits for what is queued.
func serialDo(t *testing.T, s *Screen) (drain func()) {
	t.Helper()
	queue := make(chan func(), 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for fn := range queue {
			fn()
		}
	}()
	s.fyneDo = func(fn func()) { queue <- fn }
	t.Cleanup(func() {
		close(queue)
		<-done
	})
	return func() {
		ran := make(chan struct{})
		queue <- func() { close(ran) }
		<-ran
	}
}

// TestCallFramesConcurrent: decoders on many goroutines send frames while
// the call goroutine changes the call; run with -race.
func TestCallFramesConcurrent(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	drain := serialDo(t, s)
	showOn(t, s, hd)
	s.SetSlides(messages("a", "b"))
	pics := []image.Image{image.NewRGBA(image.Rect(0, 0, 32, 18)), image.NewRGBA(image.Rect(0, 0, 18, 32))}
	ids := []string{"anna", "erik", "nurse-maria", "mallory"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if g == 0 {
					s.SelfFrame(pics[i%2])
				} else {
					s.RemoteFrame(ids[(g+i)%len(ids)], pics[i%2])
				}
			}
		})
	}
	views := []device.CallView{
		{Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna}, Hangup: func() {}},
		{Phase: device.CallConnecting, Call: "c1", Name: "Anna", Participants: []device.Participant{anna}},
		activeCall(now, anna),
		activeCall(now, anna, erik),
		activeCall(now, anna, erik, nurse),
		{Phase: device.CallEnded, Call: "c1", Name: "Anna"},
		{},
	}
	for i := range 60 {
		s.ShowCall(views[i%len(views)])
		if i%5 == 0 {
			drain()
		}
	}
	s.ShowCall(activeCall(now, anna, erik))
	close(stop)
	wg.Wait()
	s.RemoteFrame("anna", pics[0])
	s.RemoteFrame("erik", pics[1])
	drain()
	cv := s.ui.cv // the queue is empty: reading from here is safe
	if cv == nil || len(cv.tiles) != 2 {
		t.Fatalf("after the storm: call view %v, want two tiles", cv)
	}
	if cv.tiles[0].img.Image != pics[0] || cv.tiles[1].img.Image != pics[1] {
		t.Error("the tiles do not show the last frames")
	}
	if s.framePending.Load() {
		t.Error("an update is still marked pending with the queue empty")
	}
}

func TestMinutesLeft(t *testing.T) {
	now := testNow(t)
	for _, tc := range []struct {
		left time.Duration
		want int
	}{
		{5 * time.Minute, 5},
		{4*time.Minute + time.Second, 5},
		{4 * time.Minute, 4},
		{30 * time.Second, 1},
		{0, 1},
		{-time.Minute, 1},
	} {
		if got := minutesLeft(now.Add(tc.left), now); got != tc.want {
			t.Errorf("minutesLeft(now+%v) = %d, want %d", tc.left, got, tc.want)
		}
	}
	if got := minutesLeft(time.Time{}, now); got != 0 {
		t.Errorf("minutesLeft(zero) = %d, want 0", got)
	}
}

func TestLocaleCallWords(t *testing.T) {
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		l, _ := lookupLocale(tag)
		w := reflect.ValueOf(l.call)
		for i := range w.NumField() {
			if w.Field(i).String() == "" {
				t.Errorf("%s: call word %s is empty", tag, w.Type().Field(i).Name)
			}
		}
		if got := l.calling("Anna"); got == l.call.callingFmt || !bytes.Contains([]byte(got), []byte("Anna")) {
			t.Errorf("%s calling(Anna) = %q", tag, got)
		}
		for _, n := range []int{0, 1, 5} {
			if got := l.endsIn(n); got == "" || (n > 1 && !bytes.Contains([]byte(got), []byte(fmt.Sprint(n)))) {
				t.Errorf("%s endsIn(%d) = %q", tag, n, got)
			}
		}
	}
}

// TestCallContrast: the call screen's texts against what is behind them.
func TestCallContrast(t *testing.T) {
	white := color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	for _, p := range []struct {
		name   string
		fg, bg color.Color
	}{
		{"notice", textMain, callBG},
		{"reason", textSoft, callBG},
		{"name on a waiting tile", textMain, tileBG},
		{"hang-up button", textMain, hangupRed},
		{"Not now button", textMain, declineBG},
		{"clock over a white picture", textMain, over(shade, white)},
		{"warning", bannerText, bannerBG},
		{"marks and names over a white picture", textMain, over(shade, white)},
	} {
		if got := contrast(p.fg, p.bg); got < 7 {
			t.Errorf("%s: contrast %.2f, want >= 7", p.name, got)
		}
	}
	// The button's ring and the camera dot are not text: 3:1 is enough.
	if got := contrast(textMain, callBG); got < 3 {
		t.Errorf("hang-up ring on the notice: contrast %.2f, want >= 3", got)
	}
}

// TestCallLayoutRules lays out every phase in every language at several
// sizes: every text at least 5 % of the height, inside the screen, and no
// two texts on top of each other.
func TestCallLayoutRules(t *testing.T) {
	now := testNow(t)
	long := device.Participant{ID: "x", Name: "Marjatta Virtanen-Häkkinen von Oberammergau"}
	pic := annaPicture()
	views := map[string]device.CallView{
		"announcing": {Phase: device.CallAnnouncing, Call: "c", Name: long.Name, CameraOn: true, Picture: pic,
			Reason:   "Evening medicine check and a short talk about tomorrow's visit to the doctor in town, with the taxi at nine",
			StartsAt: now.Add(5 * time.Second)},
		"announcing long": {Phase: device.CallAnnouncing, Call: "c", Forced: true, Name: "Nurse Maria", Picture: pic,
			Reason: longReason, StartsAt: now.Add(5 * time.Second)},
		"ringing": {Phase: device.CallRinging, Call: "c", Name: "Anna", Picture: pic, StartsAt: now.Add(10 * time.Second),
			Hangup: func() {}, Decline: func() {}},
		"ringing long name": {Phase: device.CallRinging, Call: "c", Name: long.Name, Picture: pic, StartsAt: now.Add(10 * time.Second),
			Hangup: func() {}, Decline: func() {}},
		"connecting": {Phase: device.CallConnecting, Call: "c", Forced: true, Name: long.Name, CameraOn: true, Picture: pic,
			Reason: "Morning medicine check"},
		"ended":      {Phase: device.CallEnded, Call: "c", Name: long.Name, End: device.EndLost, EndReason: "lost"},
		"ended time": {Phase: device.CallEnded, Call: "c", Name: "Anna", End: device.EndTimeUp, EndReason: "time"},
	}
	for _, n := range []int{1, 2, 3} {
		ps := []device.Participant{anna, erik, long}[:n]
		v := activeCall(now, ps...)
		v.Warning, v.MicOn, v.Ends = true, false, now.Add(5*time.Minute)
		views[fmt.Sprintf("active %d", n)] = v
		v.CameraOn, v.MicOn = false, false
		views[fmt.Sprintf("active %d, camera and microphone off", n)] = v
	}
	sizes := []fyne.Size{fyne.NewSize(1280, 720), fyne.NewSize(1920, 1080), fyne.NewSize(1024, 768), fyne.NewSize(1024, 600)}
	for name, v := range views {
		for _, lang := range []string{"en", "sv", "fi", "de"} {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s %s %vx%v", name, lang, size.Width, size.Height), func(t *testing.T) {
					test.NewTempApp(t)
					s, _ := newTestScreen(t, lang, now)
					showOn(t, s, size)
					s.ShowCall(v)
					for i, p := range v.Participants {
						if i < len(v.Participants)-1 { // the last waits for a picture
							s.RemoteFrame(p.ID, annaPicture())
						}
					}
					s.SelfFrame(selfPicture())
					checkCallLayout(t, s.ui.cv, size)
				})
			}
		}
	}
}

func checkCallLayout(t *testing.T, cv *callView, size fyne.Size) {
	t.Helper()
	texts := []*canvas.Text{}
	offsets := []fyne.Position{}
	for _, l := range cv.lines {
		texts, offsets = append(texts, l.t), append(offsets, fyne.Position{})
	}
	for _, txt := range []*canvas.Text{cv.count, cv.clock} {
		if txt != nil {
			texts, offsets = append(texts, txt), append(offsets, fyne.Position{})
		}
	}
	corner := rect{fyne.Position{}, fyne.NewSize(privacyMaxW*size.Width, privacyMaxH*size.Height)}
	if cv.hang != nil {
		texts, offsets = append(texts, cv.hang.label), append(offsets, cv.hang.Position())
		btn := rect{cv.hang.Position(), cv.hang.Size()}
		if rectsOverlap(btn, corner) {
			t.Errorf("the button at %v is in the privacy badge's corner", btn.pos)
		}
		// In a call the button covers no picture.
		for _, tl := range cv.tiles {
			if r := (rect{tl.bg.Position(), tl.bg.Size()}); rectsOverlap(btn, r) {
				t.Errorf("the button at %v covers %s's tile at %v %v", btn.pos, tl.name, r.pos, r.size)
			}
		}
	}
	if cv.picture != nil && len(cv.objs) > 0 {
		for _, o := range cv.objs {
			if o == cv.picture && rectsOverlap(rect{o.Position(), o.Size()}, corner) {
				t.Errorf("the caller's picture at %v is in the privacy badge's corner", o.Position())
			}
		}
	}
	var boxes []rect
	for i, txt := range texts {
		if txt.TextSize < minTextFrac*size.Height {
			t.Errorf("%q: text size %.1f, want >= %.1f", txt.Text, txt.TextSize, minTextFrac*size.Height)
		}
		ms := fyne.MeasureText(txt.Text, txt.TextSize, txt.TextStyle)
		pos := txt.Position().Add(offsets[i])
		if txt.Alignment == fyne.TextAlignCenter {
			pos.X += (txt.Size().Width - ms.Width) / 2
		}
		r := rect{pos, ms}
		if r.inkOverlaps(corner, txt.TextSize) {
			t.Errorf("%q at %v is in the privacy badge's corner", txt.Text, r.pos)
		}
		if r.pos.X < 0 || r.pos.Y < 0 || r.pos.X+r.size.Width > size.Width+0.5 || r.pos.Y+r.size.Height > size.Height+1 {
			t.Errorf("%q at %v size %v is not inside the %v screen", txt.Text, r.pos, r.size, size)
		}
		for j, o := range boxes {
			if r.inkOverlaps(o, txt.TextSize) && o.inkOverlaps(r, texts[j].TextSize) {
				t.Errorf("%q at %v overlaps %q at %v", txt.Text, r.pos, texts[j].Text, o.pos)
			}
		}
		boxes = append(boxes, r)
	}
}

// rectsOverlap reports whether two rectangles share any area.
func rectsOverlap(a, b rect) bool {
	return a.pos.X < b.pos.X+b.size.Width && b.pos.X < a.pos.X+a.size.Width &&
		a.pos.Y < b.pos.Y+b.size.Height && b.pos.Y < a.pos.Y+a.size.Height
}
