package main

// The family web app (hearthctl web) end to end: real Chromium driving the
// page as a person would (file input, form fields, buttons, Tab) against
// a real Mosquitto and real hearthd processes, one of them drawing its
// window under Xvfb so that what the resident sees is read back from the
// X server (pixels, and words where tesseract is installed). The selectors
// and window.hearth hooks are the page's test contract (docs/web-caller.md,
// "Test hooks").
//
// Each test re-runs itself in a network namespace with only loopback up
// (reexecInNetns). Needs chromium, mosquitto, Xvfb and ImageMagick's
// import; skips without them unless HEARTH_REQUIRE_CHROMIUM /
// HEARTH_REQUIRE_BROKER / HEARTH_REQUIRE_XVFB are set. With
// HEARTH_SCREENSHOTS=DIR it saves phone-size shots of every view there.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// pixelsRE reads "W × H pixels" from the page's note on a chosen photo.
var pixelsRE = regexp.MustCompile(`(\d+) × (\d+) pixels`)

// clockRE finds a time of day in the page's words.
var clockRE = regexp.MustCompile(`\b\d{1,2}[:.]\d\d\b`)

var (
	orange = color.RGBA{230, 120, 30, 255}
	blue   = color.RGBA{30, 80, 200, 255}
)

// A photo from a phone, stored sideways with an EXIF orientation (as
// phone cameras do), chosen through the page's file input: the screen
// shows it upright (orange left, blue right), with the caption and the
// sender's name from the organisation's list ("Anna Lind"), not the name
// the page knows her by ("Anna"). Then a message to two screens reaches
// both: the one under Xvfb shows it, the headless one lists it. The page
// follows the device: "shown" from its receipts.
func TestWebAppSendsToScreens(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	o := newWebOrg(t, b)
	anna := o.person("anna", "Anna")
	anna.Name = "Anna Lind" // the organisation's name for her
	o.allow("mum-kitchen", anna, proto.RightSend, proto.ModeSignalled)
	kitchen := startScreen(t, o, "mum-kitchen", "Mum's kitchen", true, signedOnly()...)
	browser := newWebBrowser(t)
	page := openWebApp(t, browser, startWebApp(t, b.WSURL(), anna), anna, true)
	setViewport(t, page, phone)

	click(t, page, "#tab-send")
	waitTrue(t, page, "the send view", `!document.getElementById("send").hidden`)
	click(t, page, "#send-kind-photo")
	// One screen: it is chosen already.
	if got := eval[[]string](t, page, `[...document.querySelectorAll('#send-screens input[name=screen]:checked')].map(e => e.value)`); len(got) != 1 || got[0] != "mum-kitchen" {
		t.Errorf("with one screen the page has %v ticked, want mum-kitchen preselected", got)
	}
	pic := writePhoto(t, "bike.jpg", sidewaysJPEG(t))
	upload(t, page, "#send-file", pic)
	typeInto(t, page, "#send-text", "Ella's new bike")
	waitTrue(t, page, "a preview of the photo", `(() => { const p = document.getElementById("send-preview");
	  return !!p && !p.hidden && [...p.querySelectorAll("img, canvas")].some(e => e.getBoundingClientRect().width > 0) })()`)
	if got := eval[string](t, page, `document.getElementById("send-preview").innerText`); !strings.Contains(got, "Ella's new bike") {
		t.Errorf("the preview reads %q, want the caption in it", got)
	}
	if got := eval[string](t, page, `document.getElementById("send-submit").textContent.trim()`); !strings.Contains(got, "Send") {
		t.Errorf("the send button reads %q, want Send", got)
	}
	viewShot(t, page, "send-photo-phone")
	click(t, page, "#send-submit")
	res := waitText(t, page, 30*time.Second, "the device's answer on the page", `#send-result li[data-device="mum-kitchen"]`,
		func(s string) bool {
			return strings.Contains(s, "Mum's kitchen") && !strings.Contains(s, "…") && (strings.Contains(s, "On ") || strings.Contains(s, "refused"))
		})
	if strings.Contains(res, "refused") {
		t.Fatalf("the page says %q", res)
	}
	viewShot(t, page, "send-done-phone")

	// On the device: upright, and from the organisation's name for her.
	inv := waitReady(t, b.URL(), "mum-kitchen", 1, 30*time.Second)
	photo := inv.Items[0]
	if photo.Kind != proto.KindPhoto || photo.From != "Anna Lind" || photo.Sender != "anna" || photo.Text != "Ella's new bike" {
		t.Errorf("the device holds %+v, want Anna's photo, from Anna Lind (the allowlist's name), sender anna", photo)
	}
	mid := func(x0, x1 int) image.Rectangle {
		return image.Rect(x0*screenW/100, 30*screenH/100, x1*screenW/100, 60*screenH/100)
	}
	shot := kitchen.waitShot(t, 60*time.Second, "webapp-device-photo.png", "the photo upright (orange left, blue right)", func(img image.Image) bool {
		return hasColour(img, mid(25, 45), orange, 40, 0.6) && hasColour(img, mid(55, 75), blue, 40, 0.6)
	})
	if hasColour(shot, mid(25, 45), blue, 40, 0.2) || hasColour(shot, mid(55, 75), orange, 40, 0.2) {
		t.Errorf("the photo on screen is not the right way round")
	}
	if read, ok := kitchen.screenSays(t, 60*time.Second, "webapp-device-photo-text.png", "Ella's new bike", "Anna Lind"); ok {
		t.Logf("the screen reads: %q", read)
	}

	// The page reads the receipt: shown, and when.
	click(t, page, "#tab-shows")
	waitText(t, page, 30*time.Second, "Shown on the item", `#shows-list li.item[data-item="`+photo.ID+`"] .shown`,
		func(s string) bool { return clockRE.MatchString(s) && !strings.Contains(strings.ToLower(s), "not ") })
	if got := eval[string](t, page, `document.querySelector('#shows-list li.item[data-item="`+photo.ID+`"] .from').textContent`); !strings.Contains(got, "Anna Lind") {
		t.Errorf("the page lists the photo %q, want From Anna Lind", got)
	}

	// A message to two screens: the second one headless.
	o.allow("mum-bedroom", anna, proto.RightSend)
	bedroom := startScreen(t, o, "mum-bedroom", "Mum's bedroom", false, signedOnly()...)
	click(t, page, "#tab-send")
	waitTrue(t, page, "both screens to choose from", `document.querySelectorAll('#send-screens input[name=screen]').length === 2`)
	click(t, page, "#send-kind-message")
	eval[any](t, page, `document.querySelectorAll('#send-screens input[name=screen]:checked').forEach(e => e.click())`)
	click(t, page, `#send-screens input[name=screen][value="mum-kitchen"]`)
	click(t, page, `#send-screens input[name=screen][value="mum-bedroom"]`)
	clearField(t, page, "#send-text")
	const msg = "Dinner at six on Sunday"
	typeInto(t, page, "#send-text", msg)
	viewShot(t, page, "send-message-phone")
	click(t, page, "#send-submit")
	for _, dev := range []string{"mum-kitchen", "mum-bedroom"} {
		waitText(t, page, 30*time.Second, "the answer of "+dev, `#send-result li[data-device="`+dev+`"]`,
			func(s string) bool { return strings.Contains(s, "On ") })
	}
	msgID := map[string]string{}
	for _, s := range []*webScreen{kitchen, bedroom} {
		var it proto.InventoryItem
		waitFor(t, 30*time.Second, "the message on "+s.id, func() bool {
			inv, _ := inventory(t, b.URL(), s.id)
			for _, x := range inv.Items {
				if x.Text == msg && x.State == proto.StateReady {
					it = x
					return true
				}
			}
			return false
		})
		if it.From != "Anna Lind" || it.Sender != "anna" || it.Kind != proto.KindMessage {
			t.Errorf("%s holds %+v, want Anna's message from Anna Lind", s.id, it)
		}
		msgID[s.id] = it.ID
	}
	kitchen.waitShot(t, 60*time.Second, "webapp-device-message.png", "a message card", func(img image.Image) bool {
		return share(img, color.RGBA{0x15, 0x29, 0x4A, 255}, 6)+share(img, color.RGBA{0x16, 0x3A, 0x30, 255}, 6)+share(img, color.RGBA{0x3B, 0x21, 0x40, 255}, 6) > 0.5
	})
	if read, ok := kitchen.screenSays(t, 60*time.Second, "webapp-device-message-text.png", "Dinner at six", "Anna Lind"); ok {
		t.Logf("the screen reads: %q", read)
	}
	// The headless screen's carousel (its log display) has it too.
	bedroom.d.waitLog(msgID["mum-bedroom"], 20*time.Second)

	// A phone camera's whole photo (12 megapixels, many megabytes, over
	// what one message may carry): the page makes it small enough and the
	// screen shows it.
	big := noisyJPEG(t, 4032, 3024, color.RGBA{40, 170, 90, 255})
	if len(big) <= proto.MaxPayload {
		t.Fatalf("the test photo is only %d bytes; want more than a message carries", len(big))
	}
	click(t, page, "#send-kind-photo")
	eval[any](t, page, `document.querySelectorAll('#send-screens input[name=screen]:checked').forEach(e => { if (e.value !== "mum-kitchen") e.click() })`)
	upload(t, page, "#send-file", writePhoto(t, "family.jpg", big))
	clearField(t, page, "#send-text")
	typeInto(t, page, "#send-text", "The whole family")
	info := waitText(t, page, 30*time.Second, "the photo prepared", "#send-photo-info", func(s string) bool { return pixelsRE.MatchString(s) })
	if m := pixelsRE.FindStringSubmatch(info); m != nil {
		w, _ := strconv.Atoi(m[1])
		h, _ := strconv.Atoi(m[2])
		if w >= 4032 || h >= 3024 || w*3 != h*4 && (w*3-h*4 > w/100 || h*4-w*3 > w/100) {
			t.Errorf("the page prepared the 4032 × 3024 photo as %s; want it smaller, same shape", info)
		}
	}
	click(t, page, "#send-submit")
	waitText(t, page, 60*time.Second, "the big photo sent", `#send-result li[data-device="mum-kitchen"]`, func(s string) bool { return strings.Contains(s, "On ") })
	waitFor(t, 60*time.Second, "the big photo ready on the kitchen screen", func() bool {
		inv, _ := inventory(t, b.URL(), "mum-kitchen")
		for _, it := range inv.Items {
			if it.Text == "The whole family" {
				if it.State == proto.StateRefused {
					t.Fatalf("the kitchen refused the big photo: %s", it.Reason)
				}
				return it.State == proto.StateReady
			}
		}
		return false
	})
	green := color.RGBA{40, 170, 90, 255}
	kitchen.waitShot(t, 60*time.Second, "webapp-device-big-photo.png", "the big photo", func(img image.Image) bool {
		return hasColour(img, mid(25, 75), green, 60, 0.6)
	})
}

