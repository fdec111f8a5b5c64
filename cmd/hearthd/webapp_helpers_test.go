package main

// The family web app's test harness (webapp_test.go): an organisation and
// its people with signed allowlists on a real Mosquitto, screens that are
// real hearthd processes (one under Xvfb, read back from the X server, the
// others headless and read through their inventory), the page in headless
// Chromium, axe-core run in the page, a keyboard walk, phone-size shots,
// and OCR of the device's screen where tesseract is installed.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// webOrg is an organisation, its people and the allowlists it signed.
type webOrg struct {
	t      *testing.T
	b      *mqtttest.Broker
	dir    string
	org    provisioning.Org
	people map[string]webPerson
	lists  map[string]proto.Allowlist // by device
}

// webPerson is one person's key folder (hearthctl caller new).
type webPerson struct {
	ID, Name, Dir string
	Caller        provisioning.Caller
	// Password is their broker password; the test broker takes any.
	Password string
}

func newWebOrg(t *testing.T, b *mqtttest.Broker) *webOrg {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "org")
	org, err := provisioning.NewOrg(dir, "North Care")
	if err != nil {
		t.Fatal(err)
	}
	return &webOrg{t: t, b: b, dir: dir, org: org, people: map[string]webPerson{}, lists: map[string]proto.Allowlist{}}
}

// orgPub is the organisation's public key file, for hearthd --org-key.
func (o *webOrg) orgPub() string { return filepath.Join(o.dir, provisioning.OrgPubFile) }

// person makes a person's key (their caller id is their one id).
func (o *webOrg) person(id, name string) webPerson {
	o.t.Helper()
	dir := filepath.Join(filepath.Dir(o.dir), id)
	c, err := provisioning.NewCaller(dir, id, name)
	if err != nil {
		o.t.Fatal(err)
	}
	p := webPerson{ID: id, Name: name, Dir: dir, Caller: c}
	o.people[id] = p
	return p
}

// allow lists p on device with the rights given, signs the list with the
// next serial and publishes it retained, as hearthctl allow does.
func (o *webOrg) allow(device string, p webPerson, rights ...proto.CallMode) {
	o.t.Helper()
	next := o.org.Allow(o.lists[device], proto.AllowedCaller{ID: p.ID, Name: p.Name, Key: p.Caller.Public(), Mode: rights}, time.Now())
	o.lists[device] = next
	publishJSON(o.t, o.b.URL(), proto.AllowlistTopic(device), next)
}

// webScreen is a running hearthd: under Xvfb when display is set.
type webScreen struct {
	id, name string
	display  string
	d        *daemon
	data     string
}

const screenW, screenH = 1280, 720

// startScreen runs hearthd for device id. With onX it draws a real window
// under Xvfb; otherwise it is headless. It waits until the device took the
// allowlist, so publish that first.
func startScreen(t *testing.T, o *webOrg, id, name string, onX bool, extra ...string) *webScreen {
	t.Helper()
	s := &webScreen{id: id, name: name, data: t.TempDir()}
	args := []string{"--device-id", id, "--name", name, "--broker", o.b.URL(), "--data", s.data,
		"--timezone", "Europe/Stockholm", "--org-key", o.orgPub(), "--dwell", "4s"}
	var env []string
	if onX {
		s.display = xvfb(t, screenW, screenH)
		env = []string{"DISPLAY=" + s.display, "LANG=en_GB.UTF-8"}
		args = append(args, "--screen", fmt.Sprintf("%dx%d", screenW, screenH))
	} else {
		args = append(args, "--headless")
	}
	s.d = startDaemon(t, env, append(args, extra...)...)
	s.d.waitLog("connected to broker", 20*time.Second)
	s.d.waitLog("allowlist installed", 15*time.Second)
	return s
}

