package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
)

// The carousel runs on the fake clock inside a synctest bubble: after each
// Advance, synctest.Wait lets Run handle the timer before the test looks.

// carousel starts s.Run in the bubble and stops it at the end of the test.
func carousel(t *testing.T, s *Screen) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		default:
			t.Error("Run did not return after cancel")
		}
	})
	synctest.Wait()
}

func messages(ids ...string) []device.Slide {
	var out []device.Slide
	for _, id := range ids {
		out = append(out, messageSlide(id, "Hello "+id, "Anna", time.Time{}))
	}
	return out
}

func wantCurrent(t *testing.T, s *Screen, want string) {
	t.Helper()
	if got, ok := s.Current(); !ok || got != want {
		t.Errorf("Current() = %q, %v, want %q", got, ok, want)
	}
}

func wantPending(t *testing.T, f *clock.Fake, want ...time.Time) {
	t.Helper()
	if got := f.Pending(); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Pending() = %v, want %v", got, want)
	}
}

func TestDwellAdvances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t) // 14:05:00
		s, fake := newTestScreen(t, "en", now)
		s.SetSlides(messages("a", "b", "c"))
		carousel(t, s)
		wantCurrent(t, s, "a")
		wantPending(t, fake, now.Add(15*time.Second), now.Add(time.Minute))
		for _, want := range []string{"b", "c", "a", "b"} {
			fake.Advance(15 * time.Second)
			synctest.Wait()
			wantCurrent(t, s, want)
		}
		// 14:06:00 fired the minute timer too; the dwell runs on from 14:06.
		wantPending(t, fake, now.Add(75*time.Second), now.Add(2*time.Minute))
	})
}

func TestOneSlideNeverTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		showOn(t, s, hd)
		s.SetSlides(messages("only"))
		carousel(t, s)
		gen := s.ui.gen
		front := s.ui.front
		// Only the minute timer: nothing else will wake the screen.
		wantPending(t, fake, now.Add(time.Minute))
		for range 10 {
			fake.Advance(time.Minute)
			synctest.Wait()
		}
		wantCurrent(t, s, "only")
		if s.ui.gen != gen || s.ui.front != front {
			t.Errorf("slide view replaced (gen %d -> %d) with one slide", gen, s.ui.gen)
		}
		if s.ui.anim != nil {
			t.Error("an animation is running on a standing slide")
		}
		wantPending(t, fake, now.Add(11*time.Minute))
	})
}

// TestClockMinuteEdge: the clock timer is armed for the next minute edge
// (not a 1 s tick) and the clock text changes there.
func TestClockMinuteEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t).Add(23*time.Second + 400*time.Millisecond) // 14:05:23.4
		s, fake := newTestScreen(t, "en", now)
		showOn(t, s, hd)
		carousel(t, s) // empty: no dwell
		edge := testNow(t).Add(time.Minute)
		wantPending(t, fake, edge)
		if got := s.ui.clock.time.Text; got != "14:05" {
			t.Errorf("clock = %q, want 14:05", got)
		}
		fake.Set(edge.Add(-time.Millisecond))
		synctest.Wait()
		if got := s.ui.clock.time.Text; got != "14:05" {
			t.Errorf("clock at 14:05:59.999 = %q, want 14:05", got)
		}
		fake.Set(edge)
		synctest.Wait()
		if got := s.ui.clock.time.Text; got != "14:06" {
			t.Errorf("clock at 14:06:00 = %q, want 14:06", got)
		}
		wantPending(t, fake, edge.Add(time.Minute))
		// Midnight changes the date line too.
		fake.Set(time.Date(2026, 11, 23, 0, 0, 0, 0, now.Location()))
		synctest.Wait()
		if got := s.ui.clock.date.Text; got != "Monday 23 November" {
			t.Errorf("date after midnight = %q, want Monday 23 November", got)
		}
	})
}

func TestSetSlidesKeepsCurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		s.SetSlides(messages("a", "b", "c"))
		carousel(t, s)
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "b")
		fake.Advance(5 * time.Second)

		// b is still there (elsewhere in the list): no jump, and its dwell
		// is not started again.
		s.SetSlides(messages("c", "a", "b"))
		synctest.Wait()
		wantCurrent(t, s, "b")
		wantPending(t, fake, now.Add(30*time.Second), now.Add(time.Minute))
		fake.Advance(10 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "c") // after b (last) comes the first

		// c is removed: the slide now at its place follows at once, with a
		// fresh dwell.
		s.SetSlides(messages("a", "b"))
		synctest.Wait()
		wantCurrent(t, s, "a")
		wantPending(t, fake, now.Add(45*time.Second), now.Add(time.Minute))

		// Everything removed: the empty state, and no dwell.
		s.SetSlides(nil)
		synctest.Wait()
		if id, ok := s.Current(); ok {
			t.Errorf("Current() = %q, true, want the empty state", id)
		}
		wantPending(t, fake, now.Add(time.Minute))
	})
}