// noisyJPEG is a w x h photo of colour c with strong grain, which JPEG
// cannot squeeze: several megabytes, like a phone camera's.
func noisyJPEG(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(2463534242)
	for i := 0; i < len(img.Pix); i += 4 {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		n := int(seed%81) - 40
		for k, v := range []uint8{c.R, c.G, c.B} {
			img.Pix[i+k] = uint8(max(0, min(255, int(v)+n+int((seed>>(8*k))%21)-10)))
		}
		img.Pix[i+3] = 255
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// "What Mum's screen shows" on a date: a birthday message sent from the
// page for a day three days ahead is listed on that day only, and today's
// message is not listed then. Anna removes her own item from the page and
// it leaves the screen; Bob, who may send to the same screen, is offered
// no Remove for Anna's item, and a tombstone he signs is refused by the
// device ("item belongs to anna").
func TestWebAppShowsDateAndRemoves(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	o := newWebOrg(t, b)
	anna := o.person("anna", "Anna")
	bob := o.person("bob", "Bob")
	o.allow("mum-kitchen", anna, proto.RightSend)
	o.allow("mum-kitchen", bob, proto.RightSend)
	admin := o.person("admin-eva", "Eva at North Care")
	o.allow("mum-kitchen", admin, proto.RightAdmin)
	kitchen := startScreen(t, o, "mum-kitchen", "Mum's kitchen", true, signedOnly()...)
	browser := newWebBrowser(t)
	page := openWebApp(t, browser, startWebApp(t, b.WSURL(), anna), anna, false)
	bobPage := openWebApp(t, browser, startWebApp(t, b.WSURL(), bob), bob, false)
	setViewport(t, page, desktop)

	zone, _ := time.LoadLocation("Europe/Stockholm")
	today := time.Now().In(zone)
	dayX := time.Date(today.Year(), today.Month(), today.Day()+3, 9, 0, 0, 0, zone)
	untilX := time.Date(dayX.Year(), dayX.Month(), dayX.Day(), 20, 0, 0, 0, zone)

	// Today's photo, now for a day; the birthday message from 09:00 to
	// 20:00 on day X, both through the form.
	click(t, page, "#tab-send")
	click(t, page, "#send-kind-photo")
	upload(t, page, "#send-file", writePhoto(t, "wall.jpg", sidewaysJPEG(t)))
	typeInto(t, page, "#send-text", "The garden today")
	click(t, page, "#send-now")
	click(t, page, "#send-for-days")
	setField(t, page, "#send-days", "1")
	click(t, page, "#send-submit")
	waitText(t, page, 30*time.Second, "the photo sent", `#send-result li[data-device="mum-kitchen"]`, func(s string) bool { return strings.Contains(s, "On ") })

	click(t, page, "#send-kind-message")
	clearField(t, page, "#send-text")
	typeInto(t, page, "#send-text", "Happy birthday Mum")
	click(t, page, "#send-later")
	setField(t, page, "#send-start", dayX.Format("2006-01-02T15:04"))
	click(t, page, "#send-for-until")
	setField(t, page, "#send-until", untilX.Format("2006-01-02T15:04"))
	viewShot(t, page, "send-later-desktop")
	click(t, page, "#send-submit")
	waitText(t, page, 30*time.Second, "the message sent", `#send-result li[data-device="mum-kitchen"]`,
		func(s string) bool {
			return strings.Contains(s, "from") || strings.Contains(s, "From") || strings.Contains(s, "On ")
		})

	var photoID, bdayID string
	waitFor(t, 30*time.Second, "both items on the device", func() bool {
		inv, _ := inventory(t, b.URL(), "mum-kitchen")
		for _, it := range inv.Items {
			switch it.Text {
			case "The garden today":
				photoID = it.ID
			case "Happy birthday Mum":
				bdayID = it.ID
				if !it.Start.Equal(dayX) || !it.End.Equal(untilX) {
					t.Fatalf("the birthday message's window on the device is %v to %v, want %v to %v (the screen's time)", it.Start, it.End, dayX, untilX)
				}
			}
		}
		return photoID != "" && bdayID != ""
	})

	listed := func(date time.Time) []string {
		t.Helper()
		setField(t, page, "#shows-date", date.Format("2006-01-02"))
		var ids []string
		waitFor(t, 10*time.Second, "the list for "+date.Format("Mon 2 Jan"), func() bool {
			ids = eval[[]string](t, page, `[...document.querySelectorAll("#shows-list li.item")].map(li => li.dataset.item)`)
			hook := eval[[]struct{ ID string }](t, page, `hearth.shows("mum-kitchen", "`+date.Format("2006-01-02")+`")`)
			var hids []string
			for _, h := range hook {
				hids = append(hids, h.ID)
			}
			return strings.Join(hids, ",") == strings.Join(ids, ",") &&
				(len(ids) > 0 || eval[bool](t, page, `!document.getElementById("shows-empty").hidden`))
		})
		return ids
	}
	click(t, page, "#tab-shows")
	setField(t, page, "#shows-device", "mum-kitchen")
	if ids := listed(dayX); len(ids) != 1 || ids[0] != bdayID {
		t.Errorf("on %s the page lists %v, want only the birthday message %s", dayX.Format("Mon 2 Jan"), ids, bdayID)
	}
	if w := eval[string](t, page, `document.querySelector('#shows-list li.item[data-item="`+bdayID+`"] .window').textContent`); !strings.Contains(w, "09:00") || !strings.Contains(w, "20:00") {
		t.Errorf("the birthday message's window reads %q, want 09:00 to 20:00 in the screen's time", w)
	}
	viewShot(t, page, "shows-dayX-desktop")
	if ids := listed(dayX.AddDate(0, 0, 2)); len(ids) != 0 {
		t.Errorf("two days after the birthday the page lists %v, want nothing", ids)
	}
	if ids := listed(today); len(ids) != 1 || ids[0] != photoID {
		t.Errorf("today the page lists %v, want only today's photo %s", ids, photoID)
	}

	// Anna moves the birthday message a day on, from the page: the device
	// takes the new revision and the days' lists follow.
	var bdayRev uint64
	inv0, _ := inventory(t, b.URL(), "mum-kitchen")
	for _, it := range inv0.Items {
		if it.ID == bdayID {
			bdayRev = it.Rev
		}
	}
	dayY, untilY := dayX.AddDate(0, 0, 1), untilX.AddDate(0, 0, 1)
	setField(t, page, "#shows-date", dayX.Format("2006-01-02"))
	item := `#shows-list li.item[data-item="` + bdayID + `"]`
	waitTrue(t, page, "the birthday message listed", `!!document.querySelector('`+item+`')`)
	click(t, page, item+" .edit")
	waitTrue(t, page, "the edit form", `(() => { const f = document.querySelector('`+item+` .edit-form'); return !!f && !f.hidden })()`)
	setField(t, page, item+" .edit-start", dayY.Format("2006-01-02T15:04"))
	setField(t, page, item+" .edit-end", untilY.Format("2006-01-02T15:04"))
	viewShot(t, page, "shows-edit-desktop")
	click(t, page, item+" .edit-save")
	waitFor(t, 30*time.Second, "the moved message on the device", func() bool {
		it, ok := heldItem(t, b.URL(), "mum-kitchen", bdayID)
		return ok && it.Rev > bdayRev && it.Start.Equal(dayY) && it.End.Equal(untilY) && it.State != proto.StateRefused
	})
	if ids := listed(dayX); len(ids) != 0 {
		t.Errorf("after moving the birthday message on %s the page still lists %v", dayX.Format("Mon 2 Jan"), ids)
	}
	if ids := listed(dayY); len(ids) != 1 || ids[0] != bdayID {
		t.Errorf("on %s the page lists %v, want the moved birthday message", dayY.Format("Mon 2 Jan"), ids)
	}

	// Bob sees Anna's photo, without a Remove.
	setViewport(t, bobPage, desktop)
	click(t, bobPage, "#tab-shows")
	setField(t, bobPage, "#shows-device", "mum-kitchen")
	waitTrue(t, bobPage, "Anna's photo on Bob's page", `!!document.querySelector('#shows-list li.item[data-item="`+photoID+`"]')`)
	if eval[bool](t, bobPage, `(() => { const r = document.querySelector('#shows-list li.item[data-item="`+photoID+`"] .remove'); return !!r && !r.disabled && !r.hidden })()`) {
		t.Errorf("Bob's page offers to remove Anna's photo")
	}
	// If his page sends a removal anyway, or he signs one himself, the
	// device refuses it and keeps the photo.
	if err := evalErr(bobPage, `hearth.removeItem("mum-kitchen", "`+photoID+`")`); err != nil {
		t.Logf("Bob's page refused to remove Anna's photo itself: %v", err)
	}
	held, _ := heldItem(t, b.URL(), "mum-kitchen", photoID)
	tomb := proto.Item{V: proto.Version, ID: photoID, Device: "mum-kitchen", Rev: held.Rev + 1000, Deleted: true, Sender: "bob"}
	tomb.Sig = ed25519.Sign(bob.Caller.Key, tomb.SigningBytes())
	p, _ := json.Marshal(tomb)
	pub(t, b.URL(), proto.ContentTopic("mum-kitchen", photoID), p)
	waitFor(t, 20*time.Second, "the device refusing Bob's removal", func() bool {
		inv, _ := inventory(t, b.URL(), "mum-kitchen")
		for _, r := range inv.Refused {
			if r.ID == photoID && strings.Contains(r.Reason, "item belongs to anna") {
				return true
			}
		}
		return false
	})
	if it, ok := heldItem(t, b.URL(), "mum-kitchen", photoID); ok && it.State != proto.StateReady {
		t.Errorf("after Bob's removal the photo is %+v, want it still ready", it)
	}
	mid := func(x0, x1 int) image.Rectangle {
		return image.Rect(x0*screenW/100, 30*screenH/100, x1*screenW/100, 60*screenH/100)
	}
	photoOn := func(img image.Image) bool {
		return hasColour(img, mid(25, 45), orange, 40, 0.6) && hasColour(img, mid(55, 75), blue, 40, 0.6)
	}
	kitchen.waitShot(t, 30*time.Second, "webapp-device-before-remove.png", "Anna's photo on screen", photoOn)

	// Anna removes it from her page: it leaves the device and the screen.
	setField(t, page, "#shows-date", today.Format("2006-01-02"))
	waitTrue(t, page, "Remove on Anna's photo", `!!document.querySelector('#shows-list li.item[data-item="`+photoID+`"] .remove')`)
	click(t, page, `#shows-list li.item[data-item="`+photoID+`"] .remove`)
	confirmRemove(t, page, photoID)
	waitFor(t, 30*time.Second, "the photo deleted on the device", func() bool {
		it, ok := heldItem(t, b.URL(), "mum-kitchen", photoID)
		return !ok || it.State == proto.StateDeleted
	})
	kitchen.waitShot(t, 30*time.Second, "webapp-device-after-remove.png", "the screen without the photo", func(img image.Image) bool { return !photoOn(img) })
	// The carousel turns every 4 s; with the photo gone it never comes back.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if img := screenshot(t, kitchen.display); photoOn(img) {
			saveShot(t, img, "webapp-device-removed-back.png")
			t.Fatalf("the removed photo is on screen again")
		}
	}
	waitTrue(t, page, "the photo gone from Anna's list", `!document.querySelector('#shows-list li.item[data-item="`+photoID+`"]') ||
	  /removed|deleted/i.test(document.querySelector('#shows-list li.item[data-item="`+photoID+`"]').innerText)`)

	// The organisation's admin may remove anyone's item: her page offers
	// Remove on Anna's birthday message and the device takes it.
	adminPage := openWebApp(t, browser, startWebApp(t, b.WSURL(), admin), admin, false)
	setViewport(t, adminPage, desktop)
	click(t, adminPage, "#tab-shows")
	setField(t, adminPage, "#shows-device", "mum-kitchen")
	setField(t, adminPage, "#shows-date", dayY.Format("2006-01-02"))
	adminItem := `#shows-list li.item[data-item="` + bdayID + `"] .remove`
	waitTrue(t, adminPage, "Remove on Anna's message for the admin", `(() => { const r = document.querySelector('`+adminItem+`'); return !!r && !r.disabled && !r.hidden })()`)
	click(t, adminPage, adminItem)
	confirmRemove(t, adminPage, bdayID)
	waitFor(t, 30*time.Second, "the admin's removal on the device", func() bool {
		it, ok := heldItem(t, b.URL(), "mum-kitchen", bdayID)
		return ok && it.State == proto.StateDeleted
	})
}

