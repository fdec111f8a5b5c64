package ui

import (
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
