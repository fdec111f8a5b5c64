package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// The webapp section: what a family member waits for in hearthctl web's
// page, beside hearthctl on a terminal doing the same.
//
//   - open: the page's navigation start until hearth.connection() says
//     connected and hearth.devices() lists the screen (the key stored in the
//     browser from an earlier visit, hearth.login called as soon as the page
//     has it). Nothing comparable on a terminal: the time alone.
//   - message: hearth.send until the device's retained inventory lists the
//     item ready, beside hearthctl send message (process start until the
//     same).
//   - photo: a 12 MP JPEG chosen in the file input until the page's preview
//     of the scaled copy is drawn, then Send until ready; beside hearthctl
//     send photo (which scales too) until ready.
//
// hearthd reports its inventory at most once a second after a change
// (sync.Config.InventoryDelay), which both sides wait for alike; the
// _to_stored rows stop at hearthd's "content stored" log line instead.
//
// One headless hearthd that takes only signed items (--org-key,
// --require-signed-items) and one person allowed to send to it.

const (
	webappDevice = "bench-webapp"
	webappPerson = "anna"
	webappPhotoW = 4000
	webappPhotoH = 3000
)

func (b *bench) webapp(ctx context.Context) ([]Result, error) {
	dir := filepath.Join(b.work, "webapp")
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, err
	}
	hearthctl := filepath.Join(b.bin, "hearthctl")
	org, anna := filepath.Join(keys, "org"), filepath.Join(keys, webappPerson)
	for _, args := range [][]string{
		{"provision", "ca", "init", "--out", org, "--name", "Bench Care"},
		{"caller", "new", "--name", "Anna Lind", "--id", webappPerson, "--out", anna},
		{"--broker", b.broker, "allow", "--org", org, "--device", webappDevice, "--caller", anna, "--may", "send"},
	} {
		if out, err := exec.CommandContext(ctx, hearthctl, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("hearthctl %s: %w\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
	pem, err := os.ReadFile(filepath.Join(anna, provisioning.CallerKeyFile))
	if err != nil {
		return nil, err
	}

	inv, err := watchInventory(ctx, b.broker, webappDevice)
	if err != nil {
		return nil, err
	}
	defer inv.close()

	cmd := exec.Command(filepath.Join(b.bin, "hearthd"), "--headless", "--device-id", webappDevice, "--name", "Kitchen",
		"--broker", b.broker, "--data", filepath.Join(dir, "data"), "--org-key", filepath.Join(org, "org.pub"),
		"--require-signed-items", "--log-json", "--log-level", "debug") // debug: its "content stored" lines
	cmd.Env = envWith("LANG=en_US.UTF-8")
	d := &callDaemon{changed: make(chan struct{})}
	stored := &storedLog{at: map[string]time.Time{}, changed: make(chan struct{})}
	onLine := func(line string) {
		d.onLine(line)
		stored.onLine(line)
	}
	if d.proc, err = b.ps.start("hearthd "+webappDevice, cmd, onLine); err != nil {
		return nil, err
	}
	defer func() { _ = d.stop(10 * time.Second) }()
	if _, err := d.wait(ctx, 0, 30*time.Second, "allowlist installed", func(e logEntry) bool {
		return e.Msg == "allowlist installed"
	}); err != nil {
		return nil, err
	}

	pageURL, web, err := startWebCaller(ctx, b.ps, b.bin, b.brokerWS, anna)
	if err != nil {
		return nil, err
	}
	defer func() { _ = web.stop(5 * time.Second) }()
	browser, closeBrowser, err := startHeadlessChromium(ctx, filepath.Join(dir, "chromium"))
	if err != nil {
		return nil, err
	}
	defer closeBrowser()

	big := makeBigPhoto(webappPhotoW, webappPhotoH)
	photoFile := filepath.Join(dir, "family.jpg")
	if err := os.WriteFile(photoFile, big, 0o644); err != nil {
		return nil, err
	}
	b.log.Info("webapp: photo", "w", webappPhotoW, "h", webappPhotoH, "bytes", len(big))

	// The first visit: a fresh profile, the key imported (as a person
	// does once, from caller.key); what the page loads is counted here.
	first, _, closeTab, err := openWebapp(browser, pageURL, pem)
	if err != nil {
		return nil, fmt.Errorf("first visit: %w", err)
	}
	closeTab()
	pageBytes, files, err := servedBytes(pageURL, first.Resources)
	if err != nil {
		return nil, err
	}
	b.log.Info("webapp: first visit (key imported)", "open_to_listed_ms", round(first.Listed),
		"files", files, "served_bytes", pageBytes, "browser_transfer_bytes", first.Transfer)

	var (
		open, login                []time.Duration
		webMsg, ctlMsg             []time.Duration
		preview, webSend, webTotal []time.Duration
		ctlPhoto                   []time.Duration
		// Until the device's "content stored" line: before the inventory's
		// batching (sync.Config.InventoryDelay, 1 s).
		webMsgStored, ctlMsgStored     []time.Duration
		webPhotoStored, ctlPhotoStored []time.Duration
	)
	storedAfter := func(text string, t0 time.Time) (time.Duration, error) {
		at, err := stored.wait(ctx, inv.id(text), 5*time.Second)
		return at.Sub(t0), err
	}
	n := b.p.webappRuns
	for i := range n {
		o, tab, closeTab, err := openWebapp(browser, pageURL, nil)
		if err != nil {
			return nil, fmt.Errorf("run %d: open: %w", i+1, err)
		}
		open = append(open, msDur(o.Listed))
		login = append(login, msDur(o.Listed-o.Login))

		text := fmt.Sprintf("Dinner at six, run %d", i+1)
		t0 := time.Now()
		if _, err := evalJS[any](tab, `hearth.send({kind: "message", text: `+jsString(text)+`, devices: [`+jsString(webappDevice)+`]})`, 20*time.Second); err != nil {
			closeTab()
			return nil, fmt.Errorf("run %d: hearth.send: %w", i+1, err)
		}
		at, err := inv.waitReady(ctx, text, 30*time.Second)
		if err != nil {
			closeTab()
			return nil, fmt.Errorf("run %d: web message: %w", i+1, err)
		}
		webMsg = append(webMsg, at.Sub(t0))
		st, err := storedAfter(text, t0)
		if err != nil {
			closeTab()
			return nil, fmt.Errorf("run %d: web message: %w", i+1, err)
		}
		webMsgStored = append(webMsgStored, st)

		text = fmt.Sprintf("Dinner at seven, run %d", i+1)
		t0 = time.Now()
		ctl, err := hearthctlReady(ctx, inv, text, hearthctl, "--broker", b.broker, "send", "message",
			"--to", webappDevice, "--caller", anna, text)
		if err == nil {
			st, err = storedAfter(text, t0)
		}
		if err != nil {
			closeTab()
			return nil, fmt.Errorf("run %d: hearthctl send message: %w", i+1, err)
		}
		ctlMsg, ctlMsgStored = append(ctlMsg, ctl), append(ctlMsgStored, st)

		caption := fmt.Sprintf("The whole family, run %d", i+1)
		pv, send, sent, err := webPhoto(ctx, tab, inv, photoFile, caption)
		closeTab()
		if err == nil {
			st, err = storedAfter(caption, sent)
		}
		if err != nil {
			return nil, fmt.Errorf("run %d: web photo: %w", i+1, err)
		}
		preview, webSend, webTotal = append(preview, pv), append(webSend, send), append(webTotal, pv+send)
		webPhotoStored = append(webPhotoStored, st)

		caption = fmt.Sprintf("The garden, run %d", i+1)
		t0 = time.Now()
		ctl, err = hearthctlReady(ctx, inv, caption, hearthctl, "--broker", b.broker, "send", "photo",
			"--to", webappDevice, "--caller", anna, "--caption", caption, photoFile)
		if err == nil {
			st, err = storedAfter(caption, t0)
		}
		if err != nil {
			return nil, fmt.Errorf("run %d: hearthctl send photo: %w", i+1, err)
		}
		ctlPhoto, ctlPhotoStored = append(ctlPhoto, ctl), append(ctlPhotoStored, st)

		b.log.Info("webapp: run", "n", i+1, "open_ms", round(o.Listed), "form_ready_ms", round(o.Hook),
			"login_to_listed_ms", ms(login[i]),
			"web_message_ms", ms(webMsg[i]), "web_message_stored_ms", ms(webMsgStored[i]),
			"hearthctl_message_ms", ms(ctlMsg[i]), "hearthctl_message_stored_ms", ms(ctlMsgStored[i]),
			"photo_preview_ms", ms(pv), "web_photo_send_ms", ms(send), "web_photo_stored_ms", ms(webPhotoStored[i]),
			"hearthctl_photo_ms", ms(ctl), "hearthctl_photo_stored_ms", ms(ctlPhotoStored[i]))
	}

	ctlMsgAnchor := "hearthctl send message, start to ready"
	ctlPhotoAnchor := "hearthctl send photo (12 MP), start to ready"
	return []Result{
		newResult("webapp.open_to_listed", ms(median(open)), "ms", "", 0, goal{}),
		newResult("webapp.login_to_listed", ms(median(login)), "ms", "", 0, goal{}),
		newResult("webapp.open_first_visit", first.Listed, "ms", "", 0, goal{}),
		newResult("webapp.page_size", float64(pageBytes)/1024, "KiB", "", 0, goal{}),
		newResult("webapp.message_to_ready", ms(median(webMsg)), "ms", ctlMsgAnchor, ms(median(ctlMsg)), goal{}),
		newResult("webapp.message_to_stored", ms(median(webMsgStored)), "ms", "hearthctl send message, start to stored", ms(median(ctlMsgStored)), goal{}),
		newResult("webapp.photo_preview_12mp", ms(median(preview)), "ms", "", 0, goal{}),
		newResult("webapp.photo_send_to_ready", ms(median(webSend)), "ms", ctlPhotoAnchor, ms(median(ctlPhoto)), goal{}),
		newResult("webapp.photo_send_to_stored", ms(median(webPhotoStored)), "ms", "hearthctl send photo, start to stored", ms(median(ctlPhotoStored)), goal{}),
		newResult("webapp.photo_choose_to_ready", ms(median(webTotal)), "ms", ctlPhotoAnchor, ms(median(ctlPhoto)), goal{}),
	}, nil
}

func msDur(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// openTiming is what the page's opening script reports, in milliseconds
// from the navigation's start (performance.now()).
type openTiming struct {
	Hook      float64  `json:"hook"`   // the login form ready (config read, logged out)
	Login     float64  `json:"login"`  // hearth.login called
	Listed    float64  `json:"listed"` // connected and the screen listed
	Resources []string `json:"resources"`
	Transfer  float64  `json:"transfer"` // the browser's transferSize sum
	Error     string   `json:"error"`
}

// openScript runs in the page before its own scripts: it waits for the
// login form to be ready, imports pem first when given, logs in at once and notes
// when the page is connected and lists the device.
func openScript(pem []byte) string {
	imp := "null"
	if pem != nil {
		imp = jsString(string(pem))
	}
	return `window.__benchOpen = (async () => {
  const pem = ` + imp + `, id = ` + jsString(webappPerson) + `, dev = ` + jsString(webappDevice) + `;
  const pause = () => new Promise((r) => setTimeout(r, 2));
  // The login form is ready once the page has its config (the broker's
  // address) and says it is logged out.
  const formReady = () => { try { return !!hearth.config().ws && hearth.connection().state === "logged_out"; } catch { return false; } };
  while (!(window.hearth && window.hearth.login && formReady())) await pause();
  const hook = performance.now();
  window.__benchStage = "importKey";
  if (pem) await hearth.importKey(pem, id);
  const login = performance.now();
  window.__benchStage = "login";
  await hearth.login(id, "any password");
  window.__benchStage = "listed";
  for (;;) {
    let ok = false;
    try { ok = hearth.connection().state === "connected" && hearth.devices().some((d) => d.id === dev); } catch {}
    if (ok) break;
    await pause();
  }
  const listed = performance.now();
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return { hook, login, listed, resources: entries.map((e) => e.name),
    transfer: entries.reduce((s, e) => s + (e.transferSize || 0), 0) };
})().catch((e) => ({ error: String(e && e.message || e) }));`
}

// openWebapp opens the page in a new tab, logged in and listing the
// device; closeTab closes the tab (and so its broker connection).
func openWebapp(browser context.Context, pageURL string, pem []byte) (openTiming, context.Context, func(), error) {
	var o openTiming
	tab, cancel := chromedp.NewContext(browser)
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: openScript(pem)}); err != nil {
		cancel()
		return o, nil, nil, fmt.Errorf("new tab: %w", err)
	}
	nctx, ncancel := context.WithTimeout(tab, 20*time.Second)
	err := chromedp.Do(nctx, chromedp.Navigate(pageURL))
	ncancel()
	if err != nil {
		cancel()
		return o, nil, nil, fmt.Errorf("open %s: %w", pageURL, err)
	}
	o, err = evalJS[openTiming](tab, `window.__benchOpen`, 30*time.Second)
	if err == nil && o.Error != "" {
		err = errors.New(o.Error)
	}
	if err != nil {
		says, _ := evalJS[string](tab, `window.__benchStage + " " + JSON.stringify(hearth.connection()) + " " + document.getElementById("login-error").textContent`, 5*time.Second)
		cancel()
		return o, nil, nil, fmt.Errorf("the page did not connect and list %s (connection %s): %w", webappDevice, says, err)
	}
	return o, tab, cancel, nil
}

// servedBytes fetches the page's own files (same origin) again and sums
// their bodies: what a first visit transfers (hearthctl web does not
// compress), the broker's WebSocket traffic aside.
func servedBytes(pageURL string, resources []string) (int64, int, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	var total int64
	for _, r := range resources {
		u, err := url.Parse(r)
		if err != nil || u.Host != base.Host || (u.Scheme != "http" && u.Scheme != "https") || seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		resp, err := http.Get(u.String())
		if err != nil {
			return 0, 0, err
		}
		nb, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		total += nb
	}
	return total, len(seen), nil
}

// pickScript arms a watcher of the photo preview: from the file input's
// change event to the preview's img.pv-photo decoded and a frame drawn.
const pickScript = `(() => {
  hearth.show("send", ` + "`" + webappDevice + "`" + `);
  document.getElementById("send-kind-photo").click();
  for (const e of document.querySelectorAll("#send-screens input[name=screen]")) {
    if (e.checked !== (e.value === ` + "`" + webappDevice + "`" + `)) e.click();
  }
  if (document.querySelector("#send-preview img.pv-photo")) throw new Error("a photo is already chosen");
  const input = document.getElementById("send-file"), box = document.getElementById("send-preview");
  let chosen = null;
  input.addEventListener("change", () => { chosen = performance.now(); }, { capture: true, once: true });
  window.__benchPick = new Promise((resolve) => {
    let done = false;
    const check = async () => {
      const img = box.querySelector("img.pv-photo");
      if (done || chosen === null || !img) return;
      done = true;
      obs.disconnect();
      try { await img.decode(); } catch {}
      requestAnimationFrame(() => resolve({ chosen, drawn: performance.now(),
        info: document.getElementById("send-photo-info").textContent }));
    };
    const obs = new MutationObserver(check);
    obs.observe(box, { childList: true, subtree: true });
  });
  return true;
})()`

type pickTiming struct {
	Chosen float64 `json:"chosen"`
	Drawn  float64 `json:"drawn"`
	Info   string  `json:"info"`
}

// webPhoto chooses the photo in the page's file input, waits for the
// preview, sets the caption and presses Send; it returns the preview's
// time and Send until the device lists the photo ready.
func webPhoto(ctx context.Context, tab context.Context, inv *inventoryWatcher, file, caption string) (preview, send time.Duration, sent time.Time, _ error) {
	if _, err := evalJS[bool](tab, pickScript, 10*time.Second); err != nil {
		return 0, 0, time.Time{}, err
	}
	set := `(() => { const t = document.getElementById("send-text"); t.value = ` + jsString(caption) +
		`; t.dispatchEvent(new Event("input", { bubbles: true })); return true; })()`
	if _, err := evalJS[bool](tab, set, 10*time.Second); err != nil {
		return 0, 0, time.Time{}, err
	}
	uctx, cancel := context.WithTimeout(tab, 20*time.Second)
	err := chromedp.Do(uctx, chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{file}))
	cancel()
	if err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("choose the photo: %w", err)
	}
	pk, err := evalJS[pickTiming](tab, `window.__benchPick`, 60*time.Second)
	if err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("the preview: %w", err)
	}
	if !strings.Contains(pk.Info, "pixels") {
		return 0, 0, time.Time{}, fmt.Errorf("the page did not prepare the photo: %q", pk.Info)
	}
	t0 := time.Now()
	if _, err := evalJS[bool](tab, `document.getElementById("send-submit").click(), true`, 10*time.Second); err != nil {
		return 0, 0, time.Time{}, err
	}
	at, err := inv.waitReady(ctx, caption, 60*time.Second)
	if err != nil {
		errText, _ := evalJS[string](tab, `document.getElementById("send-error").textContent`, 5*time.Second)
		return 0, 0, time.Time{}, fmt.Errorf("%w (the page says %q)", err, errText)
	}
	return msDur(pk.Drawn - pk.Chosen), at.Sub(t0), t0, nil
}