// TestNewSlideShownAtOnce: what was just sent (or whose window just
// opened) comes to the screen at once, with a full dwell, and the carousel
// goes on from there.
func TestNewSlideShownAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		s.SetSlides(messages("a", "b", "c"))
		carousel(t, s)
		fake.Advance(5 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "a")

		s.SetSlides(messages("a", "new", "b", "c"))
		synctest.Wait()
		wantCurrent(t, s, "new")
		wantPending(t, fake, now.Add(20*time.Second), now.Add(time.Minute))
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "b")
	})
}

// TestSetSlidesEditedInPlace: a new revision of the slide on screen is
// shown where it is.
func TestSetSlidesEditedInPlace(t *testing.T) {
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	s.SetSlides(messages("a", "b"))
	edited := messages("a", "b")
	edited[0].Rev, edited[0].Text = 2, "Corrected"
	s.SetSlides(edited)
	wantCurrent(t, s, "a")
	if got := s.shown.slide.Text; got != "Corrected" {
		t.Errorf("shown text = %q, want the edit", got)
	}
}

func TestBrokenPhotoSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		dir := t.TempDir()
		good := writeJPEG(t, dir, "good.jpg", 64, 48)
		bad := dir + "/bad.jpg"
		if err := writeFile(bad, "not a jpeg"); err != nil {
			t.Fatal(err)
		}
		s.SetSlides([]device.Slide{
			photoSlide("missing", dir+"/nope.jpg", "", "Anna"),
			photoSlide("bad", bad, "", "Anna"),
			photoSlide("good", good, "", "Anna"),
		})
		carousel(t, s)
		wantCurrent(t, s, "good")
		// One slide can be shown: it stands, no dwell.
		wantPending(t, fake, now.Add(time.Minute))
		if len(s.failed) != 2 {
			t.Errorf("failed = %v, want the two broken slides", s.failed)
		}

		// The missing file arrives: the next SetSlides tries it again.
		writeJPEG(t, dir, "nope.jpg", 64, 48)
		s.SetSlides([]device.Slide{
			photoSlide("missing", dir+"/nope.jpg", "", "Anna"),
			photoSlide("good", good, "", "Anna"),
		})
		synctest.Wait()
		wantPending(t, fake, now.Add(15*time.Second), now.Add(time.Minute))
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "missing")
	})
}

func TestAllPhotosBrokenShowsEmptyState(t *testing.T) {
	s, _ := newTestScreen(t, "en", testNow(t))
	s.SetSlides([]device.Slide{photoSlide("x", t.TempDir()+"/none.jpg", "", "")})
	if id, ok := s.Current(); ok {
		t.Errorf("Current() = %q, true, want the empty state", id)
	}
}

func TestNightPausesCarousel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		s.SetSlides(messages("a", "b"))
		carousel(t, s)
		for _, m := range []device.Mode{device.ModeNightDim, device.ModeNightOff} {
			s.SetMode(m)
			synctest.Wait()
			wantPending(t, fake, now.Add(time.Minute))
		}
		fake.Advance(30 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "a")
		s.SetMode(device.ModeDay)
		synctest.Wait()
		wantPending(t, fake, now.Add(45*time.Second), now.Add(time.Minute))
	})
}

// TestCrossfadeLeavesOneView: after a transition only the new slide view
// is on the canvas and no animation runs (fyne's test driver finishes
// animations at once).
func TestCrossfadeLeavesOneView(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		showOn(t, s, hd)
		s.SetSlides(messages("a", "b"))
		carousel(t, s)
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "b")
		if n := len(s.ui.slides.Objects); n != 1 {
			t.Errorf("%d slide views on the canvas, want 1", n)
		}
		if s.ui.anim != nil || s.ui.front.opacity != 1 || s.ui.front.slide.ID != "b" {
			t.Errorf("after the fade: anim %v, front %q at opacity %v; want none, b at 1",
				s.ui.anim, s.ui.front.slide.ID, s.ui.front.opacity)
		}
	})
}

func TestRunReturnsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestScreen(t, "en", testNow(t))
		s.SetSlides(messages("a", "b"))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		synctest.Wait()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(time.Second): // bubble time: fails fast if Run hangs
			t.Fatal("Run did not return after cancel")
		}
	})
}

