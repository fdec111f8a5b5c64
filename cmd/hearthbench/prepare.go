package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-home/hearth/media/photo"
)

// childPrepareFlag makes hearthbench a child that runs photo.Prepare once on
// one core and prints a prepareChild as JSON. It is how the parent gets a
// clean process to time and to read the peak RSS of.
const childPrepareFlag = "prepare-child"

// prepareChild is what the child reports.
type prepareChild struct {
	Millis      float64 `json:"ms"`
	PeakHeap    uint64  `json:"peak_heap"` // 0 unless sampled
	W           int     `json:"w"`
	H           int     `json:"h"`
	Bytes       int     `json:"bytes"`
	Accelerated bool    `json:"accelerated"`
	// RSS just before Prepare (file read, after a GC) and the peak RSS
	// (VmHWM) after it, in bytes: their difference is what Prepare added.
	RSSBefore uint64 `json:"rss_before"`
	HWM       uint64 `json:"hwm"`
}

// runPrepareChild is the child's whole life: GOMAXPROCS(1) (the parent
// also pins it to one CPU with taskset), read the file, Prepare it once.
// With sampleHeap a goroutine reads the live heap every millisecond (and
// so slows Prepare a little: timing runs leave it off).
func runPrepareChild(file string, w, h int, sampleHeap bool, out io.Writer) error {
	runtime.GOMAXPROCS(1)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	runtime.GC()
	before, _, err := selfMemory()
	if err != nil {
		return err
	}
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	if sampleHeap {
		// Heap objects, live or not yet collected: what the Go heap holds.
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		go func() {
			defer close(sampled)
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				metrics.Read(s)
				peak = max(peak, s[0].Value.Uint64())
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	} else {
		close(sampled)
	}
	start := time.Now()
	res, err := photo.Prepare(data, photo.Screen{W: w, H: h}, photo.DefaultLimits())
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		return err
	}
	_, hwm, err := selfMemory()
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(prepareChild{
		Millis: float64(elapsed.Microseconds()) / 1000, PeakHeap: peak, W: res.W, H: res.H, Bytes: len(res.JPEG),
		Accelerated: photo.Accelerated, RSSBefore: before, HWM: hwm,
	})
}

// selfMemory reads this process's RSS and peak RSS (VmHWM).
func selfMemory() (rss, hwm uint64, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	kv, err := parseKBFields(b, "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, err
	}
	return kv["VmRSS"], kv["VmHWM"], nil
}

// prepareRun is one timed run of a child or of the anchor pipeline.
type prepareRun struct {
	wall    time.Duration
	peakRSS uint64 // bytes; for a pipeline, the sum of its processes' peaks
	child   prepareChild
}

