package ui

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
	"testing/synctest"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
)

// badgeShare is the share of the badge's own ground colour in r of img.
func badgeShare(img image.Image, r image.Rectangle) float64 {
	r = r.Intersect(img.Bounds())
	hit, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if badgeNear(c, privacyBG, 3) {
				hit++
			}
			all++
		}
	}
	if all == 0 {
		return 0
	}
	return float64(hit) / float64(all)
}

// badgeNear says whether a is within tol of b in each channel.
func badgeNear(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return max(x, y)-min(x, y) <= uint8(tol) }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// corner is the badge's corner of a screen of size.
func corner(size fyne.Size) image.Rectangle {
	return image.Rect(0, 0, int(privacyMaxW*size.Width), int(privacyMaxH*size.Height))
}

// SetPrivacy on returns only once a frame with the badge was painted;
// off hides it at once; the badge stays in its corner.
func TestPrivacyBadgeIsPaintedBeforeSetPrivacyReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test.NewTempApp(t)
		s, _ := newTestScreen(t, "en", testNow(t))
		w := showOn(t, s, hd)
		if got := badgeShare(w.Canvas().Capture(), corner(hd)); got != 0 {
			t.Fatalf("badge ground on the screen before anything opened: %.3f of the corner", got)
		}
		done := make(chan struct{})
		go func() {
			s.SetPrivacy(device.Privacy{Camera: true, Microphone: true})
			close(done)
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("SetPrivacy returned before any frame was painted")
		default:
		}
		shot := w.Canvas().Capture() // paints a frame with the badge
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("SetPrivacy returned before the frame after the badge's was painted")
		default:
		}
		w.Canvas().Capture() // and the next
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("SetPrivacy still waiting after a frame with the badge was painted")
		}
		if got := badgeShare(shot, corner(hd)); got < 0.1 {
			t.Errorf("badge ground in its corner: %.3f, want a pill", got)
		}
		whole := badgeShare(shot, shot.Bounds())
		inCorner := badgeShare(shot, corner(hd)) * float64(corner(hd).Dx()*corner(hd).Dy())
		if outside := whole*float64(shot.Bounds().Dx()*shot.Bounds().Dy()) - inCorner; outside > 0.5 {
			t.Errorf("badge ground outside its corner: %.0f pixels", outside)
		}
		// Set again to the same: nothing to wait for.
		s.SetPrivacy(device.Privacy{Camera: true, Microphone: true})
		s.SetPrivacy(device.Privacy{})
		if got := badgeShare(w.Canvas().Capture(), corner(hd)); got != 0 {
			t.Errorf("badge still on screen after off: %.3f of the corner", got)
		}
	})
}

// The words, in each language, fit the corner at the three screen sizes,
// as large as a message's text where they fit and never under 3.3 %
// (the longest words on a 1024x600 screen).
func TestPrivacyBadgeFitsItsCorner(t *testing.T) {
	sizes := []fyne.Size{{Width: 1920, Height: 1080}, hd, {Width: 1024, Height: 600}}
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		for _, p := range []device.Privacy{{Camera: true}, {Microphone: true}, {Camera: true, Microphone: true}} {
			text := privacyWords(tag, p)
			if text == "" || (tag != "en" && text == privacyWords("en", p)) {
				t.Errorf("privacyWords(%s, %+v) = %q", tag, p, text)
			}
			for _, size := range sizes {
				ts, _, _, pill := badgeGeom(text, size)
				m := metricsFor(size)
				if right, bottom := m.margin/2+pill.Width, m.margin/2+pill.Height; right > privacyMaxW*size.Width || bottom > privacyMaxH*size.Height {
					t.Errorf("%s %q at %v: pill to %.0f,%.0f, outside the corner", tag, text, size, right, bottom)
				}
				if cap := capRatio * ts / size.Height; cap < 0.033 {
					t.Errorf("%s %q at %v: capitals %.1f %% of the height, too small to read across a room", tag, text, size, 100*cap)
				}
			}
		}
	}
	if got := privacyWords("xx", device.Privacy{Camera: true}); got != "Camera on" {
		t.Errorf("privacyWords(unknown) = %q, want English", got)
	}
	if got := privacyWords("en", device.Privacy{}); got != "" {
		t.Errorf("privacyWords(nothing open) = %q", got)
	}
}

// The badge in its corner, over the night's black screen (a call wins
// over the night; the black keeps the golden free of other screens), in
// each language with its longest words.
func TestGoldenPrivacyBadge(t *testing.T) {
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		t.Run(tag, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				test.NewTempApp(t)
				s, _ := newTestScreen(t, tag, testNow(t))
				w := showOn(t, s, hd)
				s.SetMode(device.ModeNightOff)
				go s.SetPrivacy(device.Privacy{Camera: true, Microphone: true})
				for range 2 {
					synctest.Wait()
					w.Canvas().Capture()
				}
				synctest.Wait()
				shot := image.NewNRGBA(corner(hd))
				draw.Draw(shot, shot.Rect, w.Canvas().Capture(), image.Point{}, draw.Src)
				test.AssertImageMatches(t, "privacy_badge_"+tag+".png", shot)
			})
		})
	}
}
