package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-home/hearth/device"
)

// The goldens are 1280x720 renders by fyne's software painter, at
// Sunday 22 November 2026 14:05 in Stockholm. After a change that is meant
// to alter them, look at testdata/failed/*.png and copy them over.

var hd = fyne.NewSize(1280, 720)

func TestGoldenPhotoLandscape(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	img := writeJPEG(t, t.TempDir(), "lake.jpg", 960, 540)
	s.SetSlides([]device.Slide{photoSlide("p1", img, "Grandpa's 80th birthday by the lake", "Anna")})
	test.AssertImageMatches(t, "photo_landscape.png", w.Canvas().Capture())
}

func TestGoldenPhotoPortrait(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	img := writeJPEG(t, t.TempDir(), "tall.jpg", 540, 720)
	s.SetSlides([]device.Slide{photoSlide("p2", img,
		"Lina's first day at school. She was so proud of her new backpack and could not wait to show it to everyone at the gate",
		"Erik and Lina")})
	test.AssertImageMatches(t, "photo_portrait.png", w.Canvas().Capture())
}

func TestGoldenMessage(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	s.SetSlides([]device.Slide{messageSlide("m1",
		"Hi Mum! We arrived safely in Lisbon. The weather is lovely and the children send hugs. We will call you on Sunday after lunch.",
		"Anna", now.Add(-155*time.Minute))})
	test.AssertImageMatches(t, "message.png", w.Canvas().Capture())
}

func TestGoldenMessageLong(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	long := ""
	for range 9 {
		long += "The nurse comes on Tuesday at ten to change the dressing and to look at your new tablets. "
	}
	s.SetSlides([]device.Slide{messageSlide("m2", long, "Home care, Maria", now.Add(-26*time.Hour))})
	test.AssertImageMatches(t, "message_long.png", w.Canvas().Capture())
}

func TestGoldenEmpty(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	s.SetSlides(nil) // the carousel is known, and empty
	test.AssertImageMatches(t, "empty.png", w.Canvas().Capture())
}

// TestGoldenStarting: before the first carousel is known, only the clock
// (no "no new photos" line flashing at every start).
func TestGoldenStarting(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	test.AssertImageMatches(t, "starting.png", w.Canvas().Capture())
}

func TestGoldenNightDim(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	img := writeJPEG(t, t.TempDir(), "lake.jpg", 960, 540)
	s.SetSlides([]device.Slide{photoSlide("p1", img, "Grandpa's 80th birthday by the lake", "Anna")})
	s.SetMode(device.ModeNightDim)
	test.AssertImageMatches(t, "night_dim.png", w.Canvas().Capture())
}

func TestGoldenNightOff(t *testing.T) {
	test.NewTempApp(t)
	s, _ := newTestScreen(t, "en", testNow(t))
	w := showOn(t, s, hd)
	img := writeJPEG(t, t.TempDir(), "lake.jpg", 960, 540)
	s.SetSlides([]device.Slide{photoSlide("p1", img, "Grandpa's 80th birthday by the lake", "Anna")})
	s.SetMode(device.ModeNightOff)
	test.AssertImageMatches(t, "night_off.png", w.Canvas().Capture())
}

// TestGoldenLocales shows the same message (sent on Thursday) in each
// language: sender, sent time, weekday and date.
func TestGoldenLocales(t *testing.T) {
	text := map[string]string{
		"sv": "Hej mamma! Vi har kommit fram till Lissabon. Vädret är härligt och barnen skickar kramar. Vi ringer dig på söndag efter lunch.",
		"fi": "Hei äiti! Olemme perillä Lissabonissa. Sää on ihana ja lapset lähettävät haleja. Soitamme sinulle sunnuntaina lounaan jälkeen.",
		"de": "Hallo Mama! Wir sind gut in Lissabon angekommen. Das Wetter ist herrlich und die Kinder schicken dir Grüße. Wir rufen dich am Sonntag nach dem Mittagessen an.",
	}
	for _, lang := range []string{"sv", "fi", "de"} {
		t.Run(lang, func(t *testing.T) {
			test.NewTempApp(t)
			now := testNow(t)
			s, _ := newTestScreen(t, lang, now)
			w := showOn(t, s, hd)
			sent := time.Date(2026, 11, 19, 18, 40, 0, 0, now.Location())
			s.SetSlides([]device.Slide{messageSlide("m1", text[lang], "Anna", sent)})
			test.AssertImageMatches(t, "message_"+lang+".png", w.Canvas().Capture())
		})
	}
}

