package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // a device image may lack /usr/share/zoneinfo

	"github.com/hearth-home/hearth/device/config"
	hsync "github.com/hearth-home/hearth/sync"
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// run starts hearthd: the configuration, the provisioning bundle, then
// the composition root (compose.go) until ctx ends.
func run(ctx context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Println("hearthd", Version)
		return nil
	}
	cfg, err := config.Load(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	tuneRuntime()
	log := newLogger(cfg)
	if cfg.FileErr != nil {
		// Reported upward too, once the activity log is open.
		log.Error("config file refused: running on the defaults, the command line and the provisioning", "err", cfg.FileErr)
	}
	if cfg.Simulate > 0 {
		// Scale tests: light simulated devices, the same code as
		// hearthctl simulate; nothing of this device runs.
		log.Info("simulating devices", "n", cfg.Simulate, "prefix", cfg.DeviceID, "broker", cfg.Broker)
		return hsync.Simulate(ctx, hsync.SimOptions{Broker: cfg.Broker, Prefix: cfg.DeviceID, N: cfg.Simulate,
			Heartbeat: time.Duration(cfg.Heartbeat), KeepAlive: time.Duration(cfg.KeepAlive), Version: Version, Logger: log})
	}
	// Until a provisioning bundle gives the device its identity, broker
	// and credentials, the screen shows the set-up code; headless, the
	// daemon waits and logs.
	if !cfg.Headless && unprovisioned(cfg) {
		return showUnprovisioned(ctx, cfg, log)
	}
	cfg, tlsConf, prov, err := provision(ctx, cfg, log, nil)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	r, err := compose(cfg, tlsConf, prov, log)
	if err != nil {
		return err
	}
	defer r.close()
	return r.finish(r.run(ctx))
}

func newLogger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// checkDisplay fails clearly when there is no display to open: GLFW would
// panic instead. An X server that is resetting (it does when its last
// client leaves, as when hearthd starts itself again after set-up) accepts
// the socket but drops the handshake, so the check waits up to 5 s for a
// real answer to the X11 connection setup.
func checkDisplay() error {
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		return nil
	}
	d := os.Getenv("DISPLAY")
	if d == "" {
		return errors.New("no display: DISPLAY and WAYLAND_DISPLAY are unset (use --headless to run without a screen)")
	}
	// Local displays (":0", ":0.0", "unix:0") are sockets; check they answer.
	host, num, ok := strings.Cut(d, ":")
	if !ok || (host != "" && host != "unix") {
		return nil // a remote display: let GLFW try
	}
	num, _, _ = strings.Cut(num, ".")
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var c net.Conn
		if c, err = xHandshake("/tmp/.X11-unix/X" + num); err == nil {
			// Kept open until our window is up (releaseXHold): were this
			// the server's only client, closing it would make the server
			// reset, and refuse GLFW's connection meanwhile.
			displayCheck = c
			return nil
		}
	}
	return fmt.Errorf("display %s does not answer: %w (use --headless to run without a screen)", d, err)
}

// displayCheck is checkDisplay's connection to the X server, held until
// the window is up.
var displayCheck net.Conn

// xHandshake sends an X11 connection setup and waits for any reply: a
// server that answers at all (even "authorization required") is up. The
// connection stays open for the caller to close.
func xHandshake(path string) (net.Conn, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	// 'l' (little endian), unused, protocol 11.0, no authorization.
	if _, err := c.Write([]byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		c.Close()
		return nil, err
	}
	var reply [1]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		c.Close()
		return nil, fmt.Errorf("no answer to the X11 handshake: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// servePprof serves Go's profiles on addr (--pprof, loopback only) until
// ctx ends. It is a developer's aid: when it cannot listen, it says so and
// the daemon goes on.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof: not serving", "addr", addr, "err", err)
		return nil
	}
	log.Warn("pprof: serving Go's profiles (a debugging aid)", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("pprof: stopped", "err", err)
	}
	return nil
}
