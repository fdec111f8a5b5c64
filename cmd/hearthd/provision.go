package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/sdnotify"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/ui"
	"github.com/hearth-home/hearth/ui/kiosk"
)

// bundleRecheck is how often a device waiting for its first bundle looks
// for one (a running device: --bundle-watch).
const bundleRecheck = 10 * time.Second

// provision applies a bundle found in cfg.BundlePath, loads the device's
// provisioning state and lays it over cfg (flags given on the command line
// win). Without a device id from anywhere it waits for a bundle (headless:
// the daemon just waits and logs). The TLS configuration is the device's
// client certificate for mqtts:// brokers, nil when unprovisioned. The
// bundles it returns keep watching the folders (watch) and hold the
// refusals met so far until they can be reported (reportTo, or at once to
// refused if that is not nil); nil when the device is configured by hand.
func provision(ctx context.Context, cfg config.Config, log *slog.Logger, refused func(bundleRefusal)) (config.Config, *tls.Config, *bundles, error) {
	if len(cfg.BundlePath) == 0 && cfg.DeviceID != "" {
		if _, ok, _ := provisioning.Load(cfg.Data); !ok {
			return cfg, nil, nil, nil // configured by hand (development, tests)
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return cfg, nil, nil, fmt.Errorf("data dir: %w", err)
	}
	b := newBundles(cfg, log)
	if refused != nil {
		b.reportTo(refused)
	}
	b.check()
	st, ok, err := provisioning.Load(cfg.Data)
	if err != nil {
		log.Error("provisioning state unreadable", "err", err)
	}
	if !ok && cfg.DeviceID == "" {
		msg := fmt.Sprintf("not provisioned: waiting for a bundle (%s) in %s", provisioning.BundleFile, strings.Join(cfg.BundlePath, ", "))
		log.Warn(msg)
		// systemd (Type=notify, WatchdogSec) must not take the wait for
		// a failed start: the daemon is up, doing what it can.
		_ = sdnotify.Ready()
		_ = sdnotify.Status(msg)
		if st, err = b.wait(ctx, bundleRecheck); err != nil {
			return cfg, nil, b, err
		}
		ok = true
	}
	if !ok {
		return cfg, nil, b, nil
	}
	cfg = withState(cfg, st)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, b, fmt.Errorf("provisioned config: %w", err)
	}
	var tc *tls.Config
	if strings.HasPrefix(cfg.Broker, "mqtts://") {
		// No server name: the link verifies each broker it dials (the
		// first or a fallback) by that broker's own host name.
		if tc, err = st.TLSConfig(""); err != nil {
			return cfg, nil, b, err
		}
	}
	log.Info("provisioned", "device", cfg.DeviceID, "issued", st.Issued.UTC().Format(time.RFC3339),
		"broker", cfg.Broker, "brokers", len(st.Brokers), "wifi_networks", len(st.WiFi))
	return cfg, tc, b, nil
}

// withState lays a provisioning state over cfg: the bundle's values replace
// defaults and the config file's; flags given on the command line stay.
func withState(cfg config.Config, st provisioning.State) config.Config {
	set := func(flag string, dst *string, v string) {
		if v != "" && !cfg.Given[flag] {
			*dst = v
		}
	}
	set("device-id", &cfg.DeviceID, st.Device)
	set("name", &cfg.Name, st.Name)
	if len(st.Brokers) > 0 && !cfg.Given["broker"] {
		// The rest of the bundle's list are tried in turn when the first
		// cannot be reached.
		cfg.Broker = st.Brokers[0]
		if !cfg.Given["fallback-brokers"] {
			cfg.FallbackBrokers = st.Brokers[1:]
		}
	}
	set("org-key", &cfg.OrgKey, st.OrgKeyFile)
	set("timezone", &cfg.Timezone, st.Timezone)
	set("locale", &cfg.Locale, st.Locale)
	set("night", &cfg.Night, st.Night)
	// A bundle can only make the device stricter: without the setting (an
	// older bundle) the config file's or the command line's stands.
	if st.RequireSignedItems && !cfg.Given["require-signed-items"] {
		cfg.RequireSignedItems = true
	}
	return cfg
}

// bundles applies what it finds in the bundle folders, and says once per
// file why it refused one: in the log, and to report (the activity log,
// which goes upward) once there is one.
type bundles struct {
	cfg     config.Config
	log     *slog.Logger
	refused map[string]fileStamp

	mu      gosync.Mutex
	report  func(bundleRefusal)
	pending []bundleRefusal // refused before report was set
}

