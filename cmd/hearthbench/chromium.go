package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/hearth-home/hearth/cmd/internal/chromium"
)

//go:embed kiosk.html
var kioskHTML string

var kioskTmpl = template.Must(template.New("kiosk").Parse(kioskHTML))

// pageItem is one slide of the kiosk page.
type pageItem struct {
	Photo string `json:"photo,omitempty"` // URL of the photo
	Text  string `json:"text,omitempty"`
	From  string `json:"from,omitempty"`
}

// kioskServer serves kiosk pages and their photos on loopback.
type kioskServer struct {
	srv  *http.Server
	addr string

	mu     gosync.Mutex
	pages  map[string][]byte // path -> HTML
	photos map[string][]byte // path -> JPEG or PNG
}

func startKioskServer() (*kioskServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kiosk server: %w", err)
	}
	k := &kioskServer{addr: l.Addr().String(), pages: map[string][]byte{}, photos: map[string][]byte{}}
	k.srv = &http.Server{Handler: k, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = k.srv.Serve(l) }()
	return k, nil
}

func (k *kioskServer) close() { _ = k.srv.Close() }

func (k *kioskServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	page, isPage := k.pages[r.URL.Path]
	photo, isPhoto := k.photos[r.URL.Path]
	k.mu.Unlock()
	switch {
	case isPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	case isPhoto:
		// Photos never change under one URL: let Chromium cache them, as a
		// kiosk page's photos would be.
		w.Header().Set("Content-Type", http.DetectContentType(photo))
		w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
		_, _ = w.Write(photo)
	case r.URL.Path == "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// addPhoto serves data under /photo/name and returns its URL path.
func (k *kioskServer) addPhoto(name string, data []byte) string {
	p := "/photo/" + name
	k.mu.Lock()
	k.photos[p] = data
	k.mu.Unlock()
	return p
}

// removePhoto stops serving the photo at path (as addPhoto returned it).
func (k *kioskServer) removePhoto(path string) {
	k.mu.Lock()
	delete(k.photos, path)
	k.mu.Unlock()
}

// addPage renders a kiosk page of items with the given timing and returns
// its full URL.
func (k *kioskServer) addPage(name string, items []pageItem, dwell, fade time.Duration) (string, error) {
	var b bytes.Buffer
	err := kioskTmpl.Execute(&b, map[string]any{
		"Items": items, "DwellMS": dwell.Milliseconds(), "FadeMS": fade.Milliseconds(),
	})
	if err != nil {
		return "", fmt.Errorf("render kiosk page: %w", err)
	}
	p := "/" + name + ".html"
	k.mu.Lock()
	k.pages[p] = b.Bytes()
	k.mu.Unlock()
	return "http://" + k.addr + p, nil
}

// chromiumArgs are the flags of a kiosk that renders into the X display:
// FIELD-NOTES' headless set without --headless, plus what keeps first-run
// bubbles and infobars off the screen so screenshots see only the page.
func chromiumArgs(profile string, w, h int, url string) []string {
	return []string{
		"--kiosk", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--disable-dev-shm-usage", "--password-store=basic",
		"--no-default-browser-check", "--noerrdialogs", "--disable-translate",
		"--disable-features=Translate,MediaRouter", "--hide-crash-restore-bubble",
		"--disable-session-crashed-bubble", "--test-type", // no "unsupported flag --no-sandbox" infobar
		fmt.Sprintf("--window-size=%d,%d", w, h), "--window-position=0,0",
		url,
	}
}

// startChromium starts the kiosk on display x. Its whole process tree is
// in the returned proc's process group.
func startChromium(ps *procs, x *xserver, profile, url string) (*proc, error) {
	bin, err := chromium.Binary()
	if err != nil {
		return nil, err
	}
	// Chromium leaves its singleton socket directory in TMPDIR after a
	// SIGTERM: keep it inside the profile, where the bench cleans up.
	tmp := filepath.Join(profile, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, chromiumArgs(profile, x.w, x.h, url)...)
	cmd.Env = envWith("DISPLAY="+x.display, "LANG=en_US.UTF-8", "TMPDIR="+tmp)
	return ps.start("chromium", cmd, nil)
}
