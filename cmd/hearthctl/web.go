package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// webFiles is the family and carer web app: plain HTML, CSS and ES
// modules, and the npm mqtt package's browser bundle (web/vendor). No
// build step.
//
//go:embed web
var webFiles embed.FS

// webConfig is what the page reads from /config.json: where the broker's
// WebSocket listener is and, when hearthctl web was given a caller folder,
// whose id and name to put in the login form. Never a key or a password:
// the person logs in to the broker with their own password and imports
// their signing key into the browser once (docs/web-caller.md).
type webConfig struct {
	WS   string `json:"ws"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// web: hearthctl web [--caller DIR] [--ws URL] [--listen HOST:PORT] [--public]
func (e *env) web(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	callerDir := fs.String("caller", "", "a person's key `folder` (caller new): only their id and name are read, to fill in the login form")
	ws := fs.String("ws", envOr("HEARTH_BROKER_WS", defaultWS(e.broker)), "the broker's MQTT-over-WebSockets `url`")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve the page on")
	public := fs.Bool("public", false, "allow a --listen address other than loopback (put HTTPS in front: people type their password into the page)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if u, err := url.Parse(*ws); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("web: --ws %q: want ws://HOST:PORT or wss://HOST:PORT", *ws)
	} else if u.User != nil {
		return fmt.Errorf("web: --ws: no user or password in the URL: each person logs in on the page with their own")
	}
	loopback, err := isLoopbackAddr(*listen)
	if err != nil {
		return fmt.Errorf("web: --listen: %w", err)
	}
	if !loopback && !*public {
		return fmt.Errorf("web: --listen %s is reachable from other machines; people type their broker password into this page, "+
			"so serve it on 127.0.0.1 (or behind HTTPS and add --public)", *listen)
	}
	if !loopback {
		fmt.Fprintf(e.stderr, "hearthctl: warning: serving the page to anyone who can reach %s: put HTTPS in front of it, "+
			"or passwords and the page itself travel in the clear\n", *listen)
	}
	cfg := webConfig{WS: *ws}
	if *callerDir != "" {
		id, name, err := readCallerName(*callerDir)
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		cfg.ID, cfg.Name = id, name
	}
	h, err := newWebHandler(cfg, !loopback)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	who := "anyone with a password"
	if cfg.ID != "" {
		who = fmt.Sprintf("%s (%s)", cfg.ID, cfg.Name)
	}
	fmt.Fprintf(e.stdout, "web app for %s: open http://%s/ (broker %s)\n", who, l.Addr(), *ws)
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

// readCallerName reads a caller folder's id and name (caller.json) and
// nothing else: the private key stays on disk for the person to import.
func readCallerName(dir string) (id, name string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, provisioning.CallerFile))
	if err != nil {
		return "", "", fmt.Errorf("read caller: %w", err)
	}
	var c struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", "", fmt.Errorf("read caller %s: %w", provisioning.CallerFile, err)
	}
	if !proto.ValidID(c.ID) {
		return "", "", fmt.Errorf("read caller %s: id %q is not a valid id", provisioning.CallerFile, c.ID)
	}
	return c.ID, c.Name, nil
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
// otherwise point its own host name at 127.0.0.1 (DNS rebinding), read who
// uses this computer, or serve its own page under this origin's name and
// so reach the signing key the browser keeps for this origin.
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
		// connections to the broker's WebSocket listener. Photos being sent
		// are previewed from blob: URLs; MQTT.js runs its keep-alive timer
		// in a worker made from a blob: (a background tab's timers are
		// throttled to once a minute, and the broker would drop it).
		hdr.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; worker-src 'self' blob:; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "+
			"media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
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
