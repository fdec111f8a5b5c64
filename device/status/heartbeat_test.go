package status

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/sync/proto"
)

type link struct {
	mu  gosync.Mutex
	got []proto.Heartbeat
	up  bool
}

func (l *link) PublishHeartbeat(h proto.Heartbeat) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.up {
		return false
	}
	l.got = append(l.got, h)
	return true
}
func (l *link) Session() uint64 { return 7 }

// system answers time sync; the network is unknown.
type system struct{ synced bool }

func (s system) Synchronized(context.Context) (bool, bool) { return s.synced, true }
func (s system) Status(context.Context) (sysbus.NetStatus, bool) {
	return sysbus.NetStatus{}, false
}

func TestGatherReadsWhatIsThereAndLeavesTheRestUnknown(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(s), 0o644)
	}
	write("proc/self/status", "Name:\thearthd\nVmRSS:\t  51200 kB\n")
	write("proc/meminfo", "MemTotal: 4000000 kB\nMemAvailable:    2048000 kB\n")
	write("sys/class/thermal/thermal_zone0/temp", "48312\n")
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0.Add(90 * time.Second))
	night, _ := device.ParseNightHours("08:00-10:00")
	live := device.NewLive(device.State{Calls: device.CallsOn, NightHours: night, DNDUntil: t0.Add(time.Hour),
		Devices: device.Devices{Camera: true, Speaker: true}, OnScreen: "photo-1"}, clk, time.UTC)
	h := &Heartbeat{Device: "mum", Version: "v1", Interval: time.Minute, Clock: clk,
		Link: &link{up: true}, Started: t0, DataDir: root, ProcRoot: root + "/proc", SysRoot: root + "/sys",
		System: system{synced: true}, Live: live, AllowlistSerial: func() uint64 { return 5 },
	}
	hb := h.Gather(context.Background())
	if hb.AllowlistSerial != 5 {
		t.Errorf("allowlist_serial = %d, want 5", hb.AllowlistSerial)
	}
	if hb.Session != 7 || hb.Seq != 1 || hb.UptimeS != 90 || hb.IntervalS != 60 || hb.Display != "dimmed" {
		t.Fatalf("heartbeat %+v", hb)
	}
	if hb.Availability != proto.AvailDoNotDisturb || !hb.Camera || hb.Microphone || !hb.Speaker || hb.OnScreen != "photo-1" {
		t.Fatalf("availability %q camera %v microphone %v speaker %v on screen %q, want do_not_disturb, true, false, true, photo-1",
			hb.Availability, hb.Camera, hb.Microphone, hb.Speaker, hb.OnScreen)
	}
	if live.Get().Clock != device.ClockSynced {
		t.Fatalf("clock trust = %v, want synced", live.Get().Clock)
	}
	if !hb.DNDUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("dnd_until = %v, want %v", hb.DNDUntil, t0.Add(time.Hour))
	}
	if hb.ClockTrusted == nil || !*hb.ClockTrusted {
		t.Fatalf("clock_trusted = %v, want true", hb.ClockTrusted)
	}
	live.SetClockEarly(true) // the scheduler found the clock before the build
	if hb := h.Gather(context.Background()); hb.ClockTrusted == nil || *hb.ClockTrusted {
		t.Fatalf("clock_trusted = %v with a clock before the build, want false", hb.ClockTrusted)
	}
	if hb.MemoryRSS != 51200*1024 || hb.MemoryAvailable != 2048000*1024 || hb.CPUTempC == nil || *hb.CPUTempC != 48.312 {
		t.Fatalf("memory %d/%d temp %v", hb.MemoryRSS, hb.MemoryAvailable, hb.CPUTempC)
	}
	if hb.TimeSynced == nil || !*hb.TimeSynced || hb.Network != nil || hb.Storage.Free == 0 {
		t.Fatalf("synced %v network %v storage %+v", hb.TimeSynced, hb.Network, hb.Storage)
	}
	// Without the files and sources: unknown, not zero or a crash.
	h2 := &Heartbeat{Device: "mum", Link: &link{up: true}, ProcRoot: root + "/none", SysRoot: root + "/none"}
	hb2 := h2.Gather(context.Background())
	if hb2.CPUTempC != nil || hb2.TimeSynced != nil || hb2.ClockTrusted != nil || !hb2.DNDUntil.IsZero() {
		t.Fatalf("unknowns reported as known: %+v", hb2)
	}
	// As docs/protocol.md says: time_synced is null when unknown; the
	// others that may be unknown are absent.
	b, _ := json.Marshal(hb2)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if v, ok := fields["time_synced"]; !ok || string(v) != "null" {
		t.Errorf("time_synced = %s (present %v), want null", v, ok)
	}
	for _, k := range []string{"network", "cpu_temp_c", "clock_trusted", "allowlist_serial", "dnd_until", "on_screen", "last_sync", "availability"} {
		if v, ok := fields[k]; ok {
			t.Errorf("%s = %s, want it absent when unknown", k, v)
		}
	}
}

