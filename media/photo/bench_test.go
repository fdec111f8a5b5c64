package photo

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPrepare24MP makes the 1920×1080 screen copy of a 24 MP
// (6000×4000) photo-like JPEG. Besides time and allocations it reports, for
// one Prepare started from a collected heap:
//
//	cpu-ms/op     CPU time of the whole process (GC and the heap sampler
//	              included), steadier than ms/op on a shared machine
//	peak-heap-MB  the largest Go heap in use (HeapInuse, sampled every 0.5 ms),
//	              including the 5.4 MB input that the caller holds
//	peak-rss-MB   the process's peak resident memory, which also counts
//	              libjpeg-turbo's C allocations (Linux only; reset before the loop)
//
// Run on one core: go test -run XXX -bench Prepare24MP -cpu 1 ./media/photo/
// and again with CGO_ENABLED=0 for the pure-Go path.
func BenchmarkPrepare24MP(b *testing.B) {
	data := GenerateTestJPEG(6000, 4000, 90)
	benchmarkPrepare(b, data, Screen{W: 1920, H: 1080})
}

func benchmarkPrepare(b *testing.B, data []byte, screen Screen) {
	// Without cgo image/jpeg decodes a 24 MP JPEG whole, over the decoded
	// budget that a device keeps; the benchmark measures that path anyway.
	lim := DefaultLimits()
	lim.MaxDecodedBytes = 1 << 30
	debug.FreeOSMemory()
	rssReset := resetPeakRSS()
	peak := startHeapSampler()
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC() // each Prepare starts from a collected heap
		c0 := processCPU()
		b.StartTimer()
		res, err := Prepare(data, screen, lim)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += processCPU() - c0
		b.StartTimer()
		if res.W != 1620 || res.H != 1080 {
			b.Fatalf("Prepare = %dx%d, want 1620x1080", res.W, res.H)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(peak.stop())/(1<<20), "peak-heap-MB")
	if rssReset {
		if kb, ok := peakRSSKB(); ok {
			b.ReportMetric(float64(kb)/1024, "peak-rss-MB")
		}
	}
}

// heapSampler records the largest HeapInuse seen.
type heapSampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{quit: make(chan struct{})}
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s) // does not stop the world, unlike ReadMemStats
			h.peak = max(h.peak, s[0].Value.Uint64()+s[1].Value.Uint64())
			select {
			case <-h.quit:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) stop() uint64 {
	close(h.quit)
	h.wg.Wait()
	return h.peak
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's peak-RSS mark (VmHWM) of this process.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func peakRSSKB() (int, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n, err == nil
		}
	}
	return 0, false
}

// BenchmarkPrepareFile is BenchmarkPrepare24MP for any 6000×4000 JPEG, such
// as a progressive one: PHOTO_BENCH_FILE=/path/to/file.jpg.
func BenchmarkPrepareFile(b *testing.B) {
	name := os.Getenv("PHOTO_BENCH_FILE")
	if name == "" {
		b.Skip("PHOTO_BENCH_FILE not set")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkPrepare(b, data, Screen{W: 1920, H: 1080})
}
