package ui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
)

// TestLayoutRules lays out every kind of screen at several sizes and checks
// the rules for a room-distance screen on the objects themselves: clock
// digits at least 10 % of the height, every text at least 5 %, nothing
// outside the screen or under the clock, contrast at least 7:1.
func TestLayoutRules(t *testing.T) {
	dir := t.TempDir()
	wide := writeJPEG(t, dir, "wide.jpg", 320, 180)
	tall := writeJPEG(t, dir, "tall.jpg", 180, 320)
	now := testNow(t)
	long := strings.Repeat("Remember the physiotherapist on Wednesday morning, and drink enough water. ", 12)
	scenarios := []struct {
		name, locale string
		slides       []device.Slide
	}{
		{"empty", "en", nil},
		{"empty fi", "fi", nil},
		{"photo", "en", []device.Slide{photoSlide("p", wide, "By the lake", "Anna")}},
		{"photo no text", "en", []device.Slide{photoSlide("p", tall, "", "")}},
		{"photo long caption", "de", []device.Slide{photoSlide("p", tall, long, "Familie Müller-Lüdenscheidt aus Oberammergau")}},
		{"message", "sv", []device.Slide{messageSlide("m", "Vi ses på söndag!", "Anna", now.Add(-time.Hour))}},
		{"message long", "fi", []device.Slide{messageSlide("m", long, "Kotihoito, Marjatta Virtanen-Häkkinen", now.Add(-50*time.Hour))}},
		{"message one long word", "de", []device.Slide{messageSlide("m", strings.Repeat("Donaudampfschifffahrt", 30), "Opa", now)}},
	}
	sizes := []fyne.Size{fyne.NewSize(1280, 720), fyne.NewSize(1920, 1080), fyne.NewSize(1024, 768)}
	for _, sc := range scenarios {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s %vx%v", sc.name, size.Width, size.Height), func(t *testing.T) {
				test.NewTempApp(t)
				s, _ := newTestScreen(t, sc.locale, now)
				showOn(t, s, size)
				s.SetSlides(sc.slides)
				checkLayout(t, s, size)
			})
		}
	}
}

func checkLayout(t *testing.T, s *Screen, size fyne.Size) {
	t.Helper()
	h := size.Height
	clk := s.ui.clock
	if got := clk.time.TextSize; got < minClockFrac*h || capRatio*got < minClockFrac*h {
		t.Errorf("clock text size %.1f (digits %.1f px), want digits >= %.1f", got, capRatio*got, minClockFrac*h)
	}
	front := s.ui.front
	texts := []*canvas.Text{clk.time, clk.date}
	for _, l := range front.lines {
		texts = append(texts, l.t)
	}
	if front.kind != kindPhoto && len(front.lines) == 0 {
		t.Error("no text on a card")
	}
	clockBox := rect{clk.panel.Position(), clk.panel.Size()}
	for i, txt := range texts {
		if txt.Hidden || txt.Text == "" {
			continue
		}
		if txt.TextSize < minTextFrac*h {
			t.Errorf("%q: text size %.1f, want >= %.1f", txt.Text, txt.TextSize, minTextFrac*h)
		}
		ms := fyne.MeasureText(txt.Text, txt.TextSize, txt.TextStyle)
		pos := txt.Position()
		if txt.Alignment == fyne.TextAlignCenter {
			pos.X += (txt.Size().Width - ms.Width) / 2
		}
		r := rect{pos, ms}
		if r.pos.X < 0 || r.pos.Y < 0 || r.pos.X+r.size.Width > size.Width || r.pos.Y+r.size.Height > size.Height+1 {
			t.Errorf("%q at %v size %v is not inside the %v screen", txt.Text, r.pos, r.size, size)
		}
		if i >= 2 && r.inkOverlaps(clockBox, txt.TextSize) {
			t.Errorf("%q at %v size %v runs under the clock %v", txt.Text, r.pos, r.size, clockBox)
		}
		if c := contrast(txt.Color, behind(s, txt)); c < 7 {
			t.Errorf("%q: contrast %.2f, want >= 7", txt.Text, c)
		}
	}
}

// behind is the worst-case opaque colour behind a text: a white photo
// under the shade on photo slides, else the card.
func behind(s *Screen, txt *canvas.Text) color.Color {
	white := color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	clk, front := s.ui.clock, s.ui.front
	if txt == clk.time || txt == clk.date {
		panel := clk.panel.FillColor.(color.NRGBA)
		if front.kind == kindPhoto && front.panel == 0 {
			// Beside the photo: the caption's column is behind.
			return over(panel, over(front.band.FillColor.(color.NRGBA), white))
		}
		if front.kind == kindPhoto {
			return over(panel, white)
		}
		return over(panel, front.bg.FillColor)
	}
	if front.kind == kindPhoto {
		return over(front.band.FillColor.(color.NRGBA), white)
	}
	return front.bg.FillColor
}

type rect struct {
	pos  fyne.Position
	size fyne.Size
}

// inkOverlaps reports whether the visible part of a text box (from cap
// top to descender) meets o. Fonts' boxes have empty space above capitals.
func (r rect) inkOverlaps(o rect, textSize float32) bool {
	top := r.pos.Y + r.size.Height - (capRatio+descRatio+0.3)*textSize
	return r.pos.X < o.pos.X+o.size.Width && o.pos.X < r.pos.X+r.size.Width &&
		top < o.pos.Y+o.size.Height && o.pos.Y < r.pos.Y+r.size.Height
}

// TestClockOnEveryScreen: the clock is shown in every mode but night-off,
// where nothing but black is drawn.
func TestClockOnEveryScreen(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	showOn(t, s, hd)
	for _, tc := range []struct {
		mode               device.Mode
		clock, slides, dim bool
	}{
		{device.ModeDay, true, true, false},
		{device.ModeNightDim, true, true, true},
		{device.ModeNightOff, false, false, false},
		{device.ModeDay, true, true, false},
	} {
		s.SetMode(tc.mode)
		v := s.ui
		if v.clock.Visible() != tc.clock || v.slides.Visible() != tc.slides || v.dim.Visible() != tc.dim {
			t.Errorf("%v: clock %v slides %v dim %v, want %v %v %v", tc.mode,
				v.clock.Visible(), v.slides.Visible(), v.dim.Visible(), tc.clock, tc.slides, tc.dim)
		}
	}
}