// A carer books a call from the page: the booking card comes on the
// device's screen, the page lists the booking.
func TestWebAppBooksACall(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b, o, eva := carerOrg(t)
	kitchen := startScreen(t, o, "mum-kitchen", "Mum's kitchen", true, signedOnly()...)
	browser := newWebBrowser(t)
	page := openWebApp(t, browser, startWebApp(t, b.WSURL(), eva), eva, false)
	setViewport(t, page, phone)

	zone, _ := time.LoadLocation("Europe/Stockholm")
	at := time.Now().In(zone).Add(40 * time.Minute).Truncate(time.Minute)
	click(t, page, "#tab-book")
	setField(t, page, "#book-device", "mum-kitchen")
	setField(t, page, "#book-at", at.Format("2006-01-02T15:04"))
	setField(t, page, "#book-length", "900")
	typeInto(t, page, "#book-reason", "Medicine check")
	viewShot(t, page, "book-phone")
	click(t, page, "#book-submit")
	waitTrue(t, page, "the booking listed", `document.querySelectorAll("#book-list li.booking").length === 1`)
	viewShot(t, page, "book-done-phone")

	inv := waitRetained(t, b.URL(), proto.InventoryTopic("mum-kitchen"), "the booking in the inventory", func(inv proto.Inventory) bool { return len(inv.Bookings) == 1 })
	bk := inv.Bookings[0]
	if bk.Caller != "nurse-eva" || !bk.At.Equal(at) || bk.LengthS != 900 || bk.Reason != "Medicine check" {
		t.Errorf("the device holds booking %+v, want Nurse Eva at %v for 900 s, Medicine check", bk, at)
	}
	if got := eval[string](t, page, `document.querySelector("#book-list li.booking").innerText`); !strings.Contains(got, at.Format("15:04")) {
		t.Errorf("the page lists the booking as %q, want its time %s (the screen's)", got, at.Format("15:04"))
	}
	// The card: "Nurse Eva will call at HH:MM".
	if read, ok := kitchen.screenSays(t, 60*time.Second, "webapp-device-booking.png", "Nurse Eva", "will call", at.Format("15:04")); ok {
		t.Logf("the screen reads: %q", read)
	} else {
		kitchen.d.waitLog(`msg="booking kept"`, 30*time.Second)
		saveShot(t, screenshot(t, kitchen.display), "webapp-device-booking.png")
	}
}

