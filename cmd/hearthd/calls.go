package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// calls is the call side of the composition root. The Manager needs the
// link (to answer) and the link needs the Manager (to deliver invites), so
// the Manager is made in start, before anything runs.
type calls struct {
	cfg   config.Config
	clk   clock.Clock
	log   *slog.Logger
	auth  *callauth.Checker
	media *callmedia.Media
	mgr   *call.Manager
	// probe finds camera, microphone and speaker; watchDevices runs it
	// again now and then and after a call could not open them.
	probe   func() media.Devices
	devMu   gosync.Mutex
	devs    media.Devices
	recheck chan struct{}
	noteDev func(what string) // an activity upward
	// devicesChanged tells the heartbeat.
	devicesChanged func()
	// night says whether a time is in the night hours.
	night func(time.Time) bool
	// dnd is do-not-disturb, kept in the store by the admin side.
	dnd dnd
}

// dnd is the device's do-not-disturb: on until a time. The admin side sets
// it; the call side and the heartbeat read it.
type dnd struct {
	mu    gosync.Mutex
	until time.Time
}

// at reports whether do-not-disturb is on at t, and until when.
func (d *dnd) at(t time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !t.Before(d.until) {
		return time.Time{}, false
	}
	return d.until, true
}

func (d *dnd) set(until time.Time) {
	d.mu.Lock()
	d.until = until
	d.mu.Unlock()
}

// setDND applies an admin's do-not-disturb (zero: off) and tells callers.
func (c *calls) setDND(until time.Time) {
	c.dnd.set(until)
	if c.mgr != nil {
		c.mgr.Refresh()
	}
}

// newCalls prepares calls, or returns nil when the device has no
// organisation key (it then answers nobody, and says so).
func newCalls(cfg config.Config, clk clock.Clock, log *slog.Logger) (*calls, error) {
	if cfg.OrgKey == "" {
		log.Warn("calls are off: no organisation key (--org-key)")
		return nil, nil
	}
	org, err := provisioning.ReadPublic(cfg.OrgKey)
	if err != nil {
		return nil, fmt.Errorf("calls: %w", err)
	}
	auth, err := callauth.New(org, clk)
	if err != nil {
		return nil, err
	}
	kind := media.Kind(cfg.Media)
	c := &calls{cfg: cfg, clk: clk, log: log, auth: auth, media: callmedia.New(kind, log),
		probe: func() media.Devices { return media.Probe(kind) }, recheck: make(chan struct{}, 1)}
	c.devs = c.probe()
	if !c.devs.Camera {
		log.Warn("no camera: calls will carry no picture of the resident", "media", kind)
	}
	if !c.devs.Microphone {
		log.Warn("no microphone: calls will carry no sound from the resident", "media", kind)
	}
	if !c.devs.Speaker {
		log.Warn("no speaker: callers will not be heard", "media", kind)
	}
	return c, nil
}