// bundleRefusal is a bundle the device would not take, and why.
type bundleRefusal struct {
	Path   string
	Reason string
	Time   time.Time
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// errReprovisioned ends a running daemon that applied a newer bundle: it
// starts again to take the new identity, broker and keys.
var errReprovisioned = errors.New("a newer provisioning bundle was applied")

func newBundles(cfg config.Config, log *slog.Logger) *bundles {
	return &bundles{cfg: cfg, log: log, refused: map[string]fileStamp{}}
}

// reportTo sends every refusal, those met before and those to come, to fn.
func (b *bundles) reportTo(fn func(bundleRefusal)) {
	b.mu.Lock()
	pending := b.pending
	b.report, b.pending = fn, nil
	b.mu.Unlock()
	for _, r := range pending {
		fn(r)
	}
}

func (b *bundles) refuse(path string, err error) {
	// The reason without Apply's "apply bundle PATH: " in front.
	reason := strings.TrimPrefix(err.Error(), "apply bundle "+path+": ")
	r := bundleRefusal{Path: path, Reason: reason, Time: time.Now()}
	b.log.Error("provisioning bundle refused", "bundle", path, "err", err)
	b.mu.Lock()
	report := b.report
	if report == nil {
		b.pending = append(b.pending, r)
	}
	b.mu.Unlock()
	if report != nil {
		report(r)
	}
}

// check applies every bundle found. It reports whether one was applied
// that this device did not have already.
func (b *bundles) check() (fresh bool) {
	paths, err := provisioning.Find(b.cfg.BundlePath)
	if err != nil {
		b.log.Warn("provisioning bundles", "err", err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		stamp := fileStamp{fi.Size(), fi.ModTime()}
		if old, ok := b.refused[p]; ok && old == stamp {
			continue // refused before and unchanged
		}
		res, err := provisioning.Apply(p, provisioning.ApplyOptions{Data: b.cfg.Data, Logger: b.log})
		if err != nil {
			// The device stays as it is.
			b.refused[p] = stamp
			b.refuse(p, err)
			continue
		}
		delete(b.refused, p)
		if !res.Already {
			fresh = true // its Wi-Fi networks: wifiSetup, once running
		}
		if res.RemoveErr != nil {
			b.log.Error("provisioning bundle applied but NOT REMOVED: delete it, it holds the device's key", "bundle", p, "err", res.RemoveErr)
		}
	}
	return fresh
}

// wait checks the folders every interval until the device has a
// provisioning state.
func (b *bundles) wait(ctx context.Context, every time.Duration) (provisioning.State, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b.check()
		st, ok, err := provisioning.Load(b.cfg.Data)
		if err != nil {
			return st, err
		}
		if ok {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return provisioning.State{}, ctx.Err()
		case <-t.C:
			_ = sdnotify.Ping()
		}
	}
}

// watch checks the folders every interval while the device runs. A newer
// bundle for this device is applied and ends the run (errReprovisioned);
// anything else is refused, logged and reported.
func (b *bundles) watch(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if b.check() {
			b.log.Warn("provisioning: a newer bundle was applied; starting again with it")
			return errReprovisioned
		}
	}
}

// errProvisioned ends the unprovisioned screen once a bundle is applied.
var errProvisioned = errors.New("provisioned")

// unprovisioned reports whether the device must wait for a bundle.
func unprovisioned(cfg config.Config) bool {
	if cfg.DeviceID != "" || len(cfg.BundlePath) == 0 {
		return false
	}
	_, ok, _ := provisioning.Load(cfg.Data)
	return !ok
}

// showUnprovisioned runs the screen with its set-up code (and a QR code of
// it) until a bundle is applied; then the daemon starts again, provisioned.
func showUnprovisioned(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := checkDisplay(); err != nil {
		return err
	}
	loc, _ := cfg.Location()
	s, err := ui.New(ui.Options{Clock: clock.Real(), Location: loc, Locale: cfg.Locale, Logger: log})
	if err != nil {
		return err
	}
	serial, err := provisioning.ReadSerial()
	if err != nil {
		// Without one the installer could not tell this screen from the
		// next: a random stand-in, kept in the data folder.
		if serial, err = localSerial(cfg.Data); err != nil {
			log.Error("no serial for the set-up code", "err", err)
		} else {
			log.Warn("no hardware serial: the set-up code comes from a random one kept in the data folder")
		}
	}
	code := device.SetupCode(serial)
	log.Info("not set up yet: showing the set-up code", "code", code)
	s.ShowUnprovisioned(code, "")
	sw, sh, _ := cfg.ScreenSize()
	err = kiosk.Run(ctx, s, kiosk.Options{Title: "Hearth", Fullscreen: !cfg.Windowed,
		Size: fyne.NewSize(float32(sw), float32(sh))}, func(ctx context.Context) error {
		// A refused bundle is named on the screen for the installer (it is
		// also in hearth-bundle.refused.txt beside it).
		hint := func(r bundleRefusal) { s.ShowUnprovisioned(code, "Bundle refused: "+shorten(r.Reason, 60)) }
		if _, _, _, err := provision(ctx, cfg, log, hint); err != nil {
			return err
		}
		return errProvisioned
	})
	if errors.Is(err, errProvisioned) {
		// A fresh start reads the new identity; exec keeps the PID, which
		// systemd's Type=notify expects.
		log.Info("provisioned: starting again")
		return reexec()
	}
	return err
}

// shorten cuts s to at most n characters, ending in "…" when it cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// localSerial is a random stand-in for a hardware serial, made once and
// kept in the data folder (a factory reset makes a new one).
func localSerial(data string) (string, error) {
	p := filepath.Join(data, "local-serial")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	s := hex.EncodeToString(r[:])
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	if err := provisioning.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}