// Every main view passes axe-core's WCAG 2 A and AA rules without serious
// or critical violations, at phone size and on a desktop, and every
// control on it is reached with Tab and shows where the focus is. With
// HEARTH_SCREENSHOTS set, each view is saved at phone size.
func TestWebAppAccessibility(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b, o, eva := carerOrg(t)
	o.allow("mum-bedroom", eva, proto.ModeSignalled, proto.RightSend)
	// The kitchen draws (so its receipts fill the activity view), both
	// take calls (test camera and microphone).
	kitchen := startScreen(t, o, "mum-kitchen", "Mum's kitchen", true, append(signedOnly(), "--media", "test")...)
	startScreen(t, o, "mum-bedroom", "Mum's bedroom", false, append(signedOnly(), "--media", "test")...)
	browser := newWebBrowser(t)
	url := startWebApp(t, b.WSURL(), eva)

	// The login view, as a new person finds it.
	login := openTab(t, browser, url)
	for _, v := range []viewport{phone, desktop} {
		setViewport(t, login, v)
		waitTrue(t, login, "the login form", `!document.getElementById("login").hidden`)
		checkAxe(t, login, "login at "+v.name)
		tabWalk(t, login, "login at "+v.name)
		viewShot(t, login, "login-"+v.name)
	}

	page := openWebApp(t, browser, url, eva, false)
	waitDevice(t, page, "mum-kitchen", func(d pageDevice) bool { return d.Online })
	// Something for "What it shows" to list.
	eval[any](t, page, `hearth.send({kind: "message", text: "Hello from the test", devices: ["`+kitchen.id+`"], days: 1})`)
	waitReady(t, b.URL(), kitchen.id, 1, 30*time.Second)
	for _, v := range []viewport{phone, desktop} {
		setViewport(t, page, v)
		for _, view := range []struct{ tab, section string }{
			{"#tab-screens", "home"}, {"#tab-send", "send"}, {"#tab-shows", "shows"}, {"#tab-book", "book"}, {"#tab-activity", "activity"},
		} {
			click(t, page, view.tab)
			waitTrue(t, page, "the "+view.section+" view", `!document.getElementById("`+view.section+`").hidden`)
			switch view.section {
			case "shows":
				setField(t, page, "#shows-device", "mum-kitchen")
				waitTrue(t, page, "the message listed", `document.querySelectorAll("#shows-list li.item").length > 0`)
			case "activity":
				setField(t, page, "#activity-device", "mum-kitchen")
				waitTrue(t, page, "the screen's activity", `document.querySelectorAll("#activity-list li").length > 0`)
				// In words, with the message's text, not its id.
				if got := eval[string](t, page, `document.getElementById("activity-list").innerText`); !strings.Contains(got, "Hello from the test") ||
					!strings.Contains(strings.ToLower(got), "shown") || strings.Contains(got, "m-") {
					t.Errorf("the activity view reads %q, want \"Message 'Hello from the test' shown\" in words", got)
				}
			}
			name := view.section + " at " + v.name
			checkAxe(t, page, name)
			if v.mobile {
				noSideways(t, page, name)
			}
			stops := tabWalk(t, page, name)
			t.Logf("%s: %d Tab stops", name, len(stops))
			viewShot(t, page, view.section+"-"+v.name)
		}
	}

	// The other languages: the page's words and <html lang> change, and
	// the main views still pass.
	setViewport(t, page, phone)
	english := eval[string](t, page, `document.getElementById("tab-send").textContent.trim()`)
	for _, l := range []string{"sv", "fi", "de"} {
		setField(t, page, "#lang", l)
		waitTrue(t, page, "the page in "+l, `document.documentElement.lang === "`+l+`"`)
		if got := eval[string](t, page, `document.getElementById("tab-send").textContent.trim()`); got == english {
			t.Errorf("in %s the Send tab still reads %q", l, got)
		}
		for _, view := range []struct{ tab, section string }{{"#tab-screens", "home"}, {"#tab-send", "send"}} {
			click(t, page, view.tab)
			waitTrue(t, page, "the "+view.section+" view", `!document.getElementById("`+view.section+`").hidden`)
			checkAxe(t, page, view.section+" in "+l)
			viewShot(t, page, view.section+"-phone-"+l)
		}
	}
	setField(t, page, "#lang", "en")

	// With the keyboard alone: a message to the kitchen, sent.
	setViewport(t, page, desktop)
	click(t, page, "#tab-screens")
	tabUntil(t, page, "the Send tab", `el.id === "tab-send"`)
	press(t, page, kb.Enter)
	waitTrue(t, page, "the send view", `!document.getElementById("send").hidden`)
	tabUntil(t, page, "the kind of thing to send", `el.name === "kind"`)
	if !eval[bool](t, page, `document.activeElement.value === "message"`) {
		press(t, page, kb.ArrowDown)
	}
	if !eval[bool](t, page, `document.getElementById("send-kind-message").checked`) {
		t.Fatalf("the arrow keys did not choose a message")
	}
	tabUntil(t, page, "the text box", `el.id === "send-text"`)
	if err := chromedp.Do(page, chromedp.KeyEvent("Sent with the keyboard")); err != nil {
		t.Fatal(err)
	}
	tabUntil(t, page, "the kitchen's box", `el.name === "screen" && el.value === "mum-kitchen"`)
	if !eval[bool](t, page, `document.activeElement.checked`) {
		press(t, page, " ")
	}
	tabUntil(t, page, "the Send button", `el.id === "send-submit"`)
	press(t, page, kb.Enter)
	waitText(t, page, 30*time.Second, "the message sent by keyboard", `#send-result li[data-device="mum-kitchen"]`,
		func(s string) bool { return strings.HasPrefix(s, "On ") })
	waitFor(t, 30*time.Second, "the keyboard's message on the kitchen screen", func() bool {
		inv, _ := inventory(t, b.URL(), kitchen.id)
		for _, it := range inv.Items {
			if it.Text == "Sent with the keyboard" && it.State == proto.StateReady {
				return true
			}
		}
		return false
	})
}

