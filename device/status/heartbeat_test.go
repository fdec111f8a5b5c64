package status

import (
	"context"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
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
func (l *link) n() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
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
	synced := true
	h := &Heartbeat{Device: "mum", Version: "v1", Interval: time.Minute, Clock: clock.NewFake(t0.Add(90 * time.Second)),
		Link: &link{up: true}, Started: t0, DataDir: root, ProcRoot: root + "/proc", SysRoot: root + "/sys",
		TimeSynced: func(context.Context) *bool { return &synced },
		Display:    func() string { return "dimmed" },
		DND:        func(time.Time) (time.Time, bool) { return t0.Add(time.Hour), true },
	}
	hb := h.Gather(context.Background())
	if hb.Session != 7 || hb.Seq != 1 || hb.UptimeS != 90 || hb.IntervalS != 60 || hb.Display != "dimmed" {
		t.Fatalf("heartbeat %+v", hb)
	}
	if !hb.DNDUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("dnd_until = %v, want %v", hb.DNDUntil, t0.Add(time.Hour))
	}
	if hb.MemoryRSS != 51200*1024 || hb.MemoryAvailable != 2048000*1024 || hb.CPUTempC == nil || *hb.CPUTempC != 48.312 {
		t.Fatalf("memory %d/%d temp %v", hb.MemoryRSS, hb.MemoryAvailable, hb.CPUTempC)
	}
	if hb.TimeSynced == nil || !*hb.TimeSynced || hb.Network != nil || hb.Storage.Free == 0 {
		t.Fatalf("synced %v network %v storage %+v", hb.TimeSynced, hb.Network, hb.Storage)
	}
	// Without the files and sources: unknown, not zero or a crash.
	h2 := &Heartbeat{Device: "mum", Link: &link{up: true}, ProcRoot: root + "/none", SysRoot: root + "/none"}
	if hb := h2.Gather(context.Background()); hb.CPUTempC != nil || hb.TimeSynced != nil || !hb.DNDUntil.IsZero() {
		t.Fatalf("unknowns reported as known: %+v", hb)
	}
}

func TestRunEveryIntervalAndOnPoke(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	l := &link{up: true}
	h := &Heartbeat{Device: "mum", Interval: time.Minute, Clock: clk, Link: l, ProcRoot: "/nonexistent", SysRoot: "/nonexistent"}
	h.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	wait := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for l.n() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d heartbeats, want %d", l.n(), n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	wait(1) // at once
	clk.Advance(time.Minute)
	wait(2)
	h.Poke() // a change: after minGap, not a minute
	time.Sleep(10 * time.Millisecond)
	clk.Advance(minGap)
	wait(3)
	cancel()
	<-done
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