// start makes the Manager with its outbox and screen.
func (c *calls) start(out call.Outbox, disp device.CallDisplay, st *store.Store) error {
	c.auth.Spent = st.SpendCallID
	// An admin's do-not-disturb outlives a restart; one that ended
	// meanwhile (or "off") is let go.
	if v, ok := st.Setting(store.SettingDND); ok {
		if until, err := time.Parse(time.RFC3339, v); err == nil && c.clk.Now().Before(until) {
			c.dnd.set(until)
			c.log.Info("do not disturb", "until", until)
		}
	}
	var ice []webrtc.ICEServer
	for _, u := range c.cfg.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: []string{u}})
	}
	name := c.cfg.Name
	if name == "" {
		name = c.cfg.DeviceID
	}
	c.noteDev = func(what string) {
		if err := st.LogActivity(store.Activity{Time: c.clk.Now(), Type: "devices_changed", Reason: what}); err != nil {
			c.log.Error("activity log", "err", err)
		}
	}
	devs := c.devices()
	m, err := call.New(call.Options{
		Device: c.cfg.DeviceID, Name: name, Auth: c.auth, Clock: c.clk, Display: disp, Out: out,
		Media: probingMedia{c.media, c.recheckDevices}, Logger: c.log, HasCamera: devs.Camera, HasMicrophone: devs.Microphone,
		Announce: time.Duration(c.cfg.Announce), Ring: time.Duration(c.cfg.Ring), Limit: time.Duration(c.cfg.CallLimit),
		ICEServers: ice, Loopback: c.cfg.ICELoopback, Night: c.night, DND: c.dnd.at,
		Activity: func(e call.Event) {
			if err := st.LogActivity(activityOf(e, c.clk.Now())); err != nil {
				c.log.Error("activity log", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	c.mgr = m
	return nil
}

func activityOf(e call.Event, now time.Time) store.Activity {
	return store.Activity{Time: now, Type: e.Type, Call: e.Call, Caller: e.Caller, Mode: string(e.Mode),
		Reason: e.Reason, DurationMs: e.Duration.Milliseconds()}
}

// Deliver and SetAllowlist feed the Manager from the link.
func (c *calls) Deliver(m proto.CallIn) { c.mgr.Deliver(m) }

func (c *calls) SetAllowlist(a proto.Allowlist) error { return c.mgr.SetAllowlist(a) }

// Run answers calls until ctx ends, and keeps an eye on the devices.
func (c *calls) Run(ctx context.Context) error {
	if c.mgr == nil {
		return errors.New("calls: not started")
	}
	go c.watchDevices(ctx, devicesRecheck)
	return c.mgr.Run(ctx)
}

// devicesRecheck is how often camera, microphone and speaker are looked
// for again: a USB camera can be unplugged, or plugged back, at any time.
const devicesRecheck = time.Minute

// devices is what the device has, as last probed.
func (c *calls) devices() media.Devices {
	c.devMu.Lock()
	defer c.devMu.Unlock()
	return c.devs
}

// recheckDevices asks watchDevices to probe now (a call could not open
// the camera or microphone).
func (c *calls) recheckDevices() {
	select {
	case c.recheck <- struct{}{}:
	default:
	}
}

// watchDevices probes every interval and when asked; a change goes to the
// call side (availability), the heartbeat (which asks devices) and the
// activity log.
func (c *calls) watchDevices(ctx context.Context, every time.Duration) {
	for {
		t := c.clk.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-c.recheck:
			t.Stop()
		}
		now := c.probe()
		c.devMu.Lock()
		was := c.devs
		c.devs = now
		c.devMu.Unlock()
		if now == was {
			continue
		}
		what := devicesChange(was, now)
		c.log.Warn("camera, microphone or speaker changed", "change", what)
		if c.noteDev != nil {
			c.noteDev(what)
		}
		if c.mgr != nil {
			c.mgr.SetDevices(now.Camera, now.Microphone)
		}
		if c.devicesChanged != nil {
			c.devicesChanged()
		}
	}
}

// devicesChange says what changed, "camera missing, microphone back".
func devicesChange(was, now media.Devices) string {
	var parts []string
	for _, d := range []struct {
		name     string
		was, now bool
	}{{"camera", was.Camera, now.Camera}, {"microphone", was.Microphone, now.Microphone}, {"speaker", was.Speaker, now.Speaker}} {
		switch {
		case d.was && !d.now:
			parts = append(parts, d.name+" missing")
		case !d.was && d.now:
			parts = append(parts, d.name+" back")
		}
	}
	return strings.Join(parts, ", ")
}

// probingMedia is the call side's media; a capture that cannot be opened
// has the devices looked for again at once.
type probingMedia struct {
	*callmedia.Media
	failed func()
}

func (p probingMedia) OpenCapture() (call.Capture, error) {
	cp, err := p.Media.OpenCapture()
	if err != nil {
		p.failed()
	}
	return cp, err
}
