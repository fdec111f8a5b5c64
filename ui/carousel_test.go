package ui

import (
	"context"
	"slices"
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