// waitShot takes screenshots of the device's screen until ok accepts one
// (the carousel turns every few seconds, so what is wanted comes round),
// saves the one it accepted (or the last) as name and returns it.
func (s *webScreen) waitShot(t *testing.T, within time.Duration, name, what string, ok func(image.Image) bool) image.Image {
	t.Helper()
	if s.display == "" {
		t.Fatalf("screen %s is headless: no screenshots", s.id)
	}
	var shot image.Image
	deadline := time.Now().Add(within)
	for {
		shot = screenshot(t, s.display)
		if ok(shot) {
			saveShot(t, shot, name)
			return shot
		}
		if time.Now().After(deadline) {
			saveShot(t, shot, name)
			t.Fatalf("%s's screen: no %s within %v (last shot saved as %s)", s.id, what, within, name)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// ocrText reads the text on a screenshot with tesseract; ok is false when
// tesseract is not installed (then the caller checks pixels only).
func ocrText(t *testing.T, img image.Image) (text string, ok bool) {
	t.Helper()
	bin, err := exec.LookPath("tesseract")
	if err != nil {
		if os.Getenv("HEARTH_REQUIRE_OCR") != "" {
			t.Fatalf("tesseract: %v", err)
		}
		t.Logf("tesseract not installed (apt-get install tesseract-ocr): the screen's words are not read, only its pixels")
		return "", false
	}
	var in bytes.Buffer
	if err := png.Encode(&in, img); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "stdin", "stdout", "--psm", "11")
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("tesseract: %v: %s", err, errb.String())
	}
	return strings.Join(strings.Fields(out.String()), " "), true
}

// screenSays waits until OCR of the device's screen finds every one of
// words (case-insensitive), and returns what it read. Without tesseract it
// returns at once with ok false.
func (s *webScreen) screenSays(t *testing.T, within time.Duration, name string, words ...string) (read string, ok bool) {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		_, ok = ocrText(t, nil)
		return "", ok
	}
	var last string
	deadline := time.Now().Add(within)
	for {
		shot := screenshot(t, s.display)
		last, _ = ocrText(t, shot)
		low := strings.ToLower(last)
		all := true
		for _, w := range words {
			all = all && strings.Contains(low, strings.ToLower(w))
		}
		if all {
			saveShot(t, shot, name)
			return last, true
		}
		if time.Now().After(deadline) {
			saveShot(t, shot, name)
			t.Fatalf("%s's screen never read %q within %v; last read: %q (shot %s)", s.id, words, within, last, name)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// newWebBrowser is newBrowser in British English (the page's words the
// tests read), with extra Chromium flags.
func newWebBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return newBrowser(t, append([]chromedp.ExecAllocatorOption{chromedp.Flag("lang", "en-GB")}, extra...)...)
}

// heldItem is item id as device's retained inventory reports it; false
// when the inventory does not list it.
func heldItem(t *testing.T, broker, device, id string) (proto.InventoryItem, bool) {
	t.Helper()
	inv, _ := inventory(t, broker, device)
	for _, it := range inv.Items {
		if it.ID == id {
			return it, true
		}
	}
	return proto.InventoryItem{}, false
}

// confirmRemove clicks the confirmation of item id's removal in the Shows
// list, if the page asks for one.
func confirmRemove(t *testing.T, page context.Context, id string) {
	t.Helper()
	eval[any](t, page, `(() => { const c = document.querySelector('#shows-list li.item[data-item="`+id+`"] .remove-confirm, #remove-confirm'); if (c) c.click(); })()`)
}

// Viewports the app is checked at.
type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

var (
	phone   = viewport{"phone", 390, 844, true}
	desktop = viewport{"desktop", 1280, 900, false}
)

func setViewport(t *testing.T, page context.Context, v viewport) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if v.mobile {
		opts = append(opts, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(page, chromedp.EmulateViewport(v.w, v.h, opts...)); err != nil {
		t.Fatalf("viewport %s: %v", v.name, err)
	}
}

// viewShot saves the page, whole, at the viewport it has, as
// $HEARTH_SCREENSHOTS/webapp-NAME.png when that is set.
func viewShot(t *testing.T, page context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HEARTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	ctx, cancel := context.WithTimeout(page, 15*time.Second)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		p := filepath.Join(dir, "webapp-"+name+".png")
		if err = os.WriteFile(p, img, 0o644); err == nil {
			t.Logf("page screenshot: %s", p)
		}
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// axeSource is testdata/axe/axe.min.js, read once.
var axeSource string

// axeViolation is one rule that failed, with the nodes it failed on.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
}

// runAxe runs axe-core in the page (evaluated through the DevTools
// protocol, which the page's Content-Security-Policy does not govern)
// with the WCAG 2 A and AA rules, and returns every violation.
func runAxe(t *testing.T, page context.Context) []axeViolation {
	t.Helper()
	if axeSource == "" {
		b, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
		if err != nil {
			t.Fatalf("axe-core: %v", err)
		}
		axeSource = string(b)
	}
	ctx, cancel := context.WithTimeout(page, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`typeof axe === "object" || (()=>{`+axeSource+`
})(), typeof axe`)); err != nil && err != chromedp.ErrJSUndefined {
		t.Fatalf("load axe-core into the page: %v", err)
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}, resultTypes: ["violations"]})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
     nodes: v.nodes.map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\s+/g, " "))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return v
}