// press presses one key in the page.
func press(t *testing.T, page context.Context, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
}

// tabUntil presses Tab until the focused element (el) satisfies cond, a
// JavaScript expression; it fails after going once round the page.
func tabUntil(t *testing.T, page context.Context, what, cond string) {
	t.Helper()
	n := eval[int](t, page, `document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]").length`) + 5
	for i := 0; i < n; i++ {
		press(t, page, "\t")
		if eval[bool](t, page, `(el => !!el && (`+cond+`))(document.activeElement)`) {
			return
		}
	}
	t.Fatalf("Tab never reached %s in %d presses", what, n)
}

// noSideways fails when the page is wider than the phone's screen (a
// person would have to scroll sideways), naming what sticks out.
func noSideways(t *testing.T, page context.Context, view string) {
	t.Helper()
	out := eval[[]string](t, page, `(() => {
	  const w = document.documentElement.clientWidth;
	  return [...document.body.querySelectorAll("*")].filter(e => e.offsetParent !== null || e.tagName === "FIELDSET")
	    .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0 && r.right > w + 0.5)
	    .map(([e, r]) => (e.id ? "#" + e.id : e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ")[0] : "")) +
	      " right edge " + Math.round(r.right) + " > " + w)
	    .slice(0, 10);
	})()`)
	if len(out) > 0 {
		t.Errorf("%s: wider than the screen (scrolls sideways): %v", view, out)
	}
}