// receipts records OnShown's calls.
type receipts struct {
	mu  sync.Mutex
	ids []string
}

func (r *receipts) add(id string, rev uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *receipts) want(t *testing.T, want ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.ids, want) {
		t.Errorf("receipts = %q, want %q", r.ids, want)
	}
}

// TestReceiptOnlyWhenSeen: an item's receipt goes out once it has been
// fully on screen (fade done) for ShownAfter, not when it arrives; not
// while the screen is black at night; and never for the device's cards.
func TestReceiptOnlyWhenSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		var got receipts
		s, fake := newTestScreenWith(t, now, Options{OnShown: got.add})
		showOn(t, s, hd)
		card := device.Slide{ID: "card:calls", Rev: 1, Card: &device.Card{Kind: device.CardCalls,
			Calls: []device.CallEntry{{Name: "Anna", At: now, Length: time.Minute}}}}
		s.SetSlides(append(messages("a", "b"), card))
		carousel(t, s)
		seen := DefaultFade + ShownAfter
		fake.Advance(seen - time.Millisecond)
		synctest.Wait()
		got.want(t)
		fake.Advance(time.Millisecond)
		synctest.Wait()
		got.want(t, "a")

		// b comes at 15 s; the night blanks the screen before it was seen
		// long enough, and its time starts again when the day is back.
		fake.Advance(15*time.Second - seen)
		synctest.Wait()
		wantCurrent(t, s, "b")
		fake.Advance(time.Second)
		s.SetMode(device.ModeNightOff)
		synctest.Wait()
		fake.Advance(time.Minute)
		synctest.Wait()
		got.want(t, "a")
		s.SetMode(device.ModeDay)
		synctest.Wait()
		fake.Advance(seen - time.Millisecond)
		synctest.Wait()
		got.want(t, "a")
		fake.Advance(time.Millisecond)
		synctest.Wait()
		got.want(t, "a", "b")

		// The card: shown, never receipted.
		for range 3 {
			fake.Advance(15 * time.Second)
			synctest.Wait()
			if id, _ := s.Current(); id == "card:calls" {
				break
			}
		}
		wantCurrent(t, s, "card:calls")
		fake.Advance(10 * time.Second)
		synctest.Wait()
		got.want(t, "a", "b")
	})
}

// TestReceiptNeedsAScreen: a Screen that is on no canvas sends none.
func TestReceiptNeedsAScreen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		var got receipts
		s, fake := newTestScreenWith(t, now, Options{OnShown: got.add})
		s.SetSlides(messages("a", "b"))
		carousel(t, s)
		fake.Advance(time.Minute)
		synctest.Wait()
		got.want(t)
	})
}

// TestQuietNight: at night a new arrival does not jump the queue nor
// change what is on screen; in the morning the carousel goes on.
func TestQuietNight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		s.SetSlides(messages("a", "b"))
		carousel(t, s)
		for _, m := range []device.Mode{device.ModeNightDim, device.ModeNightOff} {
			s.SetMode(m)
			s.SetSlides(messages("a", "new-"+m.String(), "b"))
			synctest.Wait()
			wantCurrent(t, s, "a")
		}
		s.SetMode(device.ModeDay)
		synctest.Wait()
		fake.Advance(15 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "new-night-off")

		// The night's card, there before the morning, is the day's first
		// screen.
		s.SetMode(device.ModeNightDim)
		card := device.Slide{ID: "card:new-since", Rev: 1, Card: &device.Card{Kind: device.CardNewSince,
			New: device.NewSince{Photos: 3, From: []string{"Anna"}}}}
		s.SetSlides(append([]device.Slide{card}, messages("a", "b")...))
		synctest.Wait()
		wantCurrent(t, s, "a")
		s.SetMode(device.ModeDay)
		synctest.Wait()
		wantCurrent(t, s, "card:new-since")
	})
}

