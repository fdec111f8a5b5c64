package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/provisioning"
)

// calls is the call side of the composition root: the Manager, which
// owns every call, and the watchers that keep the live state's devices and
// the speaker's volume true.
type calls struct {
	clk   clock.Clock
	log   *slog.Logger
	live  *device.Live
	media *callmedia.Media
	mgr   *call.Manager
	// auth holds the allowlist: who may call, and book calls.
	auth *callauth.Checker
	// probe finds camera, microphone and speaker; watchDevices runs it
	// again now and then and after a call could not open them.
	probe   func() media.Devices
	recheck chan struct{}
	// note records an activity (devices_changed) for the activity log.
	note func(store.Activity)
	// wake turns the display itself on before a call's first screen (the
	// panel's Wake); nil when there is no panel to switch.
	wake func()
}

// newCalls builds the call side, or returns nil when the device has no
// organisation key (it then answers nobody, and says so).
func newCalls(cfg config.Config, clk clock.Clock, live *device.Live, st *store.Store, out call.Outbox,
	disp device.CallDisplay, note func(store.Activity), log *slog.Logger) (*calls, error) {
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
	auth.Spent = st.SpendCallID
	kind := callmedia.ProbeKind(cfg.Media)
	c := &calls{clk: clk, log: log, live: live, media: callmedia.NewFor(cfg.Media, log), auth: auth,
		probe: func() media.Devices { return media.Probe(kind) }, recheck: make(chan struct{}, 1),
		note: note}
	var ice []webrtc.ICEServer
	for _, u := range cfg.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: []string{u}})
	}
	name := cfg.Name
	if name == "" {
		name = cfg.DeviceID
	}
	c.mgr, err = call.New(call.Options{
		Device: cfg.DeviceID, Name: name, Auth: auth, Clock: clk, Display: disp, Out: out, Live: live,
		Media: probingMedia{c.media, c.recheckDevices}, Logger: log,
		Announce: time.Duration(cfg.Announce), Ring: time.Duration(cfg.Ring), Limit: time.Duration(cfg.CallLimit),
		ICEServers: ice, Loopback: cfg.ICELoopback,
		Activity: func(e call.Event) { c.note(activityOf(e, clk.Now())) },
		Wake: func() {
			if c.wake != nil {
				c.wake()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func activityOf(e call.Event, now time.Time) store.Activity {
	return store.Activity{Time: now, Type: e.Type, Call: e.Call, Caller: e.Caller, Mode: string(e.Mode),
		Reason: e.Reason, DurationMs: e.Duration.Milliseconds(), Count: e.Count}
}

// Run answers calls until ctx ends, and keeps the devices and the volume
// true; it returns when all three have.
func (c *calls) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.mgr.Run(ctx) })
	g.Go(func() error { c.watchDevices(ctx, devicesRecheck); return nil })
	g.Go(func() error { c.followVolume(ctx); return nil })
	return g.Wait()
}

// followVolume sets the speaker's level from the live state (an admin's
// set_volume, or the level kept from before a restart).
func (c *calls) followVolume(ctx context.Context) {
	applied := -1
	for {
		s, changed := c.live.Watch()
		if s.Volume >= 0 && s.Volume != applied {
			c.media.SetVolume(s.Volume)
			applied = s.Volume
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// devicesRecheck is how often camera, microphone and speaker are looked
// for again: a USB camera can be unplugged, or plugged back, at any time.
const devicesRecheck = time.Minute

// recheckDevices asks watchDevices to probe now (a call could not open
// the camera or microphone).
func (c *calls) recheckDevices() {
	select {
	case c.recheck <- struct{}{}:
	default:
	}
}

// watchDevices probes every interval and when asked; a change goes into
// the live state (availability, the heartbeat and the next call follow)
// and the activity log.
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
		now := device.Devices(c.probe())
		was := c.live.Get().Devices
		if !c.live.SetDevices(now) {
			continue
		}
		what := devicesChange(was, now)
		c.log.Warn("camera, microphone or speaker changed", "change", what)
		c.note(store.Activity{Time: c.clk.Now(), Type: "devices_changed", Reason: what})
	}
}

// devicesChange says what changed, "camera missing, microphone back".
func devicesChange(was, now device.Devices) string {
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