var (
	full = fyne.NewSize(1920, 1080)
	// small is the 7" panel of the cheapest devices.
	small = fyne.NewSize(1024, 600)
)

// sizeName is how a golden's file name says its size (none for 1280x720).
func sizeName(size fyne.Size) string {
	if size == hd {
		return ""
	}
	return fmt.Sprintf("_%d", int(size.Height))
}

// photoAspects are the shapes of photo the caption must keep clear of.
var photoAspects = []struct {
	name string
	w, h int
}{
	{"portrait", 540, 720},
	{"landscape", 960, 540},
	{"panorama", 1200, 400},
	{"square", 600, 600},
}

// TestGoldenPhotoCaptions: every shape of photo with no caption, a short
// and a two-line one, at 1280x720; the two-line ones at 1920x1080 and
// 1024x600 too. The caption and sender never lie over the photo.
func TestGoldenPhotoCaptions(t *testing.T) {
	captions := []struct{ name, text string }{
		{"none", ""},
		{"short", "By the lake"},
		{"two", "Grandpa's 80th birthday by the lake, with all the grandchildren and the old rowing boat"},
	}
	dir := t.TempDir()
	for _, a := range photoAspects {
		img := writeJPEG(t, dir, a.name+".jpg", a.w, a.h)
		for _, c := range captions {
			sizes := []fyne.Size{hd}
			if c.name == "two" {
				sizes = append(sizes, full, small)
			}
			for _, size := range sizes {
				name := "photo_" + a.name + "_" + c.name + sizeName(size)
				t.Run(name, func(t *testing.T) {
					test.NewTempApp(t)
					s, _ := newTestScreen(t, "en", testNow(t))
					w := showOn(t, s, size)
					s.SetSlides([]device.Slide{photoSlide("p1", img, c.text, "Anna")})
					checkPhotoUncovered(t, s)
					test.AssertImageMatches(t, name+".png", w.Canvas().Capture())
				})
			}
		}
	}
}

// checkPhotoUncovered: no text and no shade but the clock's lies over the
// photo.
func checkPhotoUncovered(t *testing.T, s *Screen) {
	t.Helper()
	v := s.ui.front
	photo := box{v.img.Position(), v.img.Size()}
	if v.band.Visible() && overlaps(photo, box{v.band.Position(), v.band.Size()}) {
		t.Errorf("caption band %v %v over the photo %v", v.band.Position(), v.band.Size(), photo)
	}
	for _, l := range v.lines {
		if overlaps(photo, box{l.t.Position(), l.t.Size()}) {
			t.Errorf("%q at %v over the photo %v", l.t.Text, l.t.Position(), photo)
		}
	}
}

// TestGoldenCards: the device's own cards in each size.
func TestGoldenCards(t *testing.T) {
	now := testNow(t)
	at := func(h, m int) time.Time {
		return time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, now.Location())
	}
	cards := []struct {
		name string
		card device.Card
	}{
		{"calls", device.Card{Kind: device.CardCalls, Calls: []device.CallEntry{
			{Name: "Anna", At: at(10, 2), Length: 12 * time.Minute},
			{Name: "Nurse Eva", At: at(11, 30), Missed: true},
			{Name: "Nurse Eva", At: at(13, 0), Length: 5 * time.Minute},
		}}},
		{"booking", device.Card{Kind: device.CardBooking, Booking: device.Booking{
			Name: "Nurse Eva", At: at(15, 0), Length: 15 * time.Minute, Reason: "Medicine check",
		}}},
		{"new_since", device.Card{Kind: device.CardNewSince, New: device.NewSince{
			Photos: 3, Messages: 1, From: []string{"Anna", "Erik"},
		}}},
	}
	type run struct {
		lang string
		size fyne.Size
	}
	runs := []run{{"en", hd}, {"en", full}, {"en", small}, {"sv", hd}, {"fi", hd}, {"de", hd}}
	for _, c := range cards {
		for _, r := range runs {
			size := r.size
			name := "card_" + c.name + sizeName(size)
			if r.lang != "en" {
				name += "_" + r.lang
			}
			t.Run(name, func(t *testing.T) {
				test.NewTempApp(t)
				s, _ := newTestScreen(t, r.lang, now)
				w := showOn(t, s, size)
				card := c.card
				s.SetSlides([]device.Slide{{ID: "card:" + card.Kind.String(), Rev: 1, Card: &card}})
				checkLayout(t, s, size)
				test.AssertImageMatches(t, name+".png", w.Canvas().Capture())
			})
		}
	}
}

