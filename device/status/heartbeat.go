// Package status gathers what the device tells its fleet about itself: the
// heartbeat, sent every Interval and soon after anything in it changes.
// Everything it reads is behind a small function, so a missing service
// (no NetworkManager, no timedated, no thermal zone) is reported as unknown.
package status

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/sync/proto"
)

// Link is where heartbeats go (the MQTT link).
type Link interface {
	PublishHeartbeat(h proto.Heartbeat) bool
	Session() uint64
}

// LinkStats are the link's counters.
type LinkStats struct {
	Reconnects int64
	LastSync   time.Time
}

// System is what the heartbeat asks of the operating system's services
// (sysbus.Link: timedated and NetworkManager over D-Bus); known is false
// when a service does not answer.
type System interface {
	Synchronized(ctx context.Context) (synced, known bool)
	Status(ctx context.Context) (sysbus.NetStatus, bool)
}

// Heartbeat builds and sends heartbeats. What the device is doing (its
// availability, devices, screen, do-not-disturb) comes from Live, and a
// change there that a heartbeat carries sends one soon.
type Heartbeat struct {
	Device         string
	Version, Build string
	Interval       time.Duration // default 60s
	Clock          clock.Clock
	Logger         *slog.Logger
	Link           Link
	Store          *store.Store
	Life           store.Life
	Started        time.Time
	DataDir        string
	// Live is the device's state; nil reports it unknown.
	Live *device.Live
	// Headless: the device has no screen (display "none").
	Headless bool
	// System answers time sync and network; nil reports them unknown.
	System System

	Stats func() LinkStats

	// AllowlistSerial is the serial of the allowlist the device holds (0:
	// none); nil: the device takes no calls.
	AllowlistSerial func() uint64

	// ProcRoot and SysRoot are "/proc" and "/sys" (tests point them elsewhere).
	ProcRoot, SysRoot string

	// OnGather sees every heartbeat before it is sent (the composition
	// root raises alerts from it).
	OnGather func(proto.Heartbeat)

	poke chan struct{}
	seq  uint64
}

// minGap keeps changes that come in bursts (a call starting: ringing, then
// in a call) to one heartbeat.
const minGap = 2 * time.Second

