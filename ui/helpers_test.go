package ui

import (
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the zone must not depend on the test machine

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
)

// Sunday 22 November 2026, 14:05 in Stockholm: the goldens' moment.
func testNow(t testing.TB) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatalf("load zone: %v", err)
	}
	return time.Date(2026, 11, 22, 14, 5, 0, 0, loc)
}

func newTestScreen(t testing.TB, locale string, now time.Time) (*Screen, *clock.Fake) {
	t.Helper()
	return newTestScreenWith(t, now, Options{Locale: locale})
}

// newTestScreenWith is newTestScreen with more options; the clock, zone
// and logger are the test's.
func newTestScreenWith(t testing.TB, now time.Time, opts Options) (*Screen, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(now)
	// The screen's theme, as package kiosk sets it: its background is the
	// ground under the translucent layers.
	fyne.CurrentApp().Settings().SetTheme(Theme())
	opts.Clock, opts.Location, opts.Logger = fake, now.Location(), testLogger(t)
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, fake
}

// showOn puts s in a test window of size and returns it.
func showOn(t *testing.T, s *Screen, size fyne.Size) fyne.Window {
	t.Helper()
	w := test.NewTempWindow(t, s.Content())
	w.SetPadded(false)
	w.Resize(size)
	return w
}

// writeJPEG draws a small landscape-like scene (sky, sun, hills) of w x h
// and saves it as a JPEG in dir.
func writeJPEG(t testing.TB, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/fw, float64(y)/fh
			// sky: deep blue at the top to warm near the horizon
			c := color.RGBA{R: uint8(70 + 170*fy), G: uint8(130 + 90*fy), B: uint8(220 - 40*fy), A: 255}
			// sun
			if d := math.Hypot((fx-0.72)*fw, (fy-0.3)*fh) / math.Min(fw, fh); d < 0.09 {
				c = color.RGBA{R: 255, G: 236, B: 170, A: 255}
			}
			// two hills
			if fy > 0.62+0.08*math.Sin(fx*5.5) {
				c = color.RGBA{R: uint8(60 + 40*fx), G: uint8(120 + 40*(1-fy)), B: 60, A: 255}
			}
			if fy > 0.78+0.05*math.Sin(fx*9+1) {
				c = color.RGBA{R: 40, G: uint8(90 + 30*fx), B: 45, A: 255}
			}
			// a red house
			if fx > 0.2 && fx < 0.32 && fy > 0.6 && fy < 0.72 {
				c = color.RGBA{R: 170, G: 40, B: 35, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	return saveJPEG(t, dir, name, img)
}

// saveJPEG saves img as a JPEG in dir.
func saveJPEG(t testing.TB, dir, name string, img image.Image) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return path
}

func photoSlide(id, path, caption, from string) device.Slide {
	return device.Slide{ID: id, Rev: 1, Photo: true, Image: path, Text: caption, From: from}
}

func messageSlide(id, text, from string, sent time.Time) device.Slide {
	return device.Slide{ID: id, Rev: 1, Text: text, From: from, Sent: sent}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
