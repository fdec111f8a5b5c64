package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/sdnotify"
	"github.com/hearth-home/hearth/provisioning"
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
		if tc, err = st.TLSConfig(cfg.Broker); err != nil {
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
	if len(st.Brokers) > 0 {
		// The others are kept for failover (not yet used).
		set("broker", &cfg.Broker, st.Brokers[0])
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
