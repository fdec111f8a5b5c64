package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/skip2/go-qrcode"

	"github.com/hearth-home/hearth/device"
)

// testCode is what device.SetupCode makes of a Raspberry Pi serial.
const (
	testCode   = "HRTH-7F3A-91C2"
	testSerial = "Serial 10000000abcdef01"
)

var fullHD = fyne.NewSize(1920, 1080)

// TestGoldenUnprovisioned: the "not set up yet" screen at 720p and 1080p,
// and in every language at 720p.
func TestGoldenUnprovisioned(t *testing.T) {
	for _, tc := range []struct {
		name, locale string
		size         fyne.Size
	}{
		{"unprovisioned.png", "en", hd},
		{"unprovisioned_1080.png", "en", fullHD},
		{"unprovisioned_sv.png", "sv", hd},
		{"unprovisioned_fi.png", "fi", hd},
		{"unprovisioned_de.png", "de", hd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			s, _ := newTestScreen(t, tc.locale, testNow(t))
			w := showOn(t, s, tc.size)
			s.ShowUnprovisioned(testCode, testSerial)
			img := w.Canvas().Capture()
			test.AssertImageMatches(t, tc.name, img)
			checkQR(t, s, img, testCode)
		})
	}
}

// checkQR checks the QR code in a capture of the screen module by module:
// each module is a uniform square of the colour the library's symbol for
// code wants, quiet zone included. (No QR decoder is available to the
// tests; this checks that the symbol reaches the screen unchanged.)
func checkQR(t *testing.T, s *Screen, img image.Image, code string) {
	t.Helper()
	q, err := qrcode.New(code, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Bitmap()
	sv := s.ui.sv
	if sv == nil || sv.qr == nil || !sv.qr.Visible() || !s.ui.setupBox.Visible() {
		t.Fatal("no QR code on screen")
	}
	k := sv.qrScale
	if k < 1 || sv.qr.Size().Width != float32(len(want)*k) {
		t.Fatalf("QR code %v wide at %d px a module, want %d modules", sv.qr.Size(), k, len(want))
	}
	h := img.Bounds().Dy()
	if side := float64(len(want) * k); side < 0.25*float64(h) || side > 0.31*float64(h) {
		t.Errorf("QR code %v px on a %d px high screen, want about 30 %%", side, h)
	}
	x0, y0 := int(sv.qr.Position().X), int(sv.qr.Position().Y)
	bad := 0
	for my, row := range want {
		for mx, dark := range row {
			c := qrLight
			if dark {
				c = qrDark
			}
			for py := my * k; py < (my+1)*k; py++ {
				for px := mx * k; px < (mx+1)*k; px++ {
					if got := color.NRGBAModel.Convert(img.At(x0+px, y0+py)).(color.NRGBA); got != c {
						if bad++; bad <= 5 {
							t.Errorf("module (%d, %d) pixel (%d, %d) = %v, want %v", mx, my, px, py, got, c)
						}
					}
				}
			}
		}
	}
	// Around the symbol, the light card: at least one more module.
	for _, p := range []image.Point{{x0 - k/2, y0 + len(want)*k/2}, {x0 + len(want)*k + k/2, y0 + len(want)*k/2}} {
		if got := color.NRGBAModel.Convert(img.At(p.X, p.Y)).(color.NRGBA); got != qrLight {
			t.Errorf("card beside the QR code at %v = %v, want %v", p, got, qrLight)
		}
	}
}

// TestQRImage: every module of a symbol becomes a uniform square of k x k
// pixels of its colour.
func TestQRImage(t *testing.T) {
	q, err := qrcode.New(testCode, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bits := q.Bitmap()
	if n := len(bits); n != 21+8 {
		t.Errorf("%s is a %d-module symbol with its quiet zone, want version 1 (29)", testCode, n)
	}
	// Sanity: a QR symbol has finder patterns at three corners (past the
	// 4-module quiet zone): dark 7x7 ring, light ring, dark 3x3 core.
	for _, c := range []image.Point{{4, 4}, {len(bits) - 11, 4}, {4, len(bits) - 11}} {
		for y := range 7 {
			for x := range 7 {
				ring := x == 0 || y == 0 || x == 6 || y == 6
				core := x >= 2 && x <= 4 && y >= 2 && y <= 4
				if got := bits[c.Y+y][c.X+x]; got != (ring || core) {
					t.Fatalf("finder at %v: module (%d, %d) dark = %v", c, x, y, got)
				}
			}
		}
	}
	for _, k := range []int{1, 2, 7, 11} {
		img := qrImage(bits, k)
		if got, want := img.Bounds(), image.Rect(0, 0, len(bits)*k, len(bits)*k); got != want {
			t.Fatalf("qrImage(k=%d) bounds = %v, want %v", k, got, want)
		}
		for y := range img.Bounds().Dy() {
			for x := range img.Bounds().Dx() {
				want := qrLight
				if bits[y/k][x/k] {
					want = qrDark
				}
				if got := img.NRGBAAt(x, y); got != want {
					t.Fatalf("qrImage(k=%d) pixel (%d, %d) = %v, want %v", k, x, y, got, want)
				}
			}
		}
	}
	for _, tc := range []struct {
		n    int
		side float32
		want int
	}{{29, 216, 7}, {29, 324, 11}, {29, 203, 7}, {29, 202.9, 6}, {29, 10, 1}, {0, 100, 0}} {
		if got := qrModuleScale(tc.n, tc.side); got != tc.want {
			t.Errorf("qrModuleScale(%d, %v) = %d, want %d", tc.n, tc.side, got, tc.want)
		}
	}
}

// TestUnprovisionedLayoutRules: at every size and in every language the
// setup screen keeps the room-distance rules: text at least 5 % of the
// height, inside the screen, clear of the clock and the QR code, contrast
// at least 7:1; and the QR code about 30 % of the height, clear of the clock.
func TestUnprovisionedLayoutRules(t *testing.T) {
	sizes := []fyne.Size{hd, fullHD, fyne.NewSize(1024, 768), fyne.NewSize(1024, 600)}
	for _, lang := range []string{"en", "sv", "fi", "de"} {
		for _, size := range sizes {
			for _, hint := range []string{"", testSerial} {
				t.Run(fmt.Sprintf("%s %vx%v hint=%v", lang, size.Width, size.Height, hint != ""), func(t *testing.T) {
					test.NewTempApp(t)
					s, _ := newTestScreen(t, lang, testNow(t))
					showOn(t, s, size)
					s.ShowUnprovisioned(testCode, hint)
					checkSetupLayout(t, s, size)
				})
			}
		}
	}
}

func checkSetupLayout(t *testing.T, s *Screen, size fyne.Size) {
	t.Helper()
	h := size.Height
	sv, clk := s.ui.sv, s.ui.clock
	if sv == nil {
		t.Fatal("no setup screen")
	}
	clockBox := rect{clk.panel.Position(), clk.panel.Size()}
	qrBox := rect{sv.frame.Position(), sv.frame.Size()}
	if side := sv.qr.Size().Height; side < 0.25*h || side > 0.31*h {
		t.Errorf("QR code %v high, want about 30 %% of %v", side, h)
	}
	if qrBox.pos.X < 0 || qrBox.pos.X+qrBox.size.Width > size.Width || qrBox.pos.Y+qrBox.size.Height > size.Height {
		t.Errorf("QR card %v %v is not inside the %v screen", qrBox.pos, qrBox.size, size)
	}
	if qrBox.pos.Y < clockBox.pos.Y+clockBox.size.Height {
		t.Errorf("QR card at %v runs under the clock %v", qrBox.pos, clockBox)
	}
	var all []string
	for _, l := range sv.lines {
		txt := l.t
		all = append(all, txt.Text)
		if txt.TextSize < minTextFrac*h {
			t.Errorf("%q: text size %.1f, want >= %.1f", txt.Text, txt.TextSize, minTextFrac*h)
		}
		ms := fyne.MeasureText(txt.Text, txt.TextSize, txt.TextStyle)
		r := rect{txt.Position(), ms}
		if r.pos.X < 0 || r.pos.Y < 0 || r.pos.X+r.size.Width > size.Width || r.pos.Y+r.size.Height > size.Height+1 {
			t.Errorf("%q at %v size %v is not inside the %v screen", txt.Text, r.pos, r.size, size)
		}
		if r.inkOverlaps(clockBox, txt.TextSize) {
			t.Errorf("%q at %v size %v runs under the clock %v", txt.Text, r.pos, r.size, clockBox)
		}
		if r.inkOverlaps(qrBox, txt.TextSize) {
			t.Errorf("%q at %v size %v runs over the QR code %v", txt.Text, r.pos, r.size, qrBox)
		}
		if c := contrast(txt.Color, emptyBG); c < 7 {
			t.Errorf("%q: contrast %.2f, want >= 7", txt.Text, c)
		}
	}
	// The whole code is on screen, never cut.
	var joined string
	for _, s := range all {
		joined += s
	}
	if !bytes.Contains([]byte(joined), []byte(testCode)) {
		t.Errorf("texts %q do not show the whole code %s", all, testCode)
	}
	if c := contrast(qrDark, qrLight); c < 15 {
		t.Errorf("QR contrast %.1f, want >= 15", c)
	}
}

// TestUnprovisionedCoversCarousel: the setup screen replaces the carousel
// (which pauses under it, the clock going on), a call still covers it, and
// ClearUnprovisioned brings back the very slide that was showing with a
// full dwell.
func TestUnprovisionedCoversCarousel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		now := testNow(t)
		s, fake := newTestScreen(t, "en", now)
		w := showOn(t, s, hd)
		s.SetSlides(messages("a", "b"))
		carousel(t, s)
		before := capturePNG(t, w.Canvas().Capture())

		s.ShowUnprovisioned(testCode, "")
		synctest.Wait()
		v := s.ui
		if !v.setupBox.Visible() || v.slides.Visible() || !v.clock.Visible() {
			t.Errorf("unprovisioned: setup %v slides %v clock %v, want the setup screen and the clock",
				v.setupBox.Visible(), v.slides.Visible(), v.clock.Visible())
		}
		wantPending(t, fake, now.Add(time.Minute)) // the clock only
		fake.Advance(30 * time.Second)
		synctest.Wait()
		wantCurrent(t, s, "a")

		// The same again changes nothing; another code replaces the view.
		sv := v.sv
		s.ShowUnprovisioned(testCode, "")
		if v.sv != sv {
			t.Error("ShowUnprovisioned with the same code made a new view")
		}
		s.ShowUnprovisioned("HRTH-0000-0000", "")
		if v.sv == sv || v.sv.code != "HRTH-0000-0000" {
			t.Error("ShowUnprovisioned with another code kept the old view")
		}

		s.ShowCall(activeCall(now, anna))
		if !v.callBox.Visible() || v.setupBox.Visible() {
			t.Errorf("in a call: call %v setup %v, want the call alone", v.callBox.Visible(), v.setupBox.Visible())
		}
		s.ShowCall(device.CallView{})
		if v.callBox.Visible() || !v.setupBox.Visible() || v.slides.Visible() {
			t.Errorf("after the call: call %v setup %v slides %v, want the setup screen",
				v.callBox.Visible(), v.setupBox.Visible(), v.slides.Visible())
		}
		s.SetMode(device.ModeNightOff)
		if v.setupBox.Visible() {
			t.Error("night-off shows the setup screen")
		}
		s.SetMode(device.ModeDay)

		s.ClearUnprovisioned()
		s.ClearUnprovisioned() // twice is once
		synctest.Wait()
		if v.setupBox.Visible() || !v.slides.Visible() || v.sv != nil {
			t.Errorf("cleared: setup %v slides %v, want the carousel", v.setupBox.Visible(), v.slides.Visible())
		}
		wantCurrent(t, s, "a")
		if after := capturePNG(t, w.Canvas().Capture()); !bytes.Equal(before, after) {
			t.Error("the carousel looks different after the setup screen")
		}
		wantPending(t, fake, now.Add(45*time.Second), now.Add(time.Minute))
	})
}

