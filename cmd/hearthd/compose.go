package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"fyne.io/fyne/v2"
	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/panel"
	"github.com/hearth-home/hearth/device/privacy"
	"github.com/hearth-home/hearth/device/sdnotify"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/media/photo"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
	"github.com/hearth-home/hearth/ui"
	"github.com/hearth-home/hearth/ui/kiosk"
)

// root is the composition root: every component of the running daemon,
// built once by compose with its dependencies explicit, run side by side
// by run. What the device is doing lives in one place, live; components
// read it and write only their own part of it.
type root struct {
	cfg  config.Config
	log  *slog.Logger
	clk  clock.Clock
	st   *store.Store
	live *device.Live
	bus  *sysbus.Link
	link *hsync.Client

	screen *ui.Screen // nil headless
	// panel is the display's power; nil: nothing to switch.
	panel  *panel.Driver
	photos *device.Photos
	sched  *device.Scheduler
	calls  *calls     // nil: no organisation key, nobody may call
	admin  *adminSide // nil likewise
	health *health
	wifi   *wifiSetup // nil: no Wi-Fi in the bundle to save
	prov   *bundles   // nil: not provisioned by bundle
	dog    *sdnotify.Watchdog
}

// screen is what shows slides and calls: the Fyne screen, or the log.
type screen interface {
	device.Display
	device.CallDisplay
}

// stopWithin bounds a stop: every component has this long to return once
// the daemon stops, well inside the unit's TimeoutStopSec (15 s), after
// which systemd would kill it mid-write.
const stopWithin = 8 * time.Second

// compose builds every component from the configuration.
func compose(cfg config.Config, tlsConf *tls.Config, prov *bundles, log *slog.Logger) (r *root, err error) {
	r = &root{cfg: cfg, log: log, clk: clock.Real(), prov: prov}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.st, err = openStore(cfg.Data, r.clk, log); err != nil {
		return nil, err
	}
	life, err := r.st.RecordStart(bootID())
	if err != nil {
		return nil, err
	}
	noteConfig(r.st, cfg, r.clk, log)
	if cfg.FileErr != nil {
		r.activity(store.Activity{Type: "config_refused", Reason: cfg.FileErr.Error()})
	}
	if prov != nil {
		// Bundles refused at start, and later ones, go upward.
		prov.reportTo(func(b bundleRefusal) {
			r.activity(store.Activity{Time: b.Time, Type: "bundle_refused", Reason: b.Reason})
		})
	}
	if r.live, err = newLive(cfg, r.st, r.clk, log); err != nil {
		return nil, err
	}
	r.bus = sysbus.NewLink(context.Background(), sysbus.LinkOptions{Logger: log, Clock: r.clk})
	disp, err := r.newScreen()
	if err != nil {
		return nil, err
	}
	out := hsync.NewOutbox(cfg.DeviceID, log)
	r.newPanel()
	if r.calls, err = newCalls(cfg, r.clk, r.live, r.st, out, disp, r.activity, log); err != nil {
		return nil, err
	}
	if r.calls != nil {
		r.calls.media.Light = r.privacyLights()
		if r.panel != nil {
			r.calls.wake = r.panel.Wake
		}
	}
	r.admin = newAdmin(cfg, r.st, r.live, r.bus, r.clk, r.activity, log)
	linkOpt := hsync.Options{
		Broker: cfg.Broker, Fallbacks: cfg.FallbackBrokers, DeviceID: cfg.DeviceID, Store: r.st, Clock: r.clk, Logger: log,
		KeepAlive: time.Duration(cfg.KeepAlive), Version: Version, TLS: tlsConf, Outbox: out,
		RequireSignedItems: cfg.RequireSignedItems, ClockTrusted: func() bool { return r.live.Get().ClockTrusted() },
	}
	if r.calls != nil {
		linkOpt.Calls = allowlistNotice{CallSink: r.calls.mgr, changed: func() { r.health.hb.Poke() }}
		// Signed items are judged against the same allowlist as calls.
		linkOpt.Senders = r.calls.auth
		// Carers on the allowlist book calls; without one, nobody can.
		linkOpt.Bookings = &device.Bookings{Store: r.st, Callers: r.calls.auth.Caller, Clock: r.clk, Live: r.live, Logger: log}
	}
	if r.admin != nil {
		linkOpt.Admin = r.admin.deliver
	}
	if r.link, err = hsync.New(linkOpt); err != nil {
		return nil, err
	}
	sw, sh, _ := cfg.ScreenSize()
	r.photos = &device.Photos{
		Store: r.st, Clock: r.clk, Logger: log,
		HTTP: &http.Client{}, // Photos bounds each fetch (FetchTimeout)
		Prepare: func(orig []byte) ([]byte, error) {
			res, err := photo.Prepare(orig, photo.Screen{W: sw, H: sh}, photo.DefaultLimits())
			freeAfterPhoto()
			if err != nil {
				return nil, err
			}
			return res.JPEG, nil
		},
	}
	r.sched = &device.Scheduler{Store: r.st, Clock: r.clk, Display: disp, Live: r.live, Logger: log,
		TimeFloor: device.BuildTime(), Names: r.callerName, BookingLead: time.Duration(cfg.BookingLead)}
	var serial func() uint64
	if r.calls != nil {
		serial = r.calls.auth.Serial
	}
	r.health = newHealth(cfg, r.st, r.link, out, r.live, r.bus, life, serial, r.clk, log)
	r.wifi = newWifiSetup(cfg.Data, r.st, r.bus, r.clk, log)
	wd, _ := sdnotify.WatchdogInterval()
	r.dog = &sdnotify.Watchdog{Interval: wd, Clock: r.clk, Logger: log, Health: r.alive}

	s := r.live.Get()
	log.Info("hearthd starting", "version", Version, "device", cfg.DeviceID, "broker", cfg.Broker,
		"data", cfg.Data, "headless", cfg.Headless, "locale", cfg.Locale, "night", s.NightHours, "dnd_until", s.DNDUntil,
		"calls", s.Calls, "restarts", life.Restarts, "boots", life.Boots, "last_exit", life.LastExit)
	return r, nil
}

