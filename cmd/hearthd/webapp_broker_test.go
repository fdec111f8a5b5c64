package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker/brokertest"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// The page against the shipped broker configuration (provisioning/broker,
// through brokertest): Anna logs in on the secure WebSockets listener
// with her own per-person password and her own signing key (chosen as a
// file), and sees only the screen she is on, never Ole's. A wrong
// password says so and does not connect. Logging in as Anna in a second
// tab takes the session over: the first tab says so and does not fight
// back.
func TestWebAppShippedBrokerLogin(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	w := brokertest.Start(t, brokertest.Spec{People: []brokertest.Person{
		{ID: "anna", Name: "Anna", Screens: map[string][]proto.CallMode{"mum-kitchen": {proto.ModeSignalled, proto.RightSend}}},
		{ID: "fam-ole", Name: "Ole", Screens: map[string][]proto.CallMode{"ole-home": {proto.RightSend}}},
		{ID: "admin-eva", Name: "Eva", Admin: true},
	}})
	w.PublishAllowlists()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", w.B.Log())
		}
	})
	// What the two devices keep retained, published as each device.
	for id, name := range map[string]string{"mum-kitchen": "Mum's kitchen", "ole-home": "Ole's home"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := hsync.DialTLS(ctx, w.DeviceURL(), id, w.DeviceTLS(id))
		if err != nil {
			cancel()
			t.Fatalf("connect as device %s: %v\n%s", id, err, w.B.Log())
		}
		for topic, v := range map[string]any{
			proto.AvailabilityTopic(id): proto.Availability{V: proto.Version, Device: id, Name: name, Time: time.Now(), State: "available",
				Answer: map[proto.CallMode]proto.Answer{proto.ModeSignalled: proto.AnswerRings}, Camera: true, Microphone: true},
			proto.StateTopic(id): proto.State{V: proto.Version, Device: id, State: proto.LifeReady, Time: time.Now()},
		} {
			p, _ := json.Marshal(v)
			if err := c.Publish(ctx, topic, p, true); err != nil {
				t.Fatalf("%s publishes %s: %v", id, topic, err)
			}
		}
		c.Close()
		cancel()
	}

	anna := w.People["anna"]
	caller, err := provisioning.LoadCaller(anna.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.WSURL(), "wss://") {
		t.Fatalf("the shipped browser listener is %s, want wss", w.WSURL())
	}
	url := startWebApp(t, w.WSURL(), webPerson{ID: caller.ID, Name: caller.Name, Dir: anna.Dir, Caller: caller})
	browser := newWebBrowser(t, chromedp.Flag("ignore-certificate-errors", true))

	// A wrong password: said, and no connection.
	page := openTab(t, browser, url)
	setViewport(t, page, phone)
	waitTrue(t, page, "the login form", `!document.getElementById("login").hidden`)
	clearField(t, page, "#login-id")
	typeInto(t, page, "#login-id", "anna")
	typeInto(t, page, "#login-password", "not-"+anna.Password)
	waitTrue(t, page, "the key box", `!document.getElementById("key-box").hidden`)
	upload(t, page, "#key-file", filepath.Join(anna.Dir, provisioning.CallerKeyFile))
	click(t, page, "#login-submit")
	waitTrue(t, page, "wrong password", `hearth.connection().state === "wrong_password"`)
	if msg := eval[string](t, page, `document.getElementById("login-error").textContent`); msg == "" {
		t.Errorf("a wrong password leaves #login-error empty")
	}
	viewShot(t, page, "login-wrong-password-phone")

	// The right one.
	clearField(t, page, "#login-password")
	typeInto(t, page, "#login-password", anna.Password)
	click(t, page, "#login-submit")
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`hearth.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		cancel()
		t.Fatalf("Anna's page did not connect over wss with her password: %v (%s)\n%s", err,
			eval[string](t, page, `JSON.stringify(hearth.connection())`), w.B.Log())
	}
	cancel()
	waitDevice(t, page, "mum-kitchen", func(d pageDevice) bool { return d.Online && d.Name == "Mum's kitchen" })
	// Give the page the time a person would have to see a second screen.
	time.Sleep(2 * time.Second)
	var ids []string
	for _, d := range eval[[]pageDevice](t, page, `hearth.devices()`) {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "mum-kitchen" {
		t.Errorf("Anna's page lists %v, want only mum-kitchen (not Ole's screen)", ids)
	}
	viewShot(t, page, "screens-shipped-broker")

	// The same person in a second tab takes the session over.
	second := openWebApp(t, browser, url, webPerson{ID: "anna", Dir: anna.Dir, Password: anna.Password}, false)
	setViewport(t, second, phone)
	waitTrue(t, page, "taken over", `hearth.connection().state === "taken_over"`)
	waitTrue(t, page, "Use it here", `!document.getElementById("takeover").hidden`)
	time.Sleep(2 * time.Second)
	if st := eval[string](t, second, `hearth.connection().state`); st != "connected" {
		t.Errorf("the second tab is %q after taking over, want connected (the first must not fight back)", st)
	}

	// The organisation revokes Anna (provision revoke --person) and the
	// broker takes the new files: her page cannot log in again.
	if _, err := provisioning.RevokePerson(w.Org, "anna", "left the family's account", time.Now()); err != nil {
		t.Fatal(err)
	}
	// What the screen would receive from here on, read as the screen.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	dev, err := hsync.DialTLS(dctx, w.DeviceURL(), "mum-kitchen", w.DeviceTLS("mum-kitchen"))
	if err != nil {
		dcancel()
		t.Fatalf("connect as mum-kitchen: %v", err)
	}
	defer dev.Close()
	got := &syncBuffer{}
	err = dev.Subscribe(dctx, proto.ContentTopic("mum-kitchen", "+"), func(topic string, p []byte) {
		if strings.Contains(string(p), "after the revocation") {
			got.Write([]byte(topic + "\n"))
		}
	})
	dcancel()
	if err != nil {
		t.Fatal(err)
	}
	w.Install()
	w.Reload()
	// Her page that is still open: what she sends now reaches no screen,
	// and the page does not pretend it did.
	click(t, second, "#tab-send")
	click(t, second, "#send-kind-message")
	typeInto(t, second, "#send-text", "Sent after the revocation")
	click(t, second, "#send-submit")
	time.Sleep(3 * time.Second)
	said := eval[string](t, second, `(document.querySelector("#send-result") || {innerText: ""}).innerText.trim()`)
	t.Logf("after the revocation her open page says %q (connection %s)", said, eval[string](t, second, `JSON.stringify(hearth.connection())`))
	if strings.HasPrefix(said, "On ") || strings.Contains(said, "Waiting for") {
		t.Errorf("after the revocation her open page says %q, as if the screen would get it", said)
	}
	viewShot(t, second, "send-revoked-phone")
	if got.String() != "" {
		t.Errorf("after the revocation Anna's open page still reached the screen: %s", got)
	}
	third := openTab(t, browser, url)
	setViewport(t, third, phone)
	pw, _ := json.Marshal(anna.Password)
	if err := evalErr(third, `hearth.login("anna", `+string(pw)+`)`); err == nil {
		t.Errorf("a revoked person logged in on the browser listener")
	}
	waitTrue(t, third, "the revoked login refused", `hearth.connection().state === "wrong_password"`)
	viewShot(t, third, "login-revoked-phone")
}
