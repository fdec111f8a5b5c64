package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
)

// personPicture draws a stand-in for a video frame: a person (head and
// shoulders) before a wall of the given colour, w x h.
func personPicture(w, h int, wall, shirt color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	skin := color.RGBA{R: 0xE8, G: 0xBE, B: 0x9C, A: 0xFF}
	hair := color.RGBA{R: 0x5A, G: 0x3E, B: 0x2B, A: 0xFF}
	s := math.Min(fw, fh)
	cx, headY, headR := fw/2, fh*0.42, s*0.17
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			c := wall
			// a soft light from the top-left
			k := 1 - 0.25*(fx/fw+fy/fh)/2
			c = color.RGBA{R: uint8(float64(c.R) * k), G: uint8(float64(c.G) * k), B: uint8(float64(c.B) * k), A: 0xFF}
			// shoulders: an ellipse below the head
			if dx, dy := (fx-cx)/(s*0.42), (fy-fh*1.02)/(s*0.42); dx*dx+dy*dy < 1 {
				c = shirt
			}
			// neck
			if math.Abs(fx-cx) < headR*0.45 && fy > headY && fy < headY+headR*1.5 {
				c = skin
			}
			if d := math.Hypot(fx-cx, (fy-headY)*0.85); d < headR {
				c = skin
				if fy < headY-headR*0.35 {
					c = hair
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

var (
	anna  = device.Participant{ID: "anna", Name: "Anna"}
	erik  = device.Participant{ID: "erik", Name: "Erik"}
	nurse = device.Participant{ID: "nurse-maria", Name: "Nurse Maria"}
)

func annaPicture() image.Image {
	return personPicture(640, 480, color.RGBA{R: 0x7A, G: 0x9E, B: 0xB8, A: 0xFF}, color.RGBA{R: 0x8E, G: 0x2F, B: 0x4B, A: 0xFF})
}

func selfPicture() image.Image {
	return personPicture(320, 180, color.RGBA{R: 0xC9, G: 0xB8, B: 0x94, A: 0xFF}, color.RGBA{R: 0x3C, G: 0x5A, B: 0x8A, A: 0xFF})
}

func activeCall(now time.Time, ps ...device.Participant) device.CallView {
	return device.CallView{
		Phase: device.CallActive, Call: "c1", Name: ps[0].Name, Participants: ps,
		Ends: now.Add(30 * time.Minute), CameraOn: true, MicOn: true, Hangup: func() {},
	}
}

func TestGoldenCallAnnouncing(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	s.ShowCall(device.CallView{
		Phase: device.CallAnnouncing, Call: "c1", Forced: true, Name: "Anna",
		Reason: "Morning medicine check", Participants: []device.Participant{anna}, CameraOn: true, MicOn: true,
	})
	test.AssertImageMatches(t, "call_announcing.png", w.Canvas().Capture())
}

func TestGoldenCallRinging(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	s.ShowCall(device.CallView{
		Phase: device.CallRinging, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		Hangup: func() {},
	})
	test.AssertImageMatches(t, "call_ringing.png", w.Canvas().Capture())
}

func TestGoldenCallConnecting(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	s.ShowCall(device.CallView{
		Phase: device.CallConnecting, Call: "c1", Name: "Anna", Participants: []device.Participant{anna},
		CameraOn: true, MicOn: true, Hangup: func() {},
	})
	test.AssertImageMatches(t, "call_connecting.png", w.Canvas().Capture())
}

// TestGoldenCallActive: a 4:3 picture letterboxed on the 16:9 screen, the
// resident's own picture bottom-right under "Camera on".
func TestGoldenCallActive(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	s.ShowCall(activeCall(now, anna))
	s.RemoteFrame("anna", annaPicture())
	s.SelfFrame(selfPicture())
	test.AssertImageMatches(t, "call_active.png", w.Canvas().Capture())
}

// TestGoldenCallWarning: 4.5 minutes left read "5 minutes"; the
// microphone is off.
func TestGoldenCallWarning(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	v := activeCall(now, anna)
	v.Ends, v.Warning, v.MicOn = now.Add(4*time.Minute+30*time.Second), true, false
	s.ShowCall(v)
	s.RemoteFrame("anna", annaPicture())
	s.SelfFrame(selfPicture())
	test.AssertImageMatches(t, "call_warning.png", w.Canvas().Capture())
}

// TestGoldenCallThree: three people tiled two above one; one sends a
// portrait picture.
func TestGoldenCallThree(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	s.ShowCall(activeCall(now, anna, erik, nurse))
	s.RemoteFrame("anna", annaPicture())
	s.RemoteFrame("erik", personPicture(640, 360, color.RGBA{R: 0x9B, G: 0xB5, B: 0x8C, A: 0xFF}, color.RGBA{R: 0x2E, G: 0x3B, B: 0x4F, A: 0xFF}))
	s.RemoteFrame("nurse-maria", personPicture(360, 640, color.RGBA{R: 0xD8, G: 0xDD, B: 0xE3, A: 0xFF}, color.RGBA{R: 0x4F, G: 0x8F, B: 0x9E, A: 0xFF}))
	s.SelfFrame(selfPicture())
	test.AssertImageMatches(t, "call_three.png", w.Canvas().Capture())
}

// TestGoldenCallWaitingForPicture: before the first frame a participant
// is their name on a dark tile; the camera is off.
func TestGoldenCallWaitingForPicture(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	v := activeCall(now, anna, erik)
	v.CameraOn = false
	s.ShowCall(v)
	s.RemoteFrame("anna", annaPicture())
	test.AssertImageMatches(t, "call_waiting.png", w.Canvas().Capture())
}

func TestGoldenCallEnded(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	s.ShowCall(device.CallView{Phase: device.CallEnded, Call: "c1", Name: "Anna", EndReason: "Anna hung up"})
	test.AssertImageMatches(t, "call_ended.png", w.Canvas().Capture())
}

// TestGoldenCallLocales: an active call with the warning and the
// microphone off in every other language.
func TestGoldenCallLocales(t *testing.T) {
	for _, lang := range []string{"sv", "fi", "de"} {
		t.Run(lang, func(t *testing.T) {
			test.NewTempApp(t)
			now := testNow(t)
			s, _ := newTestScreen(t, lang, now)
			w := showOn(t, s, hd)
			v := activeCall(now, anna)
			v.Ends, v.Warning, v.MicOn = now.Add(5*time.Minute), true, false
			s.ShowCall(v)
			s.RemoteFrame("anna", annaPicture())
			s.SelfFrame(selfPicture())
			test.AssertImageMatches(t, "call_active_"+lang+".png", w.Canvas().Capture())
		})
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
	if got := contrast(cameraRed, over(shade, white)); got < 3 {
		t.Errorf("camera dot on its pill: contrast %.2f, want >= 3", got)
	}
}

// TestCallLayoutRules lays out every phase in every language at several
// sizes: every text at least 5 % of the height, inside the screen, and no
// two texts on top of each other.
func TestCallLayoutRules(t *testing.T) {
	now := testNow(t)
	long := device.Participant{ID: "x", Name: "Marjatta Virtanen-Häkkinen von Oberammergau"}
	views := map[string]device.CallView{
		"announcing": {Phase: device.CallAnnouncing, Call: "c", Name: long.Name, CameraOn: true,
			Reason: "Evening medicine check and a short talk about tomorrow's visit to the doctor in town, with the taxi at nine"},
		"ringing":    {Phase: device.CallRinging, Call: "c", Name: "Anna", Hangup: func() {}},
		"connecting": {Phase: device.CallConnecting, Call: "c", Name: long.Name, CameraOn: true},
		"ended":      {Phase: device.CallEnded, Call: "c", Name: "Anna", EndReason: "Anna hung up"},
	}
	for _, n := range []int{1, 2, 3} {
		ps := []device.Participant{anna, erik, long}[:n]
		v := activeCall(now, ps...)
		v.Warning, v.MicOn, v.Ends = true, false, now.Add(5*time.Minute)
		views[fmt.Sprintf("active %d", n)] = v
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
	if cv.hang != nil {
		texts, offsets = append(texts, cv.hang.label), append(offsets, cv.hang.Position())
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