// hearthctlReady runs hearthctl and returns the time from its start until
// the device lists the item with text ready.
func hearthctlReady(ctx context.Context, inv *inventoryWatcher, text, bin string, args ...string) (time.Duration, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	at, err := inv.waitReady(ctx, text, 60*time.Second)
	werr := <-exited
	if werr != nil {
		return 0, fmt.Errorf("%w\n%s", werr, out.String())
	}
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, out.String())
	}
	return at.Sub(t0), nil
}

// inventoryWatcher keeps the device's retained inventory as it comes,
// stamped on arrival.
type inventoryWatcher struct {
	cl      mqtt.Client
	mu      gosync.Mutex
	ready   map[string]time.Time // item text -> first report listing it ready
	ids     map[string]string    // item text -> id
	refused map[string]string
	changed chan struct{}
}

func watchInventory(ctx context.Context, broker, device string) (*inventoryWatcher, error) {
	u, err := hsync.BrokerURL(broker)
	if err != nil {
		return nil, err
	}
	w := &inventoryWatcher{ready: map[string]time.Time{}, ids: map[string]string{}, refused: map[string]string{}, changed: make(chan struct{})}
	o := mqtt.NewClientOptions().AddBroker(u).SetClientID("hearthbench-webapp-inventory").SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	w.cl = mqtt.NewClient(o)
	if err := waitMQTT(ctx, w.cl.Connect()); err != nil {
		return nil, fmt.Errorf("inventory watcher: connect: %w", err)
	}
	tok := w.cl.Subscribe(proto.InventoryTopic(device), 1, func(_ mqtt.Client, m mqtt.Message) {
		at := time.Now()
		var inv proto.Inventory
		if json.Unmarshal(m.Payload(), &inv) != nil {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, it := range inv.Items {
			w.ids[it.Text] = it.ID
			switch it.State {
			case proto.StateReady:
				if _, ok := w.ready[it.Text]; !ok {
					w.ready[it.Text] = at
				}
			case proto.StateRefused:
				w.refused[it.Text] = it.Reason
			}
		}
		close(w.changed)
		w.changed = make(chan struct{})
	})
	if err := waitMQTT(ctx, tok); err != nil {
		w.close()
		return nil, fmt.Errorf("inventory watcher: subscribe: %w", err)
	}
	return w, nil
}

func (w *inventoryWatcher) close() { w.cl.Disconnect(100) }

// id is the id of the item with this text, as the inventory listed it.
func (w *inventoryWatcher) id(text string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[text]
}

// storedLog keeps when hearthd logged "content stored" for each item id
// (a debug line; the log's own time stamp).
type storedLog struct {
	mu      gosync.Mutex
	at      map[string]time.Time
	changed chan struct{} // closed and replaced on every line stored
}

func (l *storedLog) onLine(line string) {
	if !strings.Contains(line, `"content stored"`) {
		return
	}
	var e struct {
		Time time.Time `json:"time"`
		ID   string    `json:"id"`
	}
	if json.Unmarshal([]byte(line), &e) != nil || e.ID == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.at[e.ID]; !ok {
		l.at[e.ID] = e.Time
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait returns when the device stored the item id.
func (l *storedLog) wait(ctx context.Context, id string, within time.Duration) (time.Time, error) {
	return waitChange(ctx, within, func() (time.Time, bool, <-chan struct{}, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		at, ok := l.at[id]
		return at, ok, l.changed, nil
	}, func() error {
		return fmt.Errorf("no \"content stored\" line for item %q in hearthd's log within %v", id, within)
	})
}

// waitReady returns when the first inventory listing the item with this
// text ready arrived.
func (w *inventoryWatcher) waitReady(ctx context.Context, text string, within time.Duration) (time.Time, error) {
	return waitChange(ctx, within, func() (time.Time, bool, <-chan struct{}, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if at, ok := w.ready[text]; ok {
			return at, true, nil, nil
		}
		if reason, refused := w.refused[text]; refused {
			return time.Time{}, false, nil, fmt.Errorf("the device refused %q: %s", text, reason)
		}
		return time.Time{}, false, w.changed, nil
	}, func() error {
		return fmt.Errorf("timed out after %v waiting for %q ready in the inventory", within, text)
	})
}

// waitChange calls check until it reports done or an error, waiting
// between calls for the channel it returned (closed on the next change of
// what it reads), for at most within (then the error is late's).
func waitChange[T any](ctx context.Context, within time.Duration, check func() (T, bool, <-chan struct{}, error), late func() error) (T, error) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		v, done, ch, err := check()
		if done || err != nil {
			return v, err
		}
		select {
		case <-ch:
		case <-timer.C:
			return v, late()
		case <-ctx.Done():
			return v, ctx.Err()
		}
	}
}

// makeBigPhoto returns a w×h JPEG like a phone camera's: gradients,
// shapes and fine grain, a few megabytes at quality 92.
func makeBigPhoto(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := uint32(2463534242)
	for y := range h {
		v := float64(y) / float64(h)
		for x := range w {
			u := float64(x) / float64(w)
			d := 40*math.Sin(2*math.Pi*(1.3*u+0.7*v)) + 25*math.Cos(2*math.Pi*(3*v-u)) +
				15*math.Sin(2*math.Pi*(17*u*v+9*u))
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			d += float64(int(rng&31) - 16) // grain
			o := img.PixOffset(x, y)
			img.Pix[o+0] = clampByte(120 + d)
			img.Pix[o+1] = clampByte(130 + d*0.7 - 30*u)
			img.Pix[o+2] = clampByte(110 - d*0.5 + 40*v)
			img.Pix[o+3] = 255
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}) // cannot fail into a bytes.Buffer
	return b.Bytes()
}
