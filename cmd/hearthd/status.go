package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/status"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// health is the status side of the composition root: the heartbeat, and
// the availability callers read before they dial, both from the live
// state.
type health struct {
	hb   *status.Heartbeat
	live *device.Live
	out  *hsync.Outbox
	clk  clock.Clock
	// device and name are who the availability speaks for.
	device, name string
}

func newHealth(cfg config.Config, st *store.Store, link *hsync.Client, out *hsync.Outbox, live *device.Live,
	sys status.System, life store.Life, serial func() uint64, clk clock.Clock, log *slog.Logger) *health {
	name := cfg.Name
	if name == "" {
		name = cfg.DeviceID
	}
	h := &health{live: live, out: out, clk: clk, device: cfg.DeviceID, name: name}
	h.hb = &status.Heartbeat{
		Device: cfg.DeviceID, Version: Version, Build: buildString(), Interval: time.Duration(cfg.Heartbeat), Clock: clk, Logger: log,
		Link: link, Store: st, Life: life, Started: clk.Now(), DataDir: cfg.Data, Live: live, Headless: cfg.Headless, System: sys,
		Stats: func() status.LinkStats {
			s := link.Stats()
			return status.LinkStats{Reconnects: s.Reconnects, LastSync: s.LastSync}
		},
		// A device that needs a person says so in its lifecycle state.
		OnGather: func(hb proto.Heartbeat) { link.SetAlert(status.Alert(hb)) },
	}
	h.hb.AllowlistSerial = serial
	h.hb.Init() // Poke may come before Run (a new allowlist)
	return h
}

// run sends heartbeats and publishes the availability whenever it
// changes, until ctx ends.
func (h *health) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return h.hb.Run(ctx) })
	g.Go(func() error {
		return device.PublishAvailability(ctx, h.live, h.clk, h.device, h.name, h.out.SetAvailability)
	})
	return g.Wait()
}

// bootID tells one boot from the next (Linux).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// noteConfig logs a config_changed activity when the settings differ from
// those of the previous start.
func noteConfig(st *store.Store, cfg config.Config, clk clock.Clock, log *slog.Logger) {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	changed, err := st.ConfigChanged(hex.EncodeToString(sum[:8]))
	if err != nil {
		log.Warn("config hash", "err", err)
		return
	}
	if changed {
		if err := st.LogActivity(store.Activity{Time: clk.Now(), Type: "config_changed"}); err != nil {
			log.Warn("activity", "err", err)
		}
	}
	// A new provisioning bundle since the last start: say which.
	if prov, ok, err := provisioning.Load(cfg.Data); err == nil && ok {
		issued := prov.Issued.UTC().Format(time.RFC3339)
		if old, _ := st.Setting("provisioned_issued"); old != issued {
			if err := st.SetSetting("provisioned_issued", issued); err != nil {
				log.Warn("provisioning record", "err", err)
			}
			if err := st.LogActivity(store.Activity{Time: clk.Now(), Type: "provisioned", Reason: "bundle issued " + issued}); err != nil {
				log.Warn("activity", "err", err)
			}
		}
	}
}

// buildString says what this binary was built from, for the heartbeat's
// build field beside the stamped version: the Go toolchain, the platform,
// the build tags and, when the build knew it, the commit and its time
// (Buildroot builds without VCS stamping).
func buildString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	parts := []string{bi.GoVersion, runtime.GOOS + "/" + runtime.GOARCH}
	var rev, at, tags string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		case "-tags":
			tags = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "-dirty"
		}
		parts = append(parts, rev)
	}
	if at != "" {
		parts = append(parts, at)
	}
	if tags != "" {
		parts = append(parts, "tags="+tags)
	}
	return strings.Join(parts, " ")
}
