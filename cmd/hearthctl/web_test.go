package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
)

func newTestCaller(t testing.TB) (string, provisioning.Caller) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "eva")
	c, err := provisioning.NewCaller(dir, "nurse-eva", "Nurse Eva")
	if err != nil {
		t.Fatal(err)
	}
	return dir, c
}

func webHandler(t *testing.T, public bool) (http.Handler, provisioning.Caller) {
	t.Helper()
	_, c := newTestCaller(t)
	h, err := newWebHandler(webConfig{ID: c.ID, Name: c.Name, WS: "ws://127.0.0.1:9001"}, public)
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

func get(h http.Handler, host, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// config.json says where the broker is and whom to prefill in the login
// form; never a key: the person imports theirs into the browser.
func TestWebConfig(t *testing.T) {
	h, c := webHandler(t, false)
	w := get(h, "127.0.0.1:8080", "/config.json")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /config.json = %d, want 200: %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("config.json Cache-Control = %q, want no-store", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("config.json Content-Type = %q, want application/json", got)
	}
	var cfg struct{ ID, Name, WS string }
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("config.json %s: %v (want only ws, id and name)", w.Body, err)
	}
	if cfg.ID != "nurse-eva" || cfg.Name != "Nurse Eva" || cfg.WS != "ws://127.0.0.1:9001" {
		t.Errorf("config.json = %+v, want nurse-eva, Nurse Eva, ws://127.0.0.1:9001", cfg)
	}
	if key := base64.StdEncoding.EncodeToString(provisioning.PKCS8(c.Key)); strings.Contains(w.Body.String(), key) {
		t.Errorf("config.json hands out the caller's private key")
	}

	// Without --caller: only where the broker is; anyone logs in.
	bare, err := newWebHandler(webConfig{WS: "wss://broker.example:8885"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(bare, "localhost", "/config.json").Body.String(); got != `{"ws":"wss://broker.example:8885"}` {
		t.Errorf("config.json without a caller = %s, want only ws", got)
	}
}

// --caller reads only caller.json: the folder's private key stays on disk
// (and need not even be there).
func TestWebReadsOnlyTheCallersName(t *testing.T) {
	dir, _ := newTestCaller(t)
	if err := os.Remove(filepath.Join(dir, provisioning.CallerKeyFile)); err != nil {
		t.Fatal(err)
	}
	id, name, err := readCallerName(dir)
	if err != nil || id != "nurse-eva" || name != "Nurse Eva" {
		t.Errorf("readCallerName = %q, %q, %v; want nurse-eva, Nurse Eva", id, name, err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, provisioning.CallerFile), []byte(`{"id":"a/b","name":"X"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readCallerName(bad); err == nil {
		t.Errorf("readCallerName accepted the id a/b")
	}
	if _, _, err := readCallerName(t.TempDir()); err == nil {
		t.Errorf("readCallerName of a folder without caller.json succeeded")
	}
}

func TestWebStaticFiles(t *testing.T) {
	h, _ := webHandler(t, false)
	for path, want := range map[string]struct{ ctype, body string }{
		"/":                       {"text/html", "<script type=\"module\" src=\"app.js\">"},
		"/app.js":                 {"text/javascript", "window.hearth"},
		"/protocol.js":            {"text/javascript", "hearth-item-v1"},
		"/content.js":             {"text/javascript", "initContent"},
		"/i18n.js":                {"text/javascript", "translatePage"},
		"/strings.js":             {"text/javascript", "Anmelden"},
		"/keystore.js":            {"text/javascript", "indexedDB"},
		"/timefmt.js":             {"text/javascript", "fromWall"},
		"/style.css":              {"text/css", "font-size"},
		"/vendor/mqtt.min.js":     {"text/javascript", "mqtt"},
		"/vendor/LICENSE-mqtt.md": {"text/markdown", "MIT"},
	} {
		t.Run(path, func(t *testing.T) {
			w := get(h, "localhost:8080", path)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", path, w.Code)
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, want.ctype) && path != "/vendor/LICENSE-mqtt.md" {
				t.Errorf("GET %s Content-Type = %q, want %s", path, got, want.ctype)
			}
			if !strings.Contains(w.Body.String(), want.body) {
				t.Errorf("GET %s: body lacks %q", path, want.body)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s Content-Security-Policy = %q, want scripts from the page only", path, csp)
			}
		})
	}
	if w := get(h, "127.0.0.1:8080", "/nothing.js"); w.Code != http.StatusNotFound {
		t.Errorf("GET /nothing.js = %d, want 404", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/config.json", strings.NewReader("{}"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /config.json = %d, want 405", w.Code)
	}
}

// A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding)
// gets nothing: not who uses this computer, and no page of this origin (the
// origin whose IndexedDB holds the person's signing key).
func TestWebRefusesOtherHostNames(t *testing.T) {
	h, _ := webHandler(t, false)
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.1"} {
		if w := get(h, host, "/config.json"); w.Code != http.StatusOK {
			t.Errorf("GET /config.json with Host %s = %d, want 200", host, w.Code)
		}
	}
	for _, host := range []string{"evil.example:8080", "evil.example", "192.168.1.20:8080", "localhost.evil.example"} {
		w := get(h, host, "/config.json")
		if w.Code != http.StatusMisdirectedRequest || strings.Contains(w.Body.String(), "nurse-eva") {
			t.Errorf("GET /config.json with Host %s = %d %q, want 421 without the config", host, w.Code, w.Body)
		}
		if w := get(h, host, "/"); w.Code != http.StatusMisdirectedRequest {
			t.Errorf("GET / with Host %s = %d, want 421", host, w.Code)
		}
	}
	pub, _ := webHandler(t, true)
	if w := get(pub, "caller.example:8080", "/config.json"); w.Code != http.StatusOK {
		t.Errorf("--public: GET /config.json with Host caller.example = %d, want 200", w.Code)
	}
}

func TestWebListenAddress(t *testing.T) {
	dir, _ := newTestCaller(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.168.1.20:8080", "[::]:0"} {
		out, err := runCtl(t, "mqtt://127.0.0.1:1883", "web", "--caller", dir, "--listen", addr)
		if err == nil || !strings.Contains(err.Error(), "--public") {
			t.Errorf("web --listen %s = %v (%s), want a refusal that mentions --public", addr, err, out)
		}
	}
	if _, err := runCtl(t, "mqtt://127.0.0.1:1883", "web", "--ws", "ws://anna:secret@broker.example:9001"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("web --ws with a password in it = %v, want a refusal: each person logs in with their own", err)
	}
	if _, err := runCtl(t, "mqtt://127.0.0.1:1883", "web", "--caller", t.TempDir(), "--listen", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "caller") {
		t.Errorf("web --caller with an empty folder = %v, want an error about the caller", err)
	}
	if _, err := runCtl(t, "mqtt://127.0.0.1:1883", "web", "--caller", dir, "--ws", "http://x:1"); err == nil || !strings.Contains(err.Error(), "--ws") {
		t.Errorf("web --ws http://x:1 = %v, want a refusal of the URL", err)
	}
}

// With --public it serves, and warns that passwords travel in the clear
// without HTTPS in front.
func TestWebPublicWarns(t *testing.T) {
	dir, _ := newTestCaller(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runEnv(ctx, []string{"web", "--caller", dir, "--listen", "0.0.0.0:0", "--public", "--ws", "ws://broker.example:9001"}, pw, &errb, nil)
		pw.Close()
	}()
	line := make([]byte, 200)
	n, _ := pr.Read(line)
	first := string(line[:n])
	if !strings.Contains(first, "open http://") {
		t.Fatalf("web --public printed %q, want where to open the page", first)
	}
	addr := strings.Fields(strings.SplitAfter(first, "open http://")[1])[0]
	addr = strings.TrimSuffix(addr, "/")
	_, port, _ := strings.Cut(addr, "]:")
	if port == "" {
		_, port, _ = strings.Cut(addr, ":")
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /config.json = %d, want 200", resp.StatusCode)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("web after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("web did not stop when its context ended")
	}
	if !strings.Contains(errb.String(), "warning") || !strings.Contains(errb.String(), "HTTPS") {
		t.Errorf("web --public stderr = %q, want a warning to put HTTPS in front", errb.String())
	}
}

func TestDefaultWS(t *testing.T) {
	for broker, want := range map[string]string{
		"mqtt://127.0.0.1:1883":       "ws://127.0.0.1:9001",
		"tcp://broker.example:1883":   "ws://broker.example:9001",
		"mqtts://broker.example:8883": "wss://broker.example:9001",
		"":                            "ws://127.0.0.1:9001",
	} {
		if got := defaultWS(broker); got != want {
			t.Errorf("defaultWS(%q) = %q, want %q", broker, got, want)
		}
	}
}

// Every English text the page shows has its Swedish, Finnish and German
// (web/strings.js), with the same {placeholders}: a missing one would show
// English in the middle of a Finnish page.
func TestWebTranslations(t *testing.T) {
	read := func(name string) string {
		b, err := webFiles.ReadFile("web/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	keys := map[string]bool{}
	for _, f := range []string{"app.js", "content.js"} {
		for _, m := range regexp.MustCompile(`\bt\(\s*("(?:[^"\\]|\\.)*")`).FindAllStringSubmatch(read(f), -1) {
			var k string
			if err := json.Unmarshal([]byte(m[1]), &k); err != nil {
				t.Fatalf("%s: %s: %v", f, m[1], err)
			}
			keys[k] = true
		}
	}
	html := read("index.html")
	for _, m := range regexp.MustCompile(`<[a-z0-9]+[^>]*\sdata-i18n(?:\s[^>]*)?>([^<]*)<`).FindAllStringSubmatch(html, -1) {
		keys[strings.TrimSpace(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`aria-label="([^"]*)"[^>]*data-i18n-aria-label`).FindAllStringSubmatch(html, -1) {
		keys[m[1]] = true
	}
	if len(keys) < 200 {
		t.Fatalf("found %d texts in the page, want the page's texts", len(keys))
	}
	js := read("strings.js")
	langs := regexp.MustCompile(`(?m)^export const (sv|fi|de) = \{$`).FindAllStringSubmatchIndex(js, -1)
	if len(langs) != 3 {
		t.Fatalf("strings.js has %d languages, want sv, fi, de", len(langs))
	}
	ph := regexp.MustCompile(`\{\w+\}`)
	line := regexp.MustCompile(`(?m)^  ("(?:[^"\\]|\\.)*"): ("(?:[^"\\]|\\.)*"),$`)
	for i, l := range langs {
		end := len(js)
		if i+1 < len(langs) {
			end = langs[i+1][0]
		}
		name := js[l[2]:l[3]]
		have := map[string]string{}
		for _, m := range line.FindAllStringSubmatch(js[l[1]:end], -1) {
			var k, v string
			if json.Unmarshal([]byte(m[1]), &k) != nil || json.Unmarshal([]byte(m[2]), &v) != nil {
				t.Fatalf("%s: bad line %s: %s", name, m[1], m[2])
			}
			have[k] = v
		}
		for k := range keys {
			v, ok := have[k]
			if !ok || v == "" {
				t.Errorf("%s has no translation of %q", name, k)
				continue
			}
			want, got := ph.FindAllString(k, -1), ph.FindAllString(v, -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("%s: %q has placeholders %v, its translation %q %v", name, k, want, v, got)
			}
		}
	}
}

// The page's protocol.js signs the worked example of docs/protocol.md
// ("Senders: signed items") byte for byte: the same public key from the
// same seed, the same signatures for the item and its tombstone. Runs the
// module in Node (WebCrypto Ed25519, Node 20 or later); skips without it.
func TestWebSignsTheDocExample(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	dir := t.TempDir()
	js, err := webFiles.ReadFile("web/protocol.js")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "protocol.mjs"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `import * as P from "./protocol.mjs";
const seed = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hearth example sender anna")));
const der = new Uint8Array([...Buffer.from("302e020100300506032b657004220420", "hex"), ...seed]);
const k = await P.importKey(der);
const it = await P.makeItem(k.key, { id: "m-4kq2m7x3vdl5hbn2r3ta", device: "mum-kitchen", rev: 1795424400000, sender: "anna",
  kind: "message", from: "Anna", text: "Ella rode her bike today!", start: new Date("2026-11-23T09:00:00Z"),
  end: new Date("2026-11-26T09:00:00Z"), created: new Date("2026-11-23T08:59:30Z") });
const ts = await P.makeTombstone(k.key, { id: "m-4kq2m7x3vdl5hbn2r3ta", device: "mum-kitchen", rev: 1795424500000, sender: "anna" });
console.log(JSON.stringify({ pub: k.publicKey, item: it.sig, tomb: ts.sig }));
`
	if err := os.WriteFile(filepath.Join(dir, "example.mjs"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "example.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "Ed25519") || strings.Contains(string(out), "NotSupportedError") {
			t.Skipf("this node has no WebCrypto Ed25519: %s", out)
		}
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct{ Pub, Item, Tomb string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node said %s: %v", out, err)
	}
	want := struct{ Pub, Item, Tomb string }{"taLSEDMj93ZLNArTOGzAOSI5jyo4ZLP9BQyrY3nhHsA=",
		"NoheipkDwIZ6AOTQ4sJKl3jZHJGiLV7/J9FECKLR/2Cx6Q9qT07iNAMveRq8GEWzYpgopbR77mVdAYqBXq23AQ==",
		"mDv68Q4ewQQLd/l/cJEVxgslEsH0+FGnOwwkMfNWvNUO/O419Tny0oA9Re8nQP4F94QPwB98o8G66R4Lc5ffBg=="}
	if got != want {
		t.Errorf("protocol.js signs the doc's example as %+v, want %+v", got, want)
	}
}
