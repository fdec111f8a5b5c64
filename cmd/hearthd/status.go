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
	gosync "sync"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/status"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// health is the status side of the composition root: the heartbeat, the
// availability the call side publishes (remembered for the heartbeat),
// and the night edges that change both.
type health struct {
	hb    *status.Heartbeat
	link  *hsync.Client
	calls *calls
	clk   clock.Clock
	night func() device.NightHours // in force now
	loc   *time.Location
	// nightWake wakes the night-edge loop when the hours change.
	nightWake chan struct{}
	onScreen  func() string
	closers   []func()
	// bus is the system bus (timedated, NetworkManager), shared.
	bus *sysbus.Link

	mu       gosync.Mutex
	avail    string
	dndUntil time.Time
}

func newHealth(cfg config.Config, st *store.Store, link *hsync.Client, life store.Life, clk clock.Clock,
	log *slog.Logger, night func() device.NightHours, loc *time.Location, calls *calls) *health {
	h := &health{link: link, calls: calls, clk: clk, night: night, loc: loc, nightWake: make(chan struct{}, 1)}
	// What the device has: the call side's probe (again every minute, and
	// after a call could not open them); without calls, once at start. A
	// probe lists audio devices, not work for every heartbeat.
	devices := func() media.Devices { return calls.devices() }
	if calls == nil {
		devs := media.Probe(media.Kind(cfg.Media))
		devices = func() media.Devices { return devs }
	}
	h.hb = &status.Heartbeat{
		Device: cfg.DeviceID, Version: Version, Build: buildString(), Interval: time.Duration(cfg.Heartbeat), Clock: clk, Logger: log,
		Link: link, Store: st, Life: life, Started: clk.Now(), DataDir: cfg.Data,
		Stats: func() status.LinkStats {
			s := link.Stats()
			return status.LinkStats{Reconnects: s.Reconnects, LastSync: s.LastSync}
		},
		Devices: func() (bool, bool, bool) {
			d := devices()
			return d.Camera, d.Microphone, d.Speaker
		},
		OnScreen: func() string {
			if h.onScreen != nil {
				return h.onScreen()
			}
			return ""
		},
		Display: func() string {
			if cfg.Headless {
				return "none" // no screen at all
			}
			switch night().ModeAt(clk.Now(), loc) {
			case device.ModeNightDim:
				return "dimmed"
			case device.ModeNightOff:
				return "off"
			}
			return "on"
		},
		Availability: h.availability,
		// A device that needs a person says so in its lifecycle state.
		OnGather: func(hb proto.Heartbeat) { link.SetAlert(status.Alert(hb)) },
	}
	if calls != nil {
		h.hb.DND = calls.dnd.at
		calls.devicesChanged = h.hb.Poke
	}
	h.hb.Init()
	h.connectSystem(log)
	if calls == nil {
		// No organisation key: nobody may call this device yet.
		h.setAvailability(proto.Availability{V: proto.Version, Device: cfg.DeviceID, Name: cfg.Name, Time: clk.Now().UTC(),
			State: "not_provisioned", Answer: map[proto.CallMode]string{proto.ModeForced: proto.AnswerNone, proto.ModeSignalled: proto.AnswerNone}})
	}
	return h
}

func (h *health) availability() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.avail
}

func (h *health) setAvailability(a proto.Availability) {
	h.mu.Lock()
	changed := h.avail != a.State || !h.dndUntil.Equal(a.DNDUntil)
	h.avail, h.dndUntil = a.State, a.DNDUntil
	h.mu.Unlock()
	h.link.SetAvailability(a)
	if changed {
		h.hb.Poke()
	}
}

// outbox is the call side's way up: replies straight to the link, and
// availability through h so the heartbeat carries it.
func (h *health) outbox(link *hsync.Client) call.Outbox { return healthOutbox{link, h} }

type healthOutbox struct {
	link *hsync.Client
	h    *health
}

func (o healthOutbox) Reply(caller string, r proto.Reply)   { o.link.Reply(caller, r) }
func (o healthOutbox) SetAvailability(a proto.Availability) { o.h.setAvailability(a) }

// nightChanged says the night hours changed (an admin's set_night): the
// call side and the heartbeat are told at once and the edges follow the
// new hours.
func (h *health) nightChanged() {
	select {
	case h.nightWake <- struct{}{}:
	default:
	}
}

// run sends heartbeats, and at every night edge (and when the hours
// change) tells the call side and the heartbeat (the screen dims,
// availability says "night").
func (h *health) run(ctx context.Context) error {
	go func() {
		var alarm clock.Alarm
		alarm.Clock = h.clk
		defer alarm.Stop()
		for {
			now := h.clk.Now()
			var edge <-chan time.Time // nil: no night hours, no edges
			if next := h.night().NextEdge(now, h.loc); !next.IsZero() {
				edge = alarm.At(now, next)
			}
			select {
			case <-ctx.Done():
				return
			case <-edge:
			case <-h.nightWake:
			}
			if h.calls != nil && h.calls.mgr != nil {
				h.calls.mgr.Refresh()
			}
			h.hb.Poke()
		}
	}()
	return h.hb.Run(ctx)
}

func (h *health) close() {
	for _, c := range h.closers {
		c()
	}
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