// Run inside a synctest bubble: synctest.Wait returns once Run is blocked
// waiting for its alarm or a Poke, so each count below is what Run did
// with the fake clock where it stands.
func TestRunEveryIntervalAndOnPoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		l := &link{up: true}
		h := &Heartbeat{Device: "mum", Interval: time.Minute, Clock: clk, Link: l, ProcRoot: "/nonexistent", SysRoot: "/nonexistent"}
		h.Init()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		defer func() { cancel(); <-done }()
		// sent checks the heartbeats so far and when each was made.
		sent := func(when string, want ...time.Time) {
			t.Helper()
			synctest.Wait()
			l.mu.Lock()
			defer l.mu.Unlock()
			var got []time.Time
			for _, hb := range l.got {
				got = append(got, hb.Time)
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Fatalf("%s: heartbeats at %v, want %v", when, got, want)
			}
		}
		sent("at start", t0)
		clk.Advance(time.Minute - time.Nanosecond)
		sent("before the interval", t0)
		clk.Advance(time.Nanosecond)
		last := t0.Add(time.Minute)
		sent("after the interval", t0, last)

		// A change a second after a heartbeat waits until minGap has
		// passed since it, not a minute.
		clk.Advance(time.Second)
		h.Poke()
		sent("a poke within minGap", t0, last)
		clk.Set(last.Add(minGap - time.Nanosecond))
		sent("just before minGap", t0, last)
		clk.Set(last.Add(minGap))
		last = last.Add(minGap)
		sent("at minGap", t0, t0.Add(time.Minute), last)

		// Later than minGap after the last, a change is sent at once.
		clk.Advance(10 * time.Second)
		h.Poke()
		sent("a poke after minGap", t0, t0.Add(time.Minute), last, last.Add(10*time.Second))
	})
}

// A change in the live state that a heartbeat carries (availability)
// sends one after minGap; a new item on screen does not.
func TestRunOnLiveChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		live := device.NewLive(device.State{Calls: device.CallsOn, Devices: device.Devices{Camera: true, Microphone: true}}, clk, time.UTC)
		l := &link{up: true}
		h := &Heartbeat{Device: "mum", Interval: time.Minute, Clock: clk, Link: l, Live: live, ProcRoot: "/nonexistent", SysRoot: "/nonexistent"}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		defer func() { cancel(); <-done }()
		count := func() int {
			synctest.Wait()
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.got)
		}
		if n := count(); n != 1 {
			t.Fatalf("at start: %d heartbeats, want 1", n)
		}
		clk.Advance(10 * time.Second)
		live.SetOnScreen("photo-2")
		if n := count(); n != 1 {
			t.Fatalf("after a new slide: %d heartbeats, want 1", n)
		}
		live.SetCall("c-1", device.CallRinging)
		if n := count(); n != 2 {
			t.Fatalf("after a call began ringing: %d heartbeats, want 2", n)
		}
		l.mu.Lock()
		got := l.got[1].Availability
		l.mu.Unlock()
		if got != proto.AvailRinging {
			t.Fatalf("availability = %q, want ringing", got)
		}
	})
}

func TestAlert(t *testing.T) {
	if a := Alert(proto.Heartbeat{Storage: proto.Usage{Used: 1 << 30, Free: 100 << 20}}); a != "storage nearly full: 100 MiB free" {
		t.Fatalf("alert %q", a)
	}
	if a := Alert(proto.Heartbeat{Storage: proto.Usage{Used: 1 << 30, Free: 1 << 30}}); a != "" {
		t.Fatalf("alert %q with room to spare", a)
	}
	if a := Alert(proto.Heartbeat{}); a != "" {
		t.Fatalf("alert %q when storage is unknown", a)
	}
}