// Poke asks for a heartbeat soon: something in it changed.
func (h *Heartbeat) Poke() {
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// Init prepares h; Run calls it too, but Poke may be used before Run.
func (h *Heartbeat) Init() {
	if h.poke == nil {
		h.poke = make(chan struct{}, 1)
	}
	if h.Interval <= 0 {
		h.Interval = time.Minute
	}
	if h.Clock == nil {
		h.Clock = clock.Real()
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.ProcRoot == "" {
		h.ProcRoot = "/proc"
	}
	if h.SysRoot == "" {
		h.SysRoot = "/sys"
	}
}

// Run sends a heartbeat now, every Interval, and after each Poke (at most
// one per minGap), until ctx ends.
func (h *Heartbeat) Run(ctx context.Context) error {
	h.Init()
	var last time.Time
	var alarm clock.Alarm
	alarm.Clock = h.Clock
	defer alarm.Stop()
	next := h.Clock.Now()
	var changed <-chan struct{} // nil without Live: blocks
	var seen liveKey
	if h.Live != nil {
		var s device.State
		s, changed = h.Live.Watch()
		seen = carried(s)
	}
	for {
		now := h.Clock.Now()
		if !now.Before(next) {
			if h.send(ctx) {
				last = now
				next = now.Add(h.Interval)
			} else {
				// Not connected: try again soon; the link comes back.
				next = now.Add(min(h.Interval, 5*time.Second))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-alarm.At(now, next):
		case <-h.poke:
			next = last.Add(minGap)
		case <-changed:
			s, ch := h.Live.Watch()
			changed = ch
			if k := carried(s); k != seen {
				seen = k
				next = last.Add(minGap)
			}
		}
	}
}

// liveKey is what of the live state a heartbeat carries (not the item on
// screen: it changes every few seconds and waits for the next one).
type liveKey struct {
	devices device.Devices
	mode    device.Mode
	avail   proto.AvailabilityState
	dnd     time.Time
	clock   device.ClockTrust
	early   bool
}

func carried(s device.State) liveKey {
	a, _ := s.Availability()
	return liveKey{s.Devices, s.ScreenMode(), a, s.DNDUntil, s.Clock, s.ClockEarly}
}

func displayOf(m device.Mode) string {
	switch m {
	case device.ModeNightDim:
		return "dimmed"
	case device.ModeNightOff:
		return "off"
	}
	return "on"
}

// system asks the time and network services, and notes the clock's trust
// in Live.
func (h *Heartbeat) system(ctx context.Context) (*bool, *proto.Net) {
	var synced *bool
	trust := device.ClockUnknown
	if s, known := h.System.Synchronized(ctx); known {
		synced = &s
		trust = device.ClockUnsynced
		if s {
			trust = device.ClockSynced
		}
	}
	if h.Live != nil {
		h.Live.SetClock(trust)
	}
	st, known := h.System.Status(ctx)
	if !known {
		return synced, nil
	}
	n := &proto.Net{Interface: st.Interface, Type: st.Type, SSID: st.SSID, IP: st.IP, State: st.State}
	if st.Signal >= 0 {
		sig := st.Signal
		n.Signal = &sig
	}
	return synced, n
}

func (h *Heartbeat) send(ctx context.Context) bool {
	b := h.Gather(ctx)
	if h.OnGather != nil {
		h.OnGather(b)
	}
	ok := h.Link.PublishHeartbeat(b)
	if ok {
		h.Logger.Debug("heartbeat", "seq", b.Seq, "session", b.Session)
	}
	return ok
}

// Gather builds one heartbeat.
func (h *Heartbeat) Gather(ctx context.Context) proto.Heartbeat {
	h.Init()
	now := h.Clock.Now()
	h.seq++
	hb := proto.Heartbeat{
		V: proto.Version, Device: h.Device, Session: h.Link.Session(), Seq: h.seq, Time: now.UTC(),
		IntervalS: int(h.Interval / time.Second), UptimeS: int64(now.Sub(h.Started) / time.Second),
		Boots: h.Life.Boots, Restarts: h.Life.Restarts, LastExit: h.Life.LastExit,
		Version: h.Version, Build: h.Build, Display: "on",
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if h.Stats != nil {
		st := h.Stats()
		hb.Reconnects, hb.LastSync = st.Reconnects, st.LastSync
	}
	if h.System != nil {
		hb.TimeSynced, hb.Network = h.system(ctx)
	}
	if h.AllowlistSerial != nil {
		hb.AllowlistSerial = h.AllowlistSerial()
	}
	if h.Live != nil {
		st := h.Live.Get()
		hb.Camera, hb.Microphone, hb.Speaker = st.Devices.Camera, st.Devices.Microphone, st.Devices.Speaker
		hb.OnScreen = st.OnScreen
		trusted := st.ClockTrusted()
		hb.ClockTrusted = &trusted
		hb.Display = displayOf(st.ScreenMode())
		hb.Availability, _ = st.Availability()
		if st.DND() {
			hb.DNDUntil = st.DNDUntil.UTC()
		}
	}
	if h.Headless {
		hb.Display = "none" // no screen at all
	}
	if h.Store != nil {
		if recs, err := h.Store.All(); err == nil {
			hb.Items = len(recs)
		}
	}
	if h.DataDir != "" {
		hb.Storage = diskUsage(h.DataDir)
	}
	hb.MemoryRSS = procKB(h.ProcRoot+"/self/status", "VmRSS:") * 1024
	hb.MemoryAvailable = procKB(h.ProcRoot+"/meminfo", "MemAvailable:") * 1024
	hb.CPUTempC = cpuTemp(h.SysRoot)
	return hb
}

func diskUsage(dir string) proto.Usage {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return proto.Usage{}
	}
	bs := uint64(st.Bsize)
	return proto.Usage{Used: (st.Blocks - st.Bfree) * bs, Free: st.Bavail * bs}
}

// procKB reads a "Key:   123 kB" line.
func procKB(path, key string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuTemp reads the first thermal zone (millidegrees Celsius), if the
// board has one.
func cpuTemp(sys string) *float64 {
	b, err := os.ReadFile(sys + "/class/thermal/thermal_zone0/temp")
	if err != nil {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	c := float64(n) / 1000
	return &c
}