func TestCardText(t *testing.T) {
	now := testNow(t)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 22, h, m, 0, 0, now.Location()) }
	calls := &device.Card{Kind: device.CardCalls, Calls: []device.CallEntry{
		{Name: "Anna", At: at(10, 2), Length: 11*time.Minute + 20*time.Second},
		{Name: "Eva", At: at(15, 10), Missed: true},
		{Name: "Erik", At: at(16, 0), Length: 75 * time.Minute},
	}}
	booking := &device.Card{Kind: device.CardBooking, Booking: device.Booking{Name: "Eva", At: at(14, 0), Reason: "Medicine check"}}
	tomorrow := &device.Card{Kind: device.CardBooking, Booking: device.Booking{Name: "Eva", At: at(14, 0).AddDate(0, 0, 1)}}
	news := &device.Card{Kind: device.CardNewSince, New: device.NewSince{Photos: 3, Messages: 1, From: []string{"Anna", "Erik", "Lina", "Olle"}}}
	one := &device.Card{Kind: device.CardNewSince, New: device.NewSince{Photos: 1, From: []string{"Anna"}}}
	for _, tc := range []struct {
		lang string
		card *device.Card
		want string
	}{
		{"en", calls, "Calls today: Anna 10:02 (12 min) | Eva tried to call at 15:10 | Erik 16:00 (1 h 15 min)"},
		{"sv", calls, "Samtal i dag: Anna 10:02 (12 min) | Eva försökte ringa kl. 15:10 | Erik 16:00 (1 tim 15 min)"},
		{"fi", calls, "Tämän päivän puhelut: Anna klo 10:02 (12 min) | Eva yritti soittaa klo 15:10 | Erik klo 16:00 (1 t 15 min)"},
		{"de", calls, "Anrufe heute: Anna 10:02 Uhr (12 Min.) | Eva hat um 15:10 Uhr versucht anzurufen | Erik 16:00 Uhr (1 Std. 15 Min.)"},
		{"en", booking, ": Eva will call at 14:00 | Medicine check"},
		{"de", booking, ": Eva ruft um 14:00 Uhr an | Medicine check"},
		{"en", tomorrow, ": Eva will call on Monday at 14:00"},
		{"fi", tomorrow, ": Eva soittaa maanantaina klo 14:00"},
		{"en", news, "New since yesterday: 3 photos and 1 message | from Anna, Erik and Lina"},
		{"sv", one, "Nytt sedan i går: 1 bild | från Anna"},
		{"fi", news, "Uutta eilisen jälkeen: 3 kuvaa ja 1 viesti | lähettäjät Anna, Erik ja Lina"},
		{"de", news, "Neu seit gestern: 3 Fotos und 1 Nachricht | von Anna, Erik und Lina"},
	} {
		lc, err := lookupLocale(tc.lang)
		if err != nil {
			t.Fatal(err)
		}
		title, body := lc.cardText(tc.card, now)
		if got := title + ": " + strings.Join(body, " | "); got != tc.want {
			t.Errorf("%s %v card = %q, want %q", tc.lang, tc.card.Kind, got, tc.want)
		}
	}
}

// TestLongMessagePages: a text too long for one screen at the smallest
// size is shown page by page, each for its reading time, and then the
// carousel goes on. A single long message goes round its pages.
func TestLongMessagePages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		showOn(t, s, hd)
		long := strings.Repeat("The nurse comes on Tuesday at ten to change the dressing and to look at your new tablets. ", 9)
		s.SetSlides([]device.Slide{messageSlide("long", long, "Maria", now), messageSlide("short", "Hello", "Anna", now)})
		carousel(t, s)
		pages := s.shown.pages
		if pages < 2 {
			t.Fatalf("%d pages for %d words, want several", pages, len(strings.Fields(long)))
		}
		total := time.Duration(0)
		for p := range pages {
			if s.shown.slide.ID != "long" || s.shown.page != p {
				t.Fatalf("showing %s page %d, want long page %d", s.shown.slide.ID, s.shown.page, p)
			}
			d := s.shown.dwell
			if d <= DefaultDwell {
				t.Errorf("page %d stays %v, want its reading time, over %v", p, d, DefaultDwell)
			}
			total += d
			fake.Advance(d)
			synctest.Wait()
		}
		wantCurrent(t, s, "short")
		if s.shown.dwell != DefaultDwell {
			t.Errorf("a short message stays %v, want %v", s.shown.dwell, DefaultDwell)
		}
		if min := time.Duration(len(strings.Fields(long))) * readingPerWord; total < min {
			t.Errorf("the long message stayed %v in all, want at least %v (100 words a minute)", total, min)
		}

		// Alone, it goes round its pages.
		s.SetSlides([]device.Slide{messageSlide("long", long, "Maria", now)})
		synctest.Wait()
		wantCurrent(t, s, "long")
		first := s.shown.page
		fake.Advance(s.shown.dwell)
		synctest.Wait()
		if s.shown.page == first {
			t.Errorf("a lone long message stays on page %d", first)
		}
	})
}

