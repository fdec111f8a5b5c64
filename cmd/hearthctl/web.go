package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hearth-home/hearth/provisioning"
)

// webFiles is the browser caller: plain HTML, CSS and ES modules, and the
// npm mqtt package's browser bundle (web/vendor). No build step.
//
//go:embed web
var webFiles embed.FS

// webConfig is what the page reads from /config.json: who it calls as and
// where the broker's WebSocket listener is.
type webConfig struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	WS   string `json:"ws"`
	// Key is the caller's Ed25519 private key, base64 PKCS #8 DER, as
	// WebCrypto's importKey("pkcs8") takes it. The page signs invites and
	// signals with it, so whoever can read /config.json can call as this
	// caller: served on loopback only unless --public.
	Key []byte `json:"key"`
}

// web: hearthctl web --caller DIR [--ws URL] [--listen HOST:PORT] [--public]
func (e *env) web(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	callerDir := fs.String("caller", "", "the caller's key `folder` (caller new)")
	ws := fs.String("ws", envOr("HEARTH_BROKER_WS", defaultWS(e.broker)), "the broker's MQTT-over-WebSockets `url`")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve the page on")
	public := fs.Bool("public", false, "allow a --listen address other than loopback (the page hands out the caller's private key)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *callerDir == "" {
		return errors.New("web: --caller is required")
	}
	if u, err := url.Parse(*ws); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("web: --ws %q: want ws://HOST:PORT or wss://HOST:PORT", *ws)
	}
	loopback, err := isLoopbackAddr(*listen)
	if err != nil {
		return fmt.Errorf("web: --listen: %w", err)
	}
	if !loopback && !*public {
		return fmt.Errorf("web: --listen %s is reachable from other machines and the page serves the caller's private key; "+
			"listen on 127.0.0.1, or add --public if that is really meant", *listen)
	}
	if !loopback {
		fmt.Fprintf(e.stderr, "hearthctl: warning: serving %s's private key to anyone who can reach %s\n", *callerDir, *listen)
	}
	c, err := provisioning.LoadCaller(*callerDir)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	h, err := newWebHandler(webConfig{ID: c.ID, Name: c.Name, WS: *ws, Key: provisioning.PKCS8(c.Key)}, !loopback)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "calling as %s (%s): open http://%s/ (broker %s)\n", c.ID, c.Name, l.Addr(), *ws)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// defaultWS guesses the broker's WebSocket listener: the same host on
// Mosquitto's customary port 9001.
func defaultWS(broker string) string {
	host, scheme := "127.0.0.1", "ws"
	if u, err := url.Parse(broker); err == nil {
		if u.Hostname() != "" {
			host = u.Hostname()
		}
		switch u.Scheme {
		case "mqtts", "ssl", "tls", "wss":
			scheme = "wss"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, "9001")
}

// isLoopbackAddr says whether a listen address is reachable only from this
// machine. An empty host (":8080") listens on every interface.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	return isLoopbackHost(host), nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// newWebHandler serves the page and its config. Unless public, it answers
// only requests addressed to a loopback name: a web page elsewhere could
// otherwise point its own host name at 127.0.0.1 (DNS rebinding) and read
// the caller's key.
func newWebHandler(cfg webConfig, public bool) (http.Handler, error) {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !public {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !isLoopbackHost(host) {
				http.Error(w, "this page answers on 127.0.0.1 or localhost only", http.StatusMisdirectedRequest)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		hdr := w.Header()
		// Scripts only from here (the vendored MQTT bundle included), and
		// connections to the broker's WebSocket listener.
		hdr.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "+
			"media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/config.json" {
			hdr.Set("Content-Type", "application/json")
			hdr.Set("Cache-Control", "no-store")
			_, _ = w.Write(cfgJSON)
			return
		}
		// fs.Sub answers a name that is no valid fs path (not UTF-8, say)
		// with fs.ErrInvalid, which the file server reports as a 500.
		if name := strings.TrimPrefix(path.Clean(r.URL.Path), "/"); name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		hdr.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}), nil
}
