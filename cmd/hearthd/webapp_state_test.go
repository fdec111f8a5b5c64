package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// The page tells the truth about the screens: while it cannot reach the
// broker it says it is connecting and never "No screens yet"; once it can,
// it lists the screen. A daughter in New York reads her mother's
// do-not-disturb end and a screen's "offline since" on the screen's clock
// (Stockholm, Helsinki), not her own.
func TestWebAppTellsTheTruth(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	o := newWebOrg(t, b)
	anna := o.person("anna", "Anna")
	b.Stop() // the broker is down when Anna opens the page

	browser := newWebBrowser(t)
	page := openTab(t, browser, startWebApp(t, b.WSURL(), anna))
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	}))
	cancel()
	if err != nil {
		t.Fatalf("time zone override: %v", err)
	}
	setViewport(t, page, phone)
	clearField(t, page, "#login-id")
	typeInto(t, page, "#login-id", anna.ID)
	typeInto(t, page, "#login-password", "any password")
	waitTrue(t, page, "the key box", `!document.getElementById("key-box").hidden`)
	upload(t, page, "#key-file", filepath.Join(anna.Dir, provisioning.CallerKeyFile))
	click(t, page, "#login-submit")

	waitTrue(t, page, "the login going ahead", `hearth.connection().state !== "logged_out"`)
	// Five seconds without a broker: it says so, every moment.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		st := eval[string](t, page, `hearth.connection().state`)
		if st != "connecting" && st != "unreachable" {
			t.Fatalf("with the broker down the page's connection is %q, want connecting or unreachable", st)
		}
		if eval[bool](t, page, `(() => { const n = document.getElementById("none"); return !!n && !n.hidden && n.offsetParent !== null })()`) ||
			strings.Contains(eval[string](t, page, `document.body.innerText`), "No screens") {
			viewShot(t, page, "connecting-says-no-screens")
			t.Fatalf("with the broker down the page says there are no screens")
		}
	}
	if text := eval[string](t, page, `document.getElementById("link").innerText`); !strings.Contains(strings.ToLower(text), "connect") &&
		!strings.Contains(strings.ToLower(text), "reach") {
		t.Errorf("while the broker is down the page's status reads %q, want it to say it is connecting", text)
	}
	if eval[bool](t, page, `document.getElementById("connecting-note").hidden`) {
		t.Errorf("while the broker is down #connecting-note is hidden")
	}
	viewShot(t, page, "connecting-phone")

	// The broker comes back, with what the screens keep retained.
	b.StartAgain()
	o.allow("mum-kitchen", anna, proto.ModeSignalled, proto.RightSend)
	o.allow("dad-hall", anna, proto.ModeSignalled, proto.RightSend)
	stockholm, _ := time.LoadLocation("Europe/Stockholm")
	helsinki, _ := time.LoadLocation("Europe/Helsinki")
	newYork, _ := time.LoadLocation("America/New_York")
	dndUntil := time.Now().Add(150 * time.Minute).Truncate(time.Minute).UTC()
	_, off := time.Now().In(stockholm).Zone()
	publishJSON(t, b.URL(), proto.AvailabilityTopic("mum-kitchen"), proto.Availability{V: proto.Version, Device: "mum-kitchen",
		Name: "Mum's kitchen", Time: time.Now(), State: "do_not_disturb", DNDUntil: dndUntil, Camera: true, Microphone: true,
		Answer: map[proto.CallMode]proto.Answer{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerAsleep},
		Zone:   "Europe/Stockholm", UTCOffsetS: off})
	publishJSON(t, b.URL(), proto.StateTopic("mum-kitchen"), proto.State{V: proto.Version, Device: "mum-kitchen", State: proto.LifeReady, Time: time.Now()})
	lost := time.Now().Add(-47 * time.Minute).Truncate(time.Minute).UTC()
	_, offH := time.Now().In(helsinki).Zone()
	publishJSON(t, b.URL(), proto.AvailabilityTopic("dad-hall"), proto.Availability{V: proto.Version, Device: "dad-hall",
		Name: "Dad's hall", Time: lost, State: "available", Camera: true, Microphone: true,
		Answer: map[proto.CallMode]proto.Answer{proto.ModeSignalled: proto.AnswerRings}, Zone: "Europe/Helsinki", UTCOffsetS: offH})
	publishJSON(t, b.URL(), proto.StateTopic("dad-hall"), proto.State{V: proto.Version, Device: "dad-hall", State: proto.LifeLost, Time: lost})

	ctx, cancel = context.WithTimeout(page, 30*time.Second)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[any](`hearth.ready.then(() => true)`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		t.Fatalf("the page did not connect once the broker was back: %v (%s)", err, eval[string](t, page, `JSON.stringify(hearth.connection())`))
	}
	if tz := eval[string](t, page, `Intl.DateTimeFormat().resolvedOptions().timeZone`); tz != "America/New_York" {
		t.Fatalf("the browser's zone is %q, want the New York override", tz)
	}

	stateOf := func(id string) string {
		return eval[string](t, page, `(document.querySelector('[data-device="`+id+`"] .state') || {innerText: ""}).innerText`)
	}
	var kitchen, hall string
	waitFor(t, 15*time.Second, "both screens' states on the page", func() bool {
		kitchen, hall = stateOf("mum-kitchen"), stateOf("dad-hall")
		return strings.Contains(kitchen, "until") && strings.Contains(hall, "ffline")
	})
	viewShot(t, page, "screens-states-phone")
	if want, wrong := dndUntil.In(stockholm).Format("15:04"), dndUntil.In(newYork).Format("15:04"); !strings.Contains(kitchen, want) || strings.Contains(kitchen, wrong) {
		t.Errorf("Mum's kitchen reads %q; want do not disturb until %s (Stockholm), not %s (the browser's New York)", kitchen, want, wrong)
	}
	if want, wrong := lost.In(helsinki).Format("15:04"), lost.In(newYork).Format("15:04"); !strings.Contains(hall, want) || strings.Contains(hall, wrong) {
		t.Errorf("Dad's hall reads %q; want offline since %s (Helsinki), not %s (New York)", hall, want, wrong)
	}
	if eval[bool](t, page, `!document.getElementById("none").hidden`) {
		t.Errorf("with two screens listed the page also says there are none")
	}

	// A message to the offline screen: the page says it waits for it, and
	// says it is on the screen only once the screen has it.
	click(t, page, "#tab-send")
	click(t, page, "#send-kind-message")
	eval[any](t, page, `document.querySelectorAll('#send-screens input[name=screen]:checked').forEach(e => e.click())`)
	click(t, page, `#send-screens input[name=screen][value="dad-hall"]`)
	typeInto(t, page, "#send-text", "See you on Saturday")
	click(t, page, "#send-submit")
	res := waitText(t, page, 15*time.Second, "the answer for the offline screen", `#send-result li[data-device="dad-hall"]`,
		func(s string) bool { return s != "" && !strings.Contains(s, "…") || strings.Contains(s, "offline") })
	if !strings.Contains(res, "offline") || strings.HasPrefix(res, "On ") {
		t.Errorf("after sending to the offline screen the page says %q, want that it is offline and gets it when back", res)
	}
	viewShot(t, page, "send-offline-phone")
	hallScreen := startScreen(t, o, "dad-hall", "Dad's hall", false, signedOnly()...)
	waitText(t, page, 30*time.Second, "the screen back with the message", `#send-result li[data-device="dad-hall"]`,
		func(s string) bool { return strings.HasPrefix(s, "On ") })
	waitReady(t, b.URL(), hallScreen.id, 1, 10*time.Second)
	waitFor(t, 15*time.Second, "Dad's hall online on the page", func() bool { return strings.HasPrefix(stateOf("dad-hall"), "Online") })
}