// carerOrg starts a broker and an organisation with Nurse Eva, a carer
// who may call (forced and signalled), book and send to mum-kitchen.
func carerOrg(t *testing.T) (*mqtttest.Broker, *webOrg, webPerson) {
	t.Helper()
	b := mqtttest.Start(t)
	o := newWebOrg(t, b)
	eva := o.person("nurse-eva", "Nurse Eva")
	o.allow("mum-kitchen", eva, proto.ModeForced, proto.ModeSignalled, proto.RightBook, proto.RightSend)
	return b, o, eva
}

// openTab opens url in a new tab and waits until window.hearth exists.
func openTab(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	// The page's console errors and uncaught exceptions, for failures.
	console := &syncBuffer{}
	listen := func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			fmt.Fprintf(console, "exception: %s %s\n", e.ExceptionDetails.Text, exceptionText(e.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				fmt.Fprintf(console, "%s %s: %s %s\n", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				fmt.Fprintf(console, "console.%s: %s\n", e.Type, strings.Join(args, " "))
			}
		}
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithListener(listen))
	t.Cleanup(cancel)
	t.Cleanup(func() {
		if t.Failed() && console.String() != "" {
			t.Logf("page console (%s):\n%s", url, console)
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	for deadline := time.Now().Add(15 * time.Second); !eval[bool](t, ctx, `typeof hearth === "object" && !!hearth.login`); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no window.hearth with login on %s after 15 s: %s", url, eval[string](t, ctx,
				`document.readyState + " hearth=" + (typeof hearth === "object" ? Object.keys(hearth).join(",") : typeof hearth) + " body: " + document.body.innerText.slice(0, 300)`))
		}
	}
	return ctx
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil || d.Exception == nil {
		return ""
	}
	return d.Exception.Description
}