// checkAxe fails the test on serious or critical violations, printing
// them all; lesser ones are logged.
func checkAxe(t *testing.T, page context.Context, view string) {
	t.Helper()
	var bad, minor []string
	for _, v := range runAxe(t, page) {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v.String())
		} else {
			minor = append(minor, v.String())
		}
	}
	if len(minor) > 0 {
		t.Logf("axe-core on %s, minor or moderate:\n  %s", view, strings.Join(minor, "\n  "))
	}
	if len(bad) > 0 {
		t.Errorf("axe-core on %s: %d serious or critical violations:\n  %s", view, len(bad), strings.Join(bad, "\n  "))
	}
}

// focusStop is where one Tab press left the focus.
type focusStop struct {
	Key   string `json:"key"`   // the element's id, or a path to it
	Label string `json:"label"` // its text or label
	Ring  bool   `json:"ring"`  // a visible focus indicator (outline or box shadow)
	Style string `json:"style"` // the outline and box-shadow it has
}

// controlsJS lists the interactive controls a person could reach on the
// page as it is: visible, enabled, not taken out of the tab order, each
// as focusKeyJS names it.
const focusKeyJS = `(el => el.id ? "#" + el.id : (() => {
  const path = [];
  for (let e = el; e && e !== document.body; e = e.parentElement) {
    const i = e.parentElement ? [...e.parentElement.children].indexOf(e) : 0;
    path.unshift(e.tagName.toLowerCase() + (e.id ? "#" + e.id : ":" + i));
    if (e.id) break;
  }
  return path.join(">");
})())`

const controlsJS = `(() => {
  const key = ` + focusKeyJS + `;
  const sel = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';
  const shown = el => {
    if (el.closest("[hidden], [inert]")) return false;
    for (let d = el.parentElement; d; d = d.parentElement) {
      if (d.tagName === "DETAILS" && !d.open && el.tagName !== "SUMMARY" && !(el.parentElement === d && el.tagName === "SUMMARY")) return false;
    }
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden") return false;
    // Rendered at all (a visually hidden input, clipped to a pixel, is;
    // anything under display: none is not).
    return el.getClientRects().length > 0;
  };
  const seen = new Set();
  return [...document.querySelectorAll(sel)].filter(el => !el.disabled && el.tabIndex >= 0 && shown(el))
    .filter(el => {
      // One stop per radio group.
      if (el.type === "radio" && el.name) { const g = "radio:" + el.name; if (seen.has(g)) return false; seen.add(g); }
      return true;
    })
    .map(el => el.type === "radio" && el.name ? "radio:" + el.name : key(el));
})()`