// allowlistNotice sends a heartbeat soon after a new allowlist is
// installed: it carries the serial the organisation signs the next above.
type allowlistNotice struct {
	hsync.CallSink
	changed func()
}

func (a allowlistNotice) SetAllowlist(l proto.Allowlist) error {
	err := a.CallSink.SetAllowlist(l)
	if err == nil {
		a.changed()
	}
	return err
}

// openStore opens the database. One bbolt cannot open (an SD card's
// failure) must not keep the screen dark: it is kept aside for a person,
// a fresh one takes its place, and the broker's retained content fills it
// again.
func openStore(dir string, clk clock.Clock, log *slog.Logger) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	opt := store.Options{Timeout: 5 * time.Second, Logger: log}
	st, err := store.Open(dir, opt)
	if !errors.Is(err, store.ErrUnreadable) {
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	log.Error("the database is unreadable: setting it aside and starting a fresh one", "err", err)
	aside, err := store.SetAside(dir, clk.Now())
	if err == nil {
		st, err = store.Open(dir, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := st.LogActivity(store.Activity{Time: clk.Now(), Type: "store_recovered",
		Reason: "the database was unreadable; kept as " + filepath.Base(aside) + ", content comes again from the broker"}); err != nil {
		log.Warn("activity", "err", err)
	}
	return st, nil
}

// newLive makes the live state from the configuration and what the store
// kept of an admin's settings (night hours, do-not-disturb, volume), and
// finds camera, microphone and speaker.
func newLive(cfg config.Config, st *store.Store, clk clock.Clock, log *slog.Logger) (*device.Live, error) {
	loc, _ := cfg.Location()
	night, err := device.ParseNightHours(cfg.Night)
	if err != nil {
		return nil, fmt.Errorf("night hours: %w", err)
	}
	// An admin's night hours win over the configuration.
	if h, ok := st.Setting(store.SettingNight); ok {
		if n, err := device.ParseNightHours(h); err == nil {
			night = n
		}
	}
	night.Mode = nightMode(cfg)
	s := device.State{NightHours: night, Volume: -1, Calls: device.CallsOff}
	if cfg.OrgKey != "" {
		s.Calls = device.CallsNoAllowlist
	}
	// An admin's do-not-disturb outlives a restart; one that ended
	// meanwhile (or "off") is let go.
	if v, ok := st.Setting(store.SettingDND); ok {
		if until, err := time.Parse(time.RFC3339, v); err == nil && clk.Now().Before(until) {
			s.DNDUntil = until
			log.Info("do not disturb", "until", until)
		}
	}
	if v, ok := st.Setting(store.SettingVolume); ok {
		if n, err := strconv.Atoi(v); err == nil {
			s.Volume = n
		}
	}
	kind := callmedia.ProbeKind(cfg.Media)
	s.Devices = device.Devices(media.Probe(kind))
	if !s.Devices.Camera {
		log.Warn("no camera: calls will carry no picture of the resident", "media", kind)
	}
	if !s.Devices.Microphone {
		log.Warn("no microphone: calls will carry no sound from the resident", "media", kind)
	}
	if !s.Devices.Speaker {
		log.Warn("no speaker: callers will not be heard", "media", kind)
	}
	return device.NewLive(s, clk, loc), nil
}

// nightMode is how the night hours darken the screen.
func nightMode(cfg config.Config) device.Mode {
	if cfg.NightMode == "off" {
		return device.ModeNightOff
	}
	return device.ModeNightDim
}

// newScreen makes the Fyne screen, or headless the log's stand-in.
func (r *root) newScreen() (screen, error) {
	if r.cfg.Headless {
		return device.LogDisplay{Logger: r.log}, nil // no screen, no receipts
	}
	if err := checkDisplay(); err != nil {
		return nil, err
	}
	s, err := ui.New(ui.Options{Clock: r.clk, Location: r.live.Location(), Locale: r.cfg.Locale,
		Dwell: time.Duration(r.cfg.Dwell), Logger: r.log, OnShown: r.shown})
	if err != nil {
		return nil, err
	}
	r.screen = s
	return s, nil
}

// newPanel opens the display's power switch (--panel) and the driver
// that follows the night and calls with it; none headless.
func (r *root) newPanel() {
	if r.cfg.Headless {
		return
	}
	p, err := panel.Open(r.cfg.Panel, r.log)
	if err != nil {
		r.log.Error("panel: the display cannot be powered off at night or woken for calls", "panel", r.cfg.Panel, "err", err)
		return
	}
	if _, none := p.(panel.None); none {
		return
	}
	r.log.Info("panel", "kind", p)
	r.panel = panel.NewDriver(panel.Options{Panel: p, Live: r.live, Clock: r.clk, Logger: r.log})
}

// privacyLights are the lights that show the camera or microphone open:
// the --privacy-led, the screen's badge, and the log.
func (r *root) privacyLights() device.PrivacyLight {
	var ls privacy.Lights
	if r.cfg.PrivacyLED != "" {
		led, err := privacy.OpenLED(panel.SysfsRoot, r.cfg.PrivacyLED, r.log)
		if err != nil {
			r.log.Error("privacy led: calls go on with the screen's badge alone", "led", r.cfg.PrivacyLED, "err", err)
		} else {
			ls = append(ls, led)
		}
	}
	if r.screen != nil {
		ls = append(ls, r.screen)
	}
	return append(ls, privacy.Log{Logger: r.log})
}

// callerName is a caller's name on the allowlist, for the cards ("": none).
func (r *root) callerName(id string) string {
	if r.calls == nil {
		return ""
	}
	c, err := r.calls.auth.Caller(id)
	if err != nil {
		return ""
	}
	return c.Name
}

// shown records that an item was on screen.
func (r *root) shown(id string, rev uint64) {
	r.live.SetOnScreen(id)
	if strings.HasPrefix(id, device.CardPrefix) {
		return // the device's own card: no sender waits for a receipt
	}
	if _, err := r.st.MarkShown(id, rev, r.clk.Now()); err != nil {
		r.log.Warn("record shown", "id", id, "err", err)
	}
}

// activity logs an entry for the activity log, which goes upward (at
// now when it carries no time). Every component's entries come here.
func (r *root) activity(a store.Activity) {
	if a.Time.IsZero() {
		a.Time = r.clk.Now()
	}
	if err := r.st.LogActivity(a); err != nil {
		r.log.Error("activity log", "err", err)
	}
}

// component is one part of the running daemon.
type component struct {
	name string
	run  func(context.Context) error
}

func (r *root) components() []component {
	cs := []component{
		{"live", r.live.Run},
		{"link", r.link.Run},
		{"photos", r.photos.Run},
		{"scheduler", r.sched.Run},
		{"health", r.health.run},
		{"watchdog", r.dog.Run},
	}
	if r.panel != nil {
		cs = append(cs, component{"panel", r.panel.Run})
	}
	if r.calls != nil {
		cs = append(cs, component{"calls", r.calls.Run})
	}
	if r.admin != nil {
		cs = append(cs, component{"admin", r.admin.run})
	}
	if r.prov != nil {
		cs = append(cs, component{"bundles", func(ctx context.Context) error {
			return r.prov.watch(ctx, time.Duration(r.cfg.BundleWatch))
		}})
	}
	if r.wifi != nil {
		cs = append(cs, component{"wifi", r.wifi.run})
	}
	if r.cfg.Pprof != "" {
		cs = append(cs, component{"pprof", func(ctx context.Context) error { return servePprof(ctx, r.cfg.Pprof, r.log) }})
	}
	return cs
}

// run runs every component until ctx ends or one fails: with a screen
// inside Fyne's loop (which must own the main thread), headless directly.
func (r *root) run(ctx context.Context) error {
	if r.screen == nil {
		return r.runAll(ctx)
	}
	sw, sh, _ := r.cfg.ScreenSize()
	return kiosk.Run(ctx, r.screen, kiosk.Options{Title: "Hearth", Fullscreen: !r.cfg.Windowed,
		Size: fyne.NewSize(float32(sw), float32(sh)), Clock: r.clk, OnStill: freeAfterMotion}, func(ctx context.Context) error {
		// Fyne's loop runs with our window open: the X connection held
		// across a fresh start (see reexec) can go.
		ui.Do(releaseXHold)
		return r.runAll(ctx)
	})
}

// runAll runs the components in one errgroup: the first error stops all.
// Once stopping, each has stopWithin to return; one that does not is
// named in the log and left behind, so the process still exits in time.
//
// The broker link stops last: what the others say as they stop (a call
// ended for its caller because the device is shutting down) goes out
// through it, and the link's own clean stop (the "disconnected" state,
// then the MQTT disconnect) must come after that, not race it.
func (r *root) runAll(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	linkCtx, stopLink := context.WithCancel(context.WithoutCancel(gctx))
	defer stopLink()
	var others gosync.WaitGroup
	var mu gosync.Mutex
	running := map[string]bool{}
	for _, c := range r.components() {
		running[c.name] = true
		cctx := gctx
		if c.name == "link" {
			cctx = linkCtx
		} else {
			others.Add(1)
		}
		g.Go(func() error {
			err := c.run(cctx)
			mu.Lock()
			delete(running, c.name)
			mu.Unlock()
			if c.name != "link" {
				others.Done()
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		})
	}
	go func() {
		<-gctx.Done()
		others.Wait()
		stopLink()
	}()
	if err := sdnotify.Ready(); err != nil {
		r.log.Warn("sd_notify READY=1", "err", err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		return err
	case <-gctx.Done():
	}
	// Starting again with a new bundle keeps the process (exec): systemd
	// must not take it for a stop.
	if !errors.Is(context.Cause(gctx), errReprovisioned) {
		_ = sdnotify.Stopping()
	}
	t := r.clk.NewTimer(stopWithin)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C():
		mu.Lock()
		var names []string
		for n := range running {
			names = append(names, n)
		}
		mu.Unlock()
		slices.Sort(names)
		r.log.Error("stopping: components did not return in time; exiting without them", "within", stopWithin, "running", names)
		return fmt.Errorf("stop: %v still running after %s", names, stopWithin)
	}
}

// finish records how the run ended and carries out what it asked for: a
// factory reset wipes the data, a new bundle starts hearthd again.
func (r *root) finish(err error) error {
	switch {
	case errors.Is(err, errFactoryReset):
		r.st.Close()
		r.st = nil
		if werr := wipe(r.cfg.Data); werr != nil {
			return werr
		}
		r.log.Warn("factory reset: data wiped")
		return errFactoryReset
	case errors.Is(err, errReprovisioned):
		if serr := r.st.RecordStop("reprovisioned"); serr != nil {
			r.log.Warn("record stop", "err", serr)
		}
		r.st.Close()
		r.st = nil
		// A fresh start reads the new identity; exec keeps the PID.
		return reexec()
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	}
	if serr := r.st.RecordStop("stopped"); serr != nil {
		r.log.Warn("record stop", "err", serr)
	}
	r.log.Info("hearthd stopped")
	return nil
}

// close releases what compose opened.
func (r *root) close() {
	if r.panel != nil {
		_ = r.panel.Close()
	}
	if r.bus != nil {
		_ = r.bus.Close()
	}
	if r.st != nil {
		r.st.Close()
	}
}
