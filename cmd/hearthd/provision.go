package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/sdnotify"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/ui"
	"github.com/hearth-home/hearth/ui/kiosk"
)

// bundleRecheck is how often an unprovisioned device looks for a bundle.
const bundleRecheck = 10 * time.Second

// provision applies a bundle found in cfg.BundlePath, loads the device's
// provisioning state and lays it over cfg (flags given on the command line
// win). Without a device id from anywhere it waits for a bundle; meanwhile
// waiting runs (the unprovisioned screen, or nothing when headless) until
// a bundle is applied. The TLS configuration is the device's client
// certificate for mqtts:// brokers, nil when unprovisioned.
func provision(ctx context.Context, cfg config.Config, log *slog.Logger, waiting func(ctx context.Context, msg string)) (config.Config, *tls.Config, error) {
	if len(cfg.BundlePath) == 0 && cfg.DeviceID != "" {
		if _, ok, _ := provisioning.Load(cfg.Data); !ok {
			return cfg, nil, nil // configured by hand (development, tests)
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return cfg, nil, fmt.Errorf("data dir: %w", err)
	}
	b := &bundles{cfg: cfg, log: log, refused: map[string]fileStamp{}}
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
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		if waiting != nil {
			go func() { defer close(done); waiting(wctx, msg) }()
		} else {
			close(done)
		}
		st, err = waitForBundle(ctx, cfg, log)
		cancel()
		<-done
		if err != nil {
			return cfg, nil, err
		}
		ok = true
	}
	if !ok {
		return cfg, nil, nil
	}
	cfg = withState(cfg, st)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("provisioned config: %w", err)
	}
	var tc *tls.Config
	if strings.HasPrefix(cfg.Broker, "mqtts://") {
		// No server name: the link verifies each broker it dials (the
		// first or a fallback) by that broker's own host name.
		if tc, err = st.TLSConfig(""); err != nil {
			return cfg, nil, err
		}
	}
	log.Info("provisioned", "device", cfg.DeviceID, "issued", st.Issued.UTC().Format(time.RFC3339),
		"broker", cfg.Broker, "brokers", len(st.Brokers), "wifi_networks", len(st.WiFi))
	return cfg, tc, nil
}

// waitForBundle looks for a bundle in cfg.BundlePath every 10 s until one
// is applied or ctx ends.
func waitForBundle(ctx context.Context, cfg config.Config, log *slog.Logger) (provisioning.State, error) {
	b := &bundles{cfg: cfg, log: log, refused: map[string]fileStamp{}}
	return b.wait(ctx, bundleRecheck)
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
	return cfg
}

// bundles applies what it finds in the bundle folders, and says once per
// file why it refused one.
type bundles struct {
	cfg     config.Config
	log     *slog.Logger
	refused map[string]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// check applies every bundle found; it reports whether one was applied.
func (b *bundles) check() bool {
	paths, err := provisioning.Find(b.cfg.BundlePath)
	if err != nil {
		b.log.Warn("provisioning bundles", "err", err)
	}
	applied := false
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
			b.refused[p] = stamp
			// The device stays as it is. TODO: report refusals upward
			// once connected (activity log).
			b.log.Error("provisioning bundle refused", "bundle", p, "err", err)
			continue
		}
		delete(b.refused, p)
		applied = true
		if !res.Already {
			applyWifi(b.log, res.State.WiFi)
		}
		if res.RemoveErr != nil {
			b.log.Error("provisioning bundle applied but NOT REMOVED: delete it, it holds the device's key", "bundle", p, "err", res.RemoveErr)
		}
	}
	return applied
}

// wait checks the folders every interval until a bundle is applied.
func (b *bundles) wait(ctx context.Context, every time.Duration) (provisioning.State, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if b.check() {
			st, ok, err := provisioning.Load(b.cfg.Data)
			if err != nil {
				return st, err
			}
			if ok {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return provisioning.State{}, ctx.Err()
		case <-t.C:
			_ = sdnotify.Ping()
		}
	}
}

// applyWifi saves the bundle's Wi-Fi networks in NetworkManager, over the
// system bus. Without NetworkManager (a wired device, a test machine) that
// is reported and provisioning goes on.
func applyWifi(log *slog.Logger, nets []provisioning.WiFi) {
	if len(nets) == 0 {
		return
	}
	var w sysbus.WifiSetup = sysbus.Unknown{}
	if bus, err := sysbus.Connect(""); err == nil {
		defer bus.Close()
		w = bus
	}
	for _, n := range nets {
		err := w.AddWifi(context.Background(), n.SSID, n.PSK)
		switch {
		case errors.Is(err, sysbus.ErrNoNetworkManager):
			log.Warn("wifi from the bundle not applied: no NetworkManager", "ssid", n.SSID, "err", err)
			return
		case err != nil:
			log.Error("wifi from the bundle", "ssid", n.SSID, "err", err)
		default:
			log.Info("wifi from the bundle saved", "ssid", n.SSID)
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
		log.Warn("no hardware serial for the set-up code", "err", err)
	}
	code := device.SetupCode(serial)
	log.Info("not set up yet: showing the set-up code", "code", code)
	s.ShowUnprovisioned(code, "")
	sw, sh, _ := cfg.ScreenSize()
	err = kiosk.Run(ctx, s, kiosk.Options{Title: "Hearth", Fullscreen: !cfg.Windowed,
		Size: fyne.NewSize(float32(sw), float32(sh))}, func(ctx context.Context) error {
		if _, _, err := provision(ctx, cfg, log, nil); err != nil {
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