// TestGoldenClockUntrusted: while the time cannot be believed the clock
// says so instead of showing a wrong time, and the message leaves out
// when it was sent.
func TestGoldenClockUntrusted(t *testing.T) {
	test.NewTempApp(t)
	now := testNow(t)
	s, _ := newTestScreen(t, "en", now)
	w := showOn(t, s, hd)
	s.SetSlides([]device.Slide{messageSlide("m1", "We will call you on Sunday after lunch.", "Anna", now.Add(-time.Hour))})
	s.SetClockTrusted(false)
	test.AssertImageMatches(t, "clock_untrusted.png", w.Canvas().Capture())
	s.SetClockTrusted(true)
	if got := s.ui.clock.time.Text; got != "14:05" {
		t.Errorf("clock after trust = %q, want 14:05", got)
	}
	if n := len(s.ui.front.lines); n < 3 || s.ui.front.lines[1].t.Text != "Today 13:05" {
		t.Errorf("after trust, the sent line is not back: %d lines", n)
	}
}

// TestGoldenFadeMiddle: the middle frame of a crossfade between two
// photos is a real blend of both (no cut, no dark frame between them),
// with neither caption showing (texts fade out, then in).
func TestGoldenFadeMiddle(t *testing.T) {
	test.NewTempApp(t)
	fyne.CurrentApp().Settings().SetTheme(Theme())
	lc, _ := lookupLocale("en")
	dir := t.TempDir()
	warm, cool := color.NRGBA{R: 230, G: 140, B: 40, A: 255}, color.NRGBA{R: 40, G: 90, B: 200, A: 255}
	load := func(name string, c color.NRGBA) *photo {
		img := image.NewNRGBA(image.Rect(0, 0, 1280, 720))
		draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
		p, err := loadPhoto(saveJPEG(t, dir, name, img))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	v := newView()
	w := test.NewTempWindow(t, v.root)
	w.SetPadded(false)
	w.Resize(hd)
	slide := func(id, caption string, p *photo) *slideView {
		return newSlideView(kindPhoto, photoSlide(id, "", caption, "Anna"), p, lc, slideText{}, 0)
	}
	v.show(slide("a", "Sunset at the lake", load("a.jpg", warm)), false, 0)
	frame := v.startFade(slide("b", "The blue boat", load("b.jpg", cool)))
	frame(0.5)
	img := w.Canvas().Capture()
	test.AssertImageMatches(t, "fade_middle.png", img)

	// Above the caption band, the middle of the screen is half of each.
	got := color.NRGBAModel.Convert(img.At(img.Bounds().Dx()/2, img.Bounds().Dy()/3)).(color.NRGBA)
	for _, ch := range []struct {
		name      string
		got, a, b uint8
	}{{"red", got.R, warm.R, cool.R}, {"green", got.G, warm.G, cool.G}, {"blue", got.B, warm.B, cool.B}} {
		mid := (int(ch.a) + int(ch.b)) / 2
		if d := int(ch.got) - mid; d < -12 || d > 12 {
			t.Errorf("middle frame's %s is %d, want about %d (half of %d and %d): not a blend", ch.name, ch.got, mid, ch.a, ch.b)
		}
	}
	frame(1)
	if v.anim != nil || len(v.slides.Objects) != 1 || v.front.opacity != 1 {
		t.Errorf("after the last frame: %d views, front at %v; want one at 1", len(v.slides.Objects), v.front.opacity)
	}
}
