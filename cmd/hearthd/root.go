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
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a device image may lack /usr/share/zoneinfo

	"fyne.io/fyne/v2"
	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/sdnotify"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/media/photo"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/ui"
	"github.com/hearth-home/hearth/ui/kiosk"
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// run is the composition root: it builds every component from the config
// and runs them until ctx ends.
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
	log := newLogger(cfg)
	if cfg.FileErr != nil {
		// Reported upward below, once the activity log is open.
		log.Error("config file refused: running on the defaults, the command line and the provisioning", "err", cfg.FileErr)
	}
	if cfg.Simulate > 0 {
		// Scale tests: light simulated devices, the same code as
		// hearthctl simulate; nothing of this device runs.
		log.Info("simulating devices", "n", cfg.Simulate, "prefix", cfg.DeviceID, "broker", cfg.Broker)
		return hsync.Simulate(ctx, hsync.SimOptions{Broker: cfg.Broker, Prefix: cfg.DeviceID, N: cfg.Simulate,
			Heartbeat: time.Duration(cfg.Heartbeat), KeepAlive: time.Duration(cfg.KeepAlive), Version: Version, Logger: log})
	}
	// A provisioning bundle gives the device its identity, broker and
	// credentials. Until one is applied, the unprovisioned screen (with
	// its code) would run here as provision's waiting hook; headless, the
	// daemon just waits and logs.
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
	// A factory reset (an admin's command) stops everything from here.
	ctx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	loc, _ := cfg.Location()
	night, err := device.ParseNightHours(cfg.Night)
	if err != nil {
		return fmt.Errorf("night hours: %w", err)
	}
	if cfg.NightMode == "off" {
		night.Mode = device.ModeNightOff
	} else {
		night.Mode = device.ModeNightDim
	}
	sw, sh, _ := cfg.ScreenSize()
	clk := clock.Real()

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(cfg.Data, store.Options{Timeout: 5 * time.Second, Logger: log})
	var setAside string
	if errors.Is(err, store.ErrUnreadable) {
		// A damaged database must not keep the screen dark: it is kept
		// aside for a person, a fresh one takes its place, and the
		// broker's retained content fills it again.
		log.Error("the database is unreadable: setting it aside and starting a fresh one", "err", err)
		if setAside, err = store.SetAside(cfg.Data, clk.Now()); err == nil {
			st, err = store.Open(cfg.Data, store.Options{Timeout: 5 * time.Second, Logger: log})
		}
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	if setAside != "" {
		if err := st.LogActivity(store.Activity{Time: clk.Now(), Type: "store_recovered",
			Reason: "the database was unreadable; kept as " + filepath.Base(setAside) + ", content comes again from the broker"}); err != nil {
			log.Warn("activity", "err", err)
		}
	}
	// An admin's night hours win over the configuration.
	if h, ok := st.Setting(store.SettingNight); ok {
		if n, err := device.ParseNightHours(h); err == nil {
			n.Mode = night.Mode
			night = n
		}
	}

	life, err := st.RecordStart(bootID())
	if err != nil {
		return err
	}
	noteConfig(st, cfg, clk, log)
	if cfg.FileErr != nil {
		if err := st.LogActivity(store.Activity{Time: clk.Now(), Type: "config_refused", Reason: cfg.FileErr.Error()}); err != nil {
			log.Warn("activity", "err", err)
		}
	}
	if prov != nil {
		// Bundles refused at start, and later ones, go upward.
		prov.reportTo(func(r bundleRefusal) {
			if err := st.LogActivity(store.Activity{Time: r.Time, Type: "bundle_refused", Reason: r.Reason}); err != nil {
				log.Warn("activity", "err", err)
			}
		})
	}

	calls, err := newCalls(cfg, clk, log)
	if err != nil {
		return err
	}
	linkOpt := hsync.Options{
		Broker: cfg.Broker, Fallbacks: cfg.FallbackBrokers, DeviceID: cfg.DeviceID, Store: st, Clock: clk, Logger: log,
		KeepAlive: time.Duration(cfg.KeepAlive), Version: Version, TLS: tlsConf,
	}
	if calls != nil {
		linkOpt.Calls = calls
	}
	adm := newAdmin(cfg, st, clk, log, stopAll)
	if adm != nil {
		linkOpt.Admin = adm.deliver
	}
	link, err := hsync.New(linkOpt)
	if err != nil {
		return err
	}
	screen := photo.Screen{W: sw, H: sh}
	photos := &device.Photos{
		Store: st, Clock: clk, Logger: log,
		HTTP: &http.Client{}, // Photos bounds each fetch (FetchTimeout)
		Prepare: func(orig []byte) ([]byte, error) {
			res, err := photo.Prepare(orig, screen, photo.DefaultLimits())
			if err != nil {
				return nil, err
			}
			return res.JPEG, nil
		},
	}
	sched := &device.Scheduler{Store: st, Clock: clk, Night: night, Location: loc, Logger: log}
	// The scheduler holds the night hours in force (an admin may change
	// them while the device runs); the call side and the heartbeat ask it.
	if calls != nil {
		calls.night = func(t time.Time) bool { return sched.Hours().ModeAt(t, loc) != device.ModeDay }
	}
	if adm != nil {
		adm.sched, adm.nightMode = sched, night.Mode
		if calls != nil {
			adm.setVolume = calls.media.SetVolume
			adm.setDND = calls.setDND
		}
	}
	if v, ok := st.Setting(store.SettingVolume); ok && calls != nil {
		if n, err := strconv.Atoi(v); err == nil {
			calls.media.SetVolume(n)
		}
	}
	health := newHealth(cfg, st, link, life, clk, log, sched.Hours, loc, calls)
	defer health.close()
	wifi := newWifiSetup(cfg.Data, st, health.bus, clk, log)
	if adm != nil {
		adm.nightChanged, adm.bus = health.nightChanged, health.bus
	}
	shown := func(id string, rev uint64) {
		if _, err := st.MarkShown(id, rev, clk.Now()); err != nil {
			log.Warn("record shown", "id", id, "err", err)
		}
	}

	log.Info("hearthd starting", "version", Version, "device", cfg.DeviceID, "broker", cfg.Broker,
		"data", cfg.Data, "headless", cfg.Headless, "locale", cfg.Locale, "session_counter", "on disk",
		"restarts", life.Restarts, "boots", life.Boots, "last_exit", life.LastExit)
	wdInterval, _ := sdnotify.WatchdogInterval()
	watchdog := &sdnotify.Watchdog{Interval: wdInterval, Clock: clk, Logger: log, Health: alive(st, !cfg.Headless)}
	background := func(ctx context.Context) error {
		if !cfg.Headless {
			// kiosk.Run calls this once its app exists; fyne.Do runs when
			// its loop does, with our window open: the X connection held
			// across a fresh start (see reexec) can go.
			go fyne.Do(releaseXHold)
		}
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return link.Run(ctx) })
		g.Go(func() error { return photos.Run(ctx) })
		g.Go(func() error { return sched.Run(ctx) })
		g.Go(func() error { return health.run(ctx) })
		if calls != nil {
			g.Go(func() error { return calls.Run(ctx) })
		}
		if adm != nil {
			g.Go(func() error { return adm.run(ctx) })
		}
		g.Go(func() error { return watchdog.Run(ctx) })
		if cfg.Pprof != "" {
			g.Go(func() error { return servePprof(ctx, cfg.Pprof, log) })
		}
		if prov != nil {
			g.Go(func() error { return prov.watch(ctx, time.Duration(cfg.BundleWatch)) })
		}
		if wifi != nil {
			g.Go(func() error { return wifi.run(ctx) })
		}
		if err := sdnotify.Ready(); err != nil {
			log.Warn("sd_notify READY=1", "err", err)
		}
		stop := context.AfterFunc(ctx, func() {
			// Starting again with a new bundle keeps the process (exec):
			// systemd must not take it for a stop.
			if !errors.Is(context.Cause(ctx), errReprovisioned) {
				_ = sdnotify.Stopping()
			}
		})
		defer stop()
		return g.Wait()
	}
	if cfg.Headless {
		disp := device.LogDisplay{Logger: log, OnShown: shown}
		sched.Display = disp
		if calls != nil {
			if err := calls.start(health.outbox(link), disp, st); err != nil {
				return err
			}
		}
		err = background(ctx)
	} else {
		if err := checkDisplay(); err != nil {
			return err
		}
		var s *ui.Screen
		s, err = ui.New(ui.Options{Clock: clk, Location: loc, Locale: cfg.Locale,
			Dwell: time.Duration(cfg.Dwell), Logger: log, OnShown: shown})
		if err != nil {
			return err
		}
		sched.Display = s
		health.onScreen = func() string { id, _ := s.Current(); return id }
		if calls != nil {
			if err := calls.start(health.outbox(link), s, st); err != nil {
				return err
			}
		}
		err = kiosk.Run(ctx, s, kiosk.Options{Title: "Hearth", Fullscreen: !cfg.Windowed,
			Size: fyne.NewSize(float32(sw), float32(sh))}, background)
	}
	if adm != nil && adm.reset.Load() {
		st.Close()
		if err := wipe(cfg.Data); err != nil {
			return err
		}
		log.Warn("factory reset: data wiped")
		return errFactoryReset
	}
	if errors.Is(err, errReprovisioned) {
		if serr := st.RecordStop("reprovisioned"); serr != nil {
			log.Warn("record stop", "err", serr)
		}
		st.Close()
		// A fresh start reads the new identity; exec keeps the PID.
		return reexec()
	}
	if err == nil || errors.Is(err, context.Canceled) {
		if serr := st.RecordStop("stopped"); serr != nil {
			log.Warn("record stop", "err", serr)
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("hearthd stopped")
	return nil
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