const activeJS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {key: "body", label: "", ring: false, style: ""};
  const key = ` + focusKeyJS + `;
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 1;
  const shadow = cs.boxShadow && cs.boxShadow !== "none";
  // A visually hidden input shows its focus on its label.
  let ring = outline || shadow, style = cs.outlineStyle + " " + cs.outlineWidth + " " + cs.outlineColor + " / " + cs.boxShadow;
  if (!ring && el.labels && el.labels.length) {
    const ls = getComputedStyle(el.labels[0]);
    ring = (ls.outlineStyle !== "none" && parseFloat(ls.outlineWidth) >= 1) || (ls.boxShadow && ls.boxShadow !== "none");
    style += " (label: " + ls.outlineStyle + " " + ls.outlineWidth + " / " + ls.boxShadow + ")";
  }
  return {key: el.type === "radio" && el.name ? "radio:" + el.name : key(el),
    label: (el.getAttribute("aria-label") || el.innerText || el.value || el.name || "").trim().slice(0, 40), ring, style};
})()`

// tabWalk presses Tab until the focus has gone once round the page (from
// wherever it starts, through the browser's own stop, back to the first
// control it met), and checks that every control of controlsJS was
// reached and showed a focus ring. It returns the stops in order.
func tabWalk(t *testing.T, page context.Context, view string) []focusStop {
	t.Helper()
	want := eval[[]string](t, page, controlsJS)
	var stops []focusStop
	reached := map[string]bool{}
	bodies := 0
	for i := 0; i < 3*len(want)+10; i++ {
		ctx, cancel := context.WithTimeout(page, 10*time.Second)
		err := chromedp.Do(ctx, chromedp.KeyEvent("\t"))
		cancel()
		if err != nil {
			t.Fatalf("Tab: %v", err)
		}
		s := eval[focusStop](t, page, activeJS)
		if s.Key == "body" {
			if bodies++; bodies > 2 {
				break // nothing on the page takes the focus
			}
			continue
		}
		if len(stops) > 0 && stops[0].Key == s.Key {
			break // once round
		}
		if !reached[s.Key] && !s.Ring {
			t.Errorf("%s: %s (%q) has keyboard focus but no visible focus ring (%s)", view, s.Key, s.Label, s.Style)
		}
		reached[s.Key] = true
		stops = append(stops, s)
	}
	var missed []string
	for _, k := range want {
		if !reached[k] {
			missed = append(missed, k)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		var got []string
		for _, s := range stops {
			got = append(got, s.Key)
		}
		t.Errorf("%s: Tab never reached %d controls: %v\n  the Tab order was %v", view, len(missed), missed, got)
	}
	return stops
}

// startWebApp runs hearthctl web for a person and returns the page's
// address.
func startWebApp(t *testing.T, ws string, p webPerson, extra ...string) string {
	t.Helper()
	args := append([]string{"web", "--caller", p.Dir, "--ws", ws, "--listen", "127.0.0.1:0"}, extra...)
	w := startCommand(t, nil, filepath.Join(binDir, "hearthctl"), args...)
	waitFor(t, 15*time.Second, "hearthctl web's address", func() bool { return webAddr.MatchString(w.log.String()) || !w.running() })
	m := webAddr.FindStringSubmatch(w.log.String())
	if m == nil {
		t.Fatalf("hearthctl web said %q, want the page's address", w.log)
	}
	return m[1]
}

var webAddr = regexp.MustCompile(`(https?://127\.0\.0\.1:\d+/)`)

// hasColour reports whether at least frac of the pixels inside r are
// within tol of c.
func hasColour(img image.Image, r image.Rectangle, c color.RGBA, tol int, frac float64) bool {
	return share(region(img, r.Intersect(img.Bounds())), c, tol) >= frac
}