// pinned prefixes a command with taskset -c 0 when taskset exists.
func pinned(name string, args ...string) *exec.Cmd {
	if ts, err := exec.LookPath("taskset"); err == nil {
		return exec.Command(ts, append([]string{"-c", "0", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// runPrepare runs the child once.
func runPrepare(ctx context.Context, ps *procs, file string, w, h int, sampleHeap bool) (prepareRun, error) {
	self, err := os.Executable()
	if err != nil {
		return prepareRun{}, err
	}
	args := []string{"-" + childPrepareFlag, file, "-screen", fmt.Sprintf("%dx%d", w, h)}
	if sampleHeap {
		args = append(args, "-sample-heap")
	}
	cmd := pinned(self, args...)
	cmd.Env = envWith("GOMAXPROCS=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	p, err := ps.start("prepare child", cmd, nil)
	if err != nil {
		return prepareRun{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.stop(time.Second)
		return prepareRun{}, ctx.Err()
	}
	if p.err != nil {
		return prepareRun{}, fmt.Errorf("prepare child: %v\n%s", p.err, p.tail)
	}
	var r prepareRun
	if err := json.Unmarshal(out.Bytes(), &r.child); err != nil {
		return r, fmt.Errorf("prepare child output %q: %w", truncate(out.String(), 200), err)
	}
	r.wall = time.Duration(r.child.Millis * float64(time.Millisecond))
	// The child's own VmHWM, not wait4's ru_maxrss: Go starts children with
	// CLONE_VM|CLONE_VFORK, and exec records the parent's (shared) memory
	// high-water mark in the child's ru_maxrss.
	r.peakRSS = r.child.HWM
	return r, nil
}

// timeBin is GNU time, which reports a command's peak RSS (%M) from a
// child it fork()s itself, so the number is the command's own.
const timeBin = "/usr/bin/time"

// timed runs a pinned command under GNU time, writing its peak RSS in kB
// to the returned file.
func timed(dir, name string, args ...string) (*exec.Cmd, string, error) {
	f, err := os.CreateTemp(dir, "maxrss-")
	if err != nil {
		return nil, "", err
	}
	f.Close()
	c := pinned(name, args...)
	c.Args = append([]string{timeBin, "-f", "%M", "-o", f.Name()}, c.Args...)
	c.Path = timeBin
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return c, f.Name(), nil
}

func readKB(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q: %w", timeBin, truncate(string(b), 100), err)
	}
	return v * 1024, nil
}

// runAnchorPipeline runs djpeg -scale S FILE | convert - -resize WxH jpg:-,
// both pinned to CPU 0 and each under GNU time, and times it from the start
// of djpeg to the end of convert. Its peak RSS is the sum of the two
// processes' peaks (they run at the same time).
func runAnchorPipeline(ctx context.Context, dir, file, scale string, w, h int) (prepareRun, error) {
	djpeg, rss1, err := timed(dir, "djpeg", "-scale", scale, file)
	if err != nil {
		return prepareRun{}, err
	}
	defer os.Remove(rss1)
	convert, rss2, err := timed(dir, "/usr/bin/convert", "-", "-resize", fmt.Sprintf("%dx%d", w, h), "jpg:-")
	if err != nil {
		return prepareRun{}, err
	}
	defer os.Remove(rss2)
	// One core for ImageMagick as well: no OpenMP threads fighting over it.
	convert.Env = envWith("MAGICK_THREAD_LIMIT=1", "OMP_NUM_THREADS=1")
	pr, pw, err := os.Pipe()
	if err != nil {
		return prepareRun{}, err
	}
	var errb bytes.Buffer
	djpeg.Stdout, djpeg.Stderr = pw, &errb
	convert.Stdin, convert.Stdout, convert.Stderr = pr, io.Discard, &errb
	start := time.Now()
	if err := djpeg.Start(); err != nil {
		pr.Close()
		pw.Close()
		return prepareRun{}, fmt.Errorf("djpeg: %w", err)
	}
	if err := convert.Start(); err != nil {
		pr.Close()
		pw.Close()
		_ = djpeg.Process.Kill()
		_ = djpeg.Wait()
		return prepareRun{}, fmt.Errorf("convert: %w", err)
	}
	pr.Close()
	pw.Close()
	stop := context.AfterFunc(ctx, func() { _ = djpeg.Process.Kill(); _ = convert.Process.Kill() })
	defer stop()
	e1 := djpeg.Wait()
	e2 := convert.Wait()
	wall := time.Since(start)
	if err := errors.Join(e1, e2); err != nil {
		return prepareRun{}, fmt.Errorf("djpeg | convert: %w: %s", err, truncate(errb.String(), 400))
	}
	m1, err1 := readKB(rss1)
	m2, err2 := readKB(rss2)
	if err := errors.Join(err1, err2); err != nil {
		return prepareRun{}, err
	}
	return prepareRun{wall: wall, peakRSS: m1 + m2}, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// prepare is section 4: a 24 MP JPEG to a screen copy on one core.
func (b *bench) prepare(ctx context.Context) ([]Result, error) {
	file := filepath.Join(b.work, "24mp.jpg")
	if err := os.WriteFile(file, photo.GenerateTestJPEG(6000, 4000, 90), 0o644); err != nil {
		return nil, err
	}
	var times, a14, a38 []time.Duration
	var peakRSS, growth, anchorRSS uint64
	var child prepareChild
	for range b.p.prepareReps {
		r, err := runPrepare(ctx, b.ps, file, screenW, screenH, false)
		if err != nil {
			return nil, err
		}
		times = append(times, r.wall)
		peakRSS = max(peakRSS, r.peakRSS)
		growth = max(growth, r.child.HWM-min(r.child.HWM, r.child.RSSBefore))
		child = r.child
		for _, s := range []struct {
			scale string
			into  *[]time.Duration
		}{{"1/4", &a14}, {"3/8", &a38}} {
			a, err := runAnchorPipeline(ctx, b.work, file, s.scale, screenW, screenH)
			if err != nil {
				return nil, err
			}
			*s.into = append(*s.into, a.wall)
			if s.scale == "1/4" {
				anchorRSS = max(anchorRSS, a.peakRSS)
			}
		}
	}
	heap, err := runPrepare(ctx, b.ps, file, screenW, screenH, true)
	if err != nil {
		return nil, err
	}
	fi, _ := os.Stat(file)
	b.log.Info("prepare", "file_bytes", fi.Size(), "times", times, "anchor_1/4", a14, "anchor_3/8", a38,
		"libjpeg_turbo", child.Accelerated, "rss_before_MiB", child.RSSBefore/mib,
		"out", fmt.Sprintf("%dx%d, %d bytes", child.W, child.H, child.Bytes))
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	anchor := fmt.Sprintf("djpeg -scale 1/4 | convert -resize %dx%d, 1 core", screenW, screenH)
	anchorRSSName := "peak RSS of " + anchor
	return []Result{
		newResult("prepare_24mp.time", ms(median(times)), "ms", anchor, ms(median(a14)), goal{Max: 250}),
		newResult("prepare_24mp.time_vs_no_upscale", ms(median(times)), "ms",
			fmt.Sprintf("djpeg -scale 3/8 | convert -resize %dx%d, 1 core", screenW, screenH), ms(median(a38)), goal{Max: 250}),
		newResult("prepare_24mp.peak_go_heap", float64(heap.child.PeakHeap)/mib, "MiB", anchorRSSName, float64(anchorRSS)/mib, goal{Max: 64}),
		newResult("prepare_24mp.peak_rss_growth", float64(growth)/mib, "MiB", anchorRSSName, float64(anchorRSS)/mib, goal{Max: 64}),
		newResult("prepare_24mp.peak_rss_process", float64(peakRSS)/mib, "MiB", anchorRSSName, float64(anchorRSS)/mib, goal{}),
	}, nil
}