// TestUnprovisionedBeforeContent: shown before the screen is on a canvas,
// it is there when the canvas comes.
func TestUnprovisionedBeforeContent(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	s.ShowUnprovisioned(testCode, "")
	s.ShowUnprovisioned(testCode, "") // the same: nothing to do
	w := showOn(t, s, hd)
	checkQR(t, s, w.Canvas().Capture(), testCode)
}

// TestUnprovisionedConcurrent: any goroutine may show and clear it while
// slides arrive (run with -race); the canvas work is serialised as on
// Fyne's goroutine.
func TestUnprovisionedConcurrent(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	drain := serialDo(t, s)
	showOn(t, s, hd)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 20 {
				switch (i + j) % 3 {
				case 0:
					s.ShowUnprovisioned(testCode, fmt.Sprint(j))
				case 1:
					s.ClearUnprovisioned()
				default:
					s.SetSlides(messages("a", fmt.Sprint(j)))
				}
			}
		})
	}
	wg.Wait()
	s.ShowUnprovisioned(testCode, "last")
	drain()
	if sv := s.ui.sv; sv == nil || sv.hint != "last" || !s.ui.setupBox.Visible() {
		t.Error("the last ShowUnprovisioned is not on screen")
	}
}

// TestUnprovisionedNoCode: without a code the screen still says it is not
// set up, with no code and no QR code.
func TestUnprovisionedNoCode(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	showOn(t, s, hd)
	s.ShowUnprovisioned("  ", "")
	sv := s.ui.sv
	if sv == nil || sv.qr != nil || len(sv.lines) == 0 {
		t.Fatal("want the setup screen's text without a QR code")
	}
	for _, l := range sv.lines {
		if l.t.Text == testCode || l.t.Text == sv.lc.setup.code+": " {
			t.Errorf("line %q without a code", l.t.Text)
		}
	}
}

func TestLocaleSetupWords(t *testing.T) {
	seen := map[string]string{}
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		l, _ := lookupLocale(tag)
		w := l.setup
		if w.title == "" || w.line == "" || w.code == "" {
			t.Errorf("%s: setup words %+v, want all three", tag, w)
		}
		if other, dup := seen[w.title]; dup {
			t.Errorf("%s: setup title %q is %s's", tag, w.title, other)
		}
		seen[w.title] = tag
	}
}