// openWebApp opens the app as p: through the login form with the key
// file chosen in #key-file when byForm is set, else through the
// hearth.importKey and hearth.login hooks; it returns once connected.
func openWebApp(t *testing.T, browser context.Context, url string, p webPerson, byForm bool) context.Context {
	t.Helper()
	page := openTab(t, browser, url)
	if byForm {
		waitTrue(t, page, "the login form", `!document.getElementById("login").hidden`)
		clearField(t, page, "#login-id")
		typeInto(t, page, "#login-id", p.ID)
		typeInto(t, page, "#login-password", cmp.Or(p.Password, "any password"))
		waitTrue(t, page, "the key box", `!document.getElementById("key-box").hidden`)
		upload(t, page, "#key-file", filepath.Join(p.Dir, provisioning.CallerKeyFile))
		click(t, page, "#login-submit")
	} else {
		pem, err := os.ReadFile(filepath.Join(p.Dir, provisioning.CallerKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(string(pem))
		id, _ := json.Marshal(p.ID)
		pw, _ := json.Marshal(cmp.Or(p.Password, "any"))
		eval[any](t, page, `hearth.importKey(`+string(js)+`, `+string(id)+`).then(() => hearth.login(`+string(id)+`, `+string(pw)+`)).then(() => true)`)
	}
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`hearth.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		st, _ := chromedp.Run(page, chromedp.Evaluate[string](`JSON.stringify(hearth.connection()) + " " + (document.getElementById("login-error") || {}).textContent`))
		t.Fatalf("%s's page did not connect: %v (%s)", p.ID, err, st)
	}
	waitTrue(t, page, "connected", `hearth.connection().state === "connected"`)
	return page
}

// click clicks the element as a person would (a real mouse event at its
// middle, after scrolling it into view).
func click(t *testing.T, page context.Context, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// typeInto types text into the field with key events.
func typeInto(t *testing.T, page context.Context, sel, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

func clearField(t *testing.T, page context.Context, sel string) {
	t.Helper()
	setField(t, page, sel, "")
}

// setField sets a field's value the way a picker does (date and time
// inputs, selects) and fires input and change.
func setField(t *testing.T, page context.Context, sel, value string) {
	t.Helper()
	s, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	ok := eval[bool](t, page, `(() => { const e = document.querySelector(`+string(s)+`); if (!e) return false;
	  e.value = `+string(v)+`; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true}));
	  return e.value === `+string(v)+`; })()`)
	if !ok {
		t.Fatalf("set %s to %q: no such field, or it would not take the value", sel, value)
	}
}

// upload chooses files in a file input (DOM.setFileInputFiles, as the
// browser's file picker does; the input fires change).
func upload(t *testing.T, page context.Context, sel string, files ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), files)); err != nil {
		t.Fatalf("choose %v in %s: %v", files, sel, err)
	}
}

// waitTrue waits until the expression is true in the page.
func waitTrue(t *testing.T, page context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !eval[bool](t, page, expr) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 15 s waiting for %s on the page (connection %s; view %s)", what,
				eval[string](t, page, `typeof hearth === "object" && hearth.connection ? JSON.stringify(hearth.connection()) : "?"`),
				eval[string](t, page, `[...document.querySelectorAll("main > section, body > section, section")].filter(s => !s.hidden && s.id).map(s => s.id).join(",")`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the element's text satisfies ok and returns it.
func waitText(t *testing.T, page context.Context, within time.Duration, what, sel string, ok func(string) bool) string {
	t.Helper()
	s, _ := json.Marshal(sel)
	var last string
	deadline := time.Now().Add(within)
	for {
		last = eval[string](t, page, `(document.querySelector(`+string(s)+`) || {innerText: ""}).innerText.trim()`)
		if ok(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %s reads %q", within, what, sel, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// signedOnly is hearthd's flag to refuse unsigned items, when this
// hearthd has it.
func signedOnly() []string {
	out, _ := exec.Command(filepath.Join(binDir, "hearthd"), "--help").CombinedOutput()
	if bytes.Contains(out, []byte("require-signed-items")) {
		return []string{"--require-signed-items"}
	}
	return nil
}

// sidewaysJPEG is a 4:3 photo as a phone stores it when held sideways:
// the pixels 1200x1600 (blue top half, orange bottom half) and EXIF
// orientation 6 (turn 90° clockwise to show), so upright it is 1600x1200,
// orange left, blue right.
func sidewaysJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 1600))
	for y := 0; y < 1600; y++ {
		c := blue
		if y >= 800 {
			c = orange
		}
		for x := 0; x < 1200; x++ {
			img.SetRGBA(x, y, c)
		}
	}
	var body bytes.Buffer
	if err := jpeg.Encode(&body, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	// APP1 Exif: a little-endian TIFF header and one IFD entry,
	// Orientation (0x0112) SHORT 1 = 6.
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(8))
	_ = binary.Write(&tiff, binary.LittleEndian, uint16(1))
	_ = binary.Write(&tiff, binary.LittleEndian, []uint16{0x0112, 3})
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(1))
	_ = binary.Write(&tiff, binary.LittleEndian, []uint16{6, 0})
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(0))
	app1 := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write([]byte{0xFF, 0xD8, 0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(app1)+2))
	out.Write(app1)
	out.Write(body.Bytes()[2:]) // after the encoder's SOI
	return out.Bytes()
}