// TestPagesAfterLayout: a long text set before the window had its size
// is split into pages once it has one.
func TestPagesAfterLayout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		long := strings.Repeat("Remember the physiotherapist on Wednesday morning, and drink enough water. ", 12)
		s.SetSlides([]device.Slide{messageSlide("m", long, "Anna", now)})
		carousel(t, s)
		if s.shown.pages != 1 {
			t.Fatalf("before layout: %d pages, want 1", s.shown.pages)
		}
		showOn(t, s, hd)
		synctest.Wait()
		if s.shown.pages < 2 {
			t.Fatalf("after layout: %d pages, want several", s.shown.pages)
		}
		fake.Advance(s.shown.dwell)
		synctest.Wait()
		if s.shown.page != 1 {
			t.Errorf("after a page's dwell: page %d, want 1", s.shown.page)
		}
	})
}

// TestPageMarks: every page of a long text carries its mark, and its
// body text is at least the smallest size.
func TestPageMarks(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	long := strings.Repeat("Remember the physiotherapist on Wednesday morning, and drink enough water. ", 12)
	s, _ := newTestScreen(t, "en", now)
	showOn(t, s, hd)
	s.SetSlides([]device.Slide{messageSlide("m", long, "Anna", now)})
	n := s.shown.pages
	if n < 3 {
		t.Fatalf("pages = %d, want 3 or more", n)
	}
	for page := range n {
		s.step.Lock()
		s.showPage(s.shown.slide, nil, page)
		s.step.Unlock()
		v := s.ui.front
		found := false
		for _, l := range v.lines {
			if l.t.Text == fmt.Sprintf("%d/%d", page+1, n) {
				found = true
			}
			if l.base == textMain && capRatio*l.t.TextSize < minCapFrac*hd.Height {
				t.Errorf("page %d: %q at size %.1f: capitals under 5 %%", page, l.t.Text, l.t.TextSize)
			}
		}
		if !found {
			t.Errorf("page %d has no mark %d/%d", page, page+1, n)
		}
	}
}

// TestTextsNeverOverlap: in a fade the old view's texts are gone before
// the new view's appear.
func TestTextsNeverOverlap(t *testing.T) {
	test.NewTempApp(t)
	lc, _ := lookupLocale("en")
	now := testNow(t)
	old := newSlideView(kindMessage, messageSlide("a", "Hello", "Anna", now), nil, lc, slideText{body: "Hello"}, 0)
	nv := newSlideView(kindMessage, messageSlide("b", "Bye", "Anna", now), nil, lc, slideText{body: "Bye"}, 0)
	for k := range opacitySteps + 1 {
		p := float32(k) / opacitySteps
		old.fadeTextOut(p)
		nv.setOpacity(p)
		if old.level > 0 && nv.level > 0 {
			t.Errorf("at %.2f the old text is at %d/%d and the new at %d/%d", p, old.level, textSteps, nv.level, textSteps)
		}
	}
	if old.level != 0 || nv.level != textSteps {
		t.Errorf("after the fade: old %d, new %d; want 0, %d", old.level, nv.level, textSteps)
	}
}

func TestReadingDwell(t *testing.T) {
	for _, tc := range []struct {
		words int
		want  time.Duration
	}{
		{0, DefaultDwell},
		{10, DefaultDwell},
		{50, 34 * time.Second},
		{100, 64 * time.Second},
	} {
		if got := readingDwell(tc.words, DefaultDwell); got != tc.want {
			t.Errorf("readingDwell(%d) = %v, want %v", tc.words, got, tc.want)
		}
	}
}

// TestClockUntrusted: while the clock cannot be believed there is no time
// on screen and no "sent" line; afterwards both are back.
func TestClockUntrusted(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "fi", now)
	showOn(t, s, hd)
	s.SetSlides([]device.Slide{messageSlide("m", "Hei", "Anna", now)})
	s.SetClockTrusted(false)
	if c := s.ui.clock; c.time.Text != "" || c.date.Text != "Kelloa asetetaan…" {
		t.Errorf("untrusted clock shows %q / %q", c.time.Text, c.date.Text)
	}
	for _, l := range s.ui.front.lines {
		if strings.Contains(l.t.Text, "14:05") || strings.Contains(l.t.Text, "tänään") {
			t.Errorf("untrusted: %q on screen", l.t.Text)
		}
	}
	s.SetClockTrusted(true)
	if c := s.ui.clock; c.time.Text != "14:05" || c.date.Text != "sunnuntai 22. marraskuuta" {
		t.Errorf("trusted again, the clock shows %q / %q", c.time.Text, c.date.Text)
	}
}
