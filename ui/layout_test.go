package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
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

// TestMeasuredRules measures the rules on rendered screens at the three
// sizes: clock digits at least 10 % of the height, a message's capitals at
// least 5 %, and every text at least 7:1 against what is really behind it,
// photos included (a white photo, the worst case). Each screen is rendered
// twice, with its texts and without: the difference is the ink, the second
// render what is behind it.
func TestMeasuredRules(t *testing.T) {
	dir := t.TempDir()
	white := writeSolidJPEG(t, dir, "white.jpg", 960, 540, color.RGBA{R: 255, G: 255, B: 255, A: 255})
	tall := writeSolidJPEG(t, dir, "tall.jpg", 540, 720, color.RGBA{R: 255, G: 250, B: 200, A: 255})
	now := testNow(t)
	scenarios := []struct {
		name  string
		slide device.Slide
	}{
		{"message", messageSlide("m", "SEE YOU ON SUNDAY AFTER LUNCH WITH THE CHILDREN AND THE DOG", "Anna", now.Add(-time.Hour))},
		{"message long", messageSlide("m", strings.Repeat("WE WILL COME ON TUESDAY AT TEN AND BRING THE NEW TABLETS ", 14), "Home care", now)},
		{"white photo", photoSlide("p", white, "Grandpa's 80th birthday by the lake, with all the grandchildren", "Anna")},
		{"pale portrait", photoSlide("p", tall, "Lina's first day at school", "Erik")},
	}
	for _, sc := range scenarios {
		for _, size := range []fyne.Size{full, hd, small} {
			t.Run(fmt.Sprintf("%s %vx%v", sc.name, size.Width, size.Height), func(t *testing.T) {
				test.NewTempApp(t)
				s, _ := newTestScreen(t, "en", now)
				w := showOn(t, s, size)
				s.SetSlides([]device.Slide{sc.slide})
				measureRules(t, s, w, size)
			})
		}
	}
}

func measureRules(t *testing.T, s *Screen, w fyne.Window, size fyne.Size) {
	t.Helper()
	clk, front := s.ui.clock, s.ui.front
	texts := []*canvas.Text{clk.time, clk.date}
	for _, l := range front.lines {
		texts = append(texts, l.t)
	}
	with := w.Canvas().Capture()
	colours := make([]color.Color, len(texts))
	for i, txt := range texts {
		colours[i] = txt.Color
		txt.Color = color.Transparent
		canvas.Refresh(txt)
	}
	without := w.Canvas().Capture()
	for i, txt := range texts {
		txt.Color = colours[i]
		canvas.Refresh(txt)
	}
	// Captures may be scaled; measure in the capture's pixels.
	scale := float32(with.Bounds().Dx()) / size.Width
	h := float32(with.Bounds().Dy())

	// ink is the pixels of a text's box where the two renders differ, and
	// the first run of rows with ink in it: the text's own, before a gap
	// and whatever of the next line reaches into its box.
	type inkBox struct {
		top, bottom int
		pix         []image.Point
	}
	ink := func(txt *canvas.Text) inkBox {
		p, sz := txt.Position(), txt.Size()
		r := image.Rect(int(p.X*scale), int(p.Y*scale), int((p.X+sz.Width)*scale), int((p.Y+sz.Height)*scale)).
			Intersect(with.Bounds())
		b := inkBox{top: -1, bottom: -2}
		ended := false
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := false
			for x := r.Min.X; x < r.Max.X; x++ {
				if differs(with.At(x, y), without.At(x, y)) {
					b.pix = append(b.pix, image.Pt(x, y))
					row = true
				}
			}
			switch {
			case row && b.top < 0:
				b.top, b.bottom = y, y
			case row && !ended:
				b.bottom = y
			case !row && b.top >= 0:
				ended = true
			}
		}
		return b
	}
	if d := ink(clk.time); float32(d.bottom-d.top+1) < minClockFrac*h {
		t.Errorf("clock digits %d px high, want >= %.0f", d.bottom-d.top+1, minClockFrac*h)
	}
	if front.kind == kindMessage {
		var first *canvas.Text
		for _, l := range front.lines {
			if l.base == textMain {
				first = l.t
				break
			}
		}
		if first == nil {
			t.Fatal("no message text")
		}
		if d := ink(first); float32(d.bottom-d.top+1) < minCapFrac*h {
			t.Errorf("message capitals %d px high (%q), want >= %.0f", d.bottom-d.top+1, first.Text, minCapFrac*h)
		}
	}
	for _, txt := range texts {
		if txt.Text == "" || txt.Hidden {
			continue
		}
		d := ink(txt)
		if len(d.pix) == 0 {
			t.Errorf("%q left no ink", txt.Text)
			continue
		}
		// The text's own colour: its brightest ink (every text is light).
		var fg color.Color = color.Black
		for _, p := range d.pix {
			if c := with.At(p.X, p.Y); luminance(c) > luminance(fg) {
				fg = c
			}
		}
		worst := 21.0
		for _, p := range d.pix {
			worst = math.Min(worst, contrast(fg, without.At(p.X, p.Y)))
		}
		if worst < 7 {
			t.Errorf("%q: contrast %.2f against what is behind it, want >= 7", txt.Text, worst)
		}
	}
}

// differs reports whether two pixels differ by more than rounding.
func differs(a, b color.Color) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) bool { return x>>8 > y>>8+6 || y>>8 > x>>8+6 }
	return d(ar, br) || d(ag, bg) || d(ab, bb)
}

// writeSolidJPEG saves a w x h JPEG of one colour in dir.
func writeSolidJPEG(t testing.TB, dir, name string, w, h int, c color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return saveJPEG(t, dir, name, img)
}
