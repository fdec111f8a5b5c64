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

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
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

// Heartbeat builds and sends heartbeats. Zero func fields report unknown.
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

	Stats        func() LinkStats
	TimeSynced   func(ctx context.Context) *bool
	Network      func(ctx context.Context) *proto.Net
	Devices      func() (camera, microphone, speaker bool)
	OnScreen     func() string
	Display      func() string // on, dimmed, off
	Availability func() string
	// DND reports whether do-not-disturb is on at t, and until when.
	DND func(t time.Time) (until time.Time, on bool)

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
		}
	}
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
	if h.TimeSynced != nil {
		hb.TimeSynced = h.TimeSynced(ctx)
	}
	if h.Network != nil {
		hb.Network = h.Network(ctx)
	}
	if h.Devices != nil {
		hb.Camera, hb.Microphone, hb.Speaker = h.Devices()
	}
	if h.OnScreen != nil {
		hb.OnScreen = h.OnScreen()
	}
	if h.Display != nil {
		hb.Display = h.Display()
	}
	if h.Availability != nil {
		hb.Availability = h.Availability()
	}
	if h.DND != nil {
		if until, on := h.DND(now); on && now.Before(until) {
			hb.DNDUntil = until.UTC()
		}
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
