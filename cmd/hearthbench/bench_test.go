package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/media/photo"
)

func TestNewResultRatio(t *testing.T) {
	tests := []struct {
		name          string
		value, anchor float64
		want          *float64
	}{
		{"smaller", 30, 240, ptr(0.125)},
		{"larger", 3, 2, ptr(1.5)},
		{"rounded to 4 digits", 1, 3, ptr(0.3333)},
		{"no anchor", 5, 0, nil},
		{"anchor NaN", 5, math.NaN(), nil},
		{"anchor Inf", 5, math.Inf(1), nil},
		{"value NaN", math.NaN(), 4, nil},
		{"zero value", 0, 4, ptr(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResult("x", tt.value, "ms", "a", tt.anchor, goal{})
			switch {
			case tt.want == nil && r.Ratio != nil:
				t.Errorf("newResult(%v, %v).Ratio = %v, want null", tt.value, tt.anchor, *r.Ratio)
			case tt.want != nil && (r.Ratio == nil || *r.Ratio != *tt.want):
				t.Errorf("newResult(%v, %v).Ratio = %v, want %v", tt.value, tt.anchor, r.Ratio, *tt.want)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("json.Marshal(%+v) = %v, want no error (no NaN or Inf in the output)", r, err)
			}
		})
	}
}

func ptr(f float64) *float64 { return &f }

func TestRound(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{
		{0, 0}, {123456, 123500}, {1.23456, 1.235}, {0.000123456, 0.0001235}, {-2.5e-3, -0.0025},
	} {
		if got := round(tt.in); got != tt.want {
			t.Errorf("round(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestGoalMet(t *testing.T) {
	tests := []struct {
		name string
		g    goal
		r    Result
		want string
	}{
		{"none", goal{}, newResult("x", 1, "", "", 0, goal{}), ""},
		{"under max", goal{Max: 60}, newResult("x", 50, "", "a", 500, goal{}), "yes"},
		{"over max", goal{Max: 60}, newResult("x", 70, "", "a", 700, goal{}), "no"},
		{"ratio ok", goal{Max: 60, MaxRatio: 0.125}, newResult("x", 50, "", "a", 500, goal{}), "yes"},
		{"ratio too high", goal{Max: 60, MaxRatio: 0.125}, newResult("x", 50, "", "a", 100, goal{}), "no"},
		{"ratio unknown", goal{MaxRatio: 0.25}, newResult("x", 50, "", "", 0, goal{}), "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.met(tt.r); got != tt.want {
				t.Errorf("%+v.met(value %v, ratio %v) = %q, want %q", tt.g, tt.r.Value, tt.r.Ratio, got, tt.want)
			}
		})
	}
}

// results.json carries exactly the six documented fields, ratio null
// without an anchor value; the table prints every row.
func TestWriteJSONAndTable(t *testing.T) {
	rows := []Result{
		newResult("carousel.rss", 40, "MiB", "chromium", 320, goal{Max: 60, MaxRatio: 0.125}),
		newResult("ingest.broker_accept_rate", 9000, "items/s", "", 0, goal{}),
	}
	path := filepath.Join(t.TempDir(), "out", "results.json")
	if err := writeJSON(path, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("results.json is not a JSON list: %v\n%s", err, b)
	}
	if len(got) != 2 {
		t.Fatalf("results.json has %d rows, want 2", len(got))
	}
	for _, k := range []string{"name", "value", "unit", "anchor", "anchor_value", "ratio"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("row %v lacks %q", got[0], k)
		}
	}
	if len(got[0]) != 6 {
		t.Errorf("row has %d fields, want 6: %v", len(got[0]), got[0])
	}
	if got[0]["ratio"] != 0.125 {
		t.Errorf("ratio = %v, want 0.125", got[0]["ratio"])
	}
	if got[1]["ratio"] != nil {
		t.Errorf("ratio without anchor = %v, want null", got[1]["ratio"])
	}

	var tb bytes.Buffer
	writeTable(&tb, rows)
	out := tb.String()
	for _, want := range []string{"carousel.rss", "0.125", "<= 60, ratio <= 0.125", "yes", "ingest.broker_accept_rate"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestParseStat(t *testing.T) {
	// A comm with spaces and parentheses, as Chromium's threads have.
	line := "4242 (chrome (gpu) x) S 4200 4100 4100 0 -1 4194560 1500 0 0 0 250 75 12 3 20 0 9 0 123456 " +
		"1000000 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := statInfo{PID: 4242, PPID: 4200, PGRP: 4100, Comm: "chrome (gpu) x", State: 'S',
		UTime: 250, STime: 75, CUTime: 12, CSTime: 3, StartTime: 123456}
	if s != want {
		t.Errorf("parseStat = %+v, want %+v", s, want)
	}
	if got := s.cpu(); got != 3400*time.Millisecond {
		t.Errorf("cpu() = %v, want 3.4s (340 ticks at %d Hz)", got, userHZ)
	}
	for _, bad := range []string{"", "12 no comm", "12 (x) S 1 2", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) = nil error, want one", bad)
		}
	}
}

func TestParseStatusAndSmaps(t *testing.T) {
	status := "Name:\thearthd\nVmPeak:\t  900000 kB\nVmRSS:\t  153600 kB\nRssAnon:\t   61440 kB\nRssFile:\t   92160 kB\nRssShmem:\t    1024 kB\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 150*mib || m.Anon != 60*mib || m.Shmem != mib {
		t.Errorf("parseStatus = %+v, want RSS 150 MiB, Anon 60 MiB, Shmem 1 MiB", m)
	}
	if _, err := parseStatus([]byte("Name:\tkthreadd\n")); err == nil {
		t.Error("parseStatus without VmRSS = nil error, want one")
	}
	rollup := "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0    [rollup]\nRss:   153600 kB\nPss:    80000 kB\nPss_Anon:  61000 kB\n"
	pss, err := parseSmapsRollup([]byte(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if pss != 80000*1024 {
		t.Errorf("parseSmapsRollup = %d, want %d", pss, 80000*1024)
	}
}

// A fake /proc: a browser (100, its own group) with a zygote, a renderer
// under it, a crash handler that left the tree but not the group, a zombie,
// and an unrelated process.
func TestTreeAndSums(t *testing.T) {
	root := t.TempDir()
	proc := func(pid, ppid, pgrp int, state string, ut, st, cut, cst, rssKB, anonKB, pssKB int) {
		dir := filepath.Join(root, itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := itoa(pid) + " (p" + itoa(pid) + ") " + state + " " + itoa(ppid) + " " + itoa(pgrp) +
			" 1 0 -1 0 0 0 0 0 " + itoa(ut) + " " + itoa(st) + " " + itoa(cut) + " " + itoa(cst) + " 20 0 1 0 1 1 1\n"
		write(t, filepath.Join(dir, "stat"), stat)
		write(t, filepath.Join(dir, "status"), "VmRSS:\t"+itoa(rssKB)+" kB\nRssAnon:\t"+itoa(anonKB)+" kB\n")
		write(t, filepath.Join(dir, "smaps_rollup"), "Pss:\t"+itoa(pssKB)+" kB\n")
	}
	proc(100, 1, 100, "S", 100, 50, 10, 0, 1000, 400, 600)
	proc(101, 100, 100, "S", 10, 10, 0, 0, 500, 100, 200)
	proc(102, 101, 100, "R", 300, 20, 0, 0, 2000, 1500, 1800)
	proc(103, 1, 100, "S", 1, 1, 0, 0, 100, 50, 60)            // crash handler: reparented, same group
	proc(104, 100, 100, "Z", 999, 999, 0, 0, 0, 0, 0)          // zombie: left out
	proc(200, 1, 200, "S", 5000, 5000, 0, 0, 9000, 9000, 9000) // unrelated
	write(t, filepath.Join(root, "self"), "")                  // non-numeric entries are skipped

	fs := procFS{root: root}
	ps, err := fs.tree(100)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, s := range ps {
		pids = append(pids, s.PID)
	}
	if want := []int{100, 101, 102, 103}; !equalInts(pids, want) {
		t.Errorf("tree(100) = %v, want %v", pids, want)
	}
	cpu, n, err := fs.treeCPU(100)
	if err != nil {
		t.Fatal(err)
	}
	// (100+50+10) + (10+10) + (300+20) + (1+1) = 502 ticks
	if n != 4 || cpu != 5020*time.Millisecond {
		t.Errorf("treeCPU(100) = %v over %d processes, want 5.02s over 4", cpu, n)
	}
	m, n, err := fs.treeMemory(100, true)
	if err != nil {
		t.Fatal(err)
	}
	want := memInfo{RSS: 3600 * 1024, Anon: 2050 * 1024, PSS: 2660 * 1024}
	if n != 4 || m != want {
		t.Errorf("treeMemory(100) = %+v over %d, want %+v over 4", m, n, want)
	}
	// A process that is not a group leader: its group is not swept in.
	ps, _ = fs.tree(101)
	if len(ps) != 2 {
		t.Errorf("tree(101) = %d processes, want 2 (101 and 102)", len(ps))
	}
	if _, _, err := fs.treeMemory(999, false); err == nil {
		t.Error("treeMemory of a missing process = nil error, want one")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An XWD file as xwd writes it for a 24-bit TrueColor screen, 32 bits per
// pixel, LSBFirst pixels.
func TestDecodeXWD(t *testing.T) {
	const w, h = 3, 2
	name := "xwdump\x00"
	hsize := 100 + len(name)
	hdr := []uint32{uint32(hsize), 7, 2, 24, w, h, 0, 0 /* LSBFirst */, 32, 0, 32, 32, w * 4, 4,
		0xff0000, 0xff00, 0xff, 8, 256, 1, w, h, 0, 0, 0}
	var b bytes.Buffer
	for _, v := range hdr {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	b.WriteString(name)
	b.Write(make([]byte, 12)) // one colormap entry, ignored
	pix := []uint32{0x008080, 0xe6781e, 0, 0xffffff, 0x010203, 0x0000ff}
	for _, p := range pix {
		_ = binary.Write(&b, binary.LittleEndian, p)
	}
	img, err := decodeXWD(b.Bytes(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("decodeXWD size = %v, want %dx%d", img.Bounds(), w, h)
	}
	checks := map[[2]int]color.RGBA{
		{0, 0}: {0, 128, 128, 255}, {1, 0}: {230, 120, 30, 255}, {0, 1}: {255, 255, 255, 255},
		{1, 1}: {1, 2, 3, 255}, {2, 1}: {0, 0, 255, 255},
	}
	for xy, want := range checks {
		if got := img.RGBAAt(xy[0], xy[1]); got != want {
			t.Errorf("pixel %v = %v, want %v", xy, got, want)
		}
	}
	small, err := decodeXWD(b.Bytes(), 2) // every 2nd pixel of every 2nd row
	if err != nil {
		t.Fatal(err)
	}
	if small.Bounds().Dx() != 2 || small.Bounds().Dy() != 1 {
		t.Errorf("decodeXWD step 2 size = %v, want 2x1", small.Bounds())
	}
	if got, want := small.RGBAAt(1, 0), (color.RGBA{0, 0, 0, 255}); got != want {
		t.Errorf("decodeXWD step 2 pixel (1,0) = %v, want %v (pixel (2,0))", got, want)
	}
	if _, err := decodeXWD(b.Bytes()[:b.Len()-1], 1); err == nil {
		t.Error("decodeXWD of a truncated file = nil error, want one")
	}
	if _, err := decodeXWD([]byte("short"), 1); err == nil {
		t.Error("decodeXWD of garbage = nil error, want one")
	}
}

// No point of a linear crossfade between two palette colours, or from black
// or white (an empty screen, a browser's first frame), comes within
// colourTol (plus some of the photos' own grain) of a third colour, so the
// screen is never mistaken for another photo mid-fade.
func TestPaletteCrossfades(t *testing.T) {
	const margin = colourTol + 8
	ends := append([]color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}}, palette...)
	for i, a := range ends {
		for j, b := range ends {
			if i == j || j < 2 {
				continue
			}
			for k, c := range palette {
				if k+2 == i || k+2 == j {
					continue
				}
				for step := 0; step <= 100; step++ {
					f := float64(step) / 100
					mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
					m := color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
					if near(m.R, c.R, margin) && near(m.G, c.G, margin) && near(m.B, c.B, margin) {
						t.Errorf("fade %v->%v at %.2f = %v is within %d of palette colour %d %v", a, b, f, m, margin, k, c)
						break
					}
				}
			}
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0}, {[]time.Duration{3}, 3}, {[]time.Duration{5, 1, 3}, 3}, {[]time.Duration{4, 1, 3, 2}, 2},
	} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A fake /proc through a window: a browser (300) whose thread 302 exits
// and whose renderer (310) starts after the first sample.
func TestTally(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "uptime"), "1000.00 1900.00\n")
	thread := func(pid, ppid, tid int, start uint64, ns, runs int) {
		dir := filepath.Join(root, itoa(pid))
		tdir := filepath.Join(dir, "task", itoa(tid))
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := func(id int) string {
			return itoa(id) + " (p) S " + itoa(ppid) + " " + itoa(pid) + " 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 " +
				strconv.FormatUint(start, 10) + " 1 1\n"
		}
		write(t, filepath.Join(dir, "stat"), stat(pid))
		write(t, filepath.Join(tdir, "stat"), stat(tid))
		write(t, filepath.Join(tdir, "schedstat"), itoa(ns)+" 123 "+itoa(runs)+"\n")
	}
	thread(300, 1, 300, 50, 1_000_000, 10)
	thread(300, 1, 301, 50, 2_000_000, 20)
	thread(300, 1, 302, 50, 5_000_000, 50)
	thread(320, 1, 320, 50, 9_000_000, 90) // not in the tree
	tl, err := procFS{root: root}.newTally(300)
	if err != nil {
		t.Fatal(err)
	}
	thread(300, 1, 300, 50, 1_500_000, 15)
	thread(300, 1, 302, 50, 5_100_000, 52)
	if err := tl.sample(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "300", "task", "302")); err != nil {
		t.Fatal(err)
	}
	thread(300, 1, 301, 50, 2_200_000, 22)
	thread(310, 300, 310, 100_001, 700_000, 7) // started in the window (uptime 1000 s = 100000 ticks)
	thread(300, 1, 303, 10, 4_000_000, 40)     // old, yet missed before: left out
	if err := tl.sample(); err != nil {
		t.Fatal(err)
	}
	// 300: 0.5 ms, 5; 301: 0.2 ms, 2; 302: 0.1 ms, 2 (up to its last sample); 310: 0.7 ms, 7.
	if got, want := tl.used(), (usage{cpu: 1500 * time.Microsecond, runs: 16}); got != want {
		t.Errorf("used() = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "12 34", "x 1 2", "1 2 y"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseSchedstat(%q) = nil error, want one", bad)
		}
	}
	if _, err := (procFS{root: root}).newTally(999); err == nil {
		t.Error("newTally of a missing process = nil error, want one")
	}
}

// The photo peak rows are about photos the device accepts: each must stay
// inside media/photo's limits, or the device refuses it before decoding.
func TestBigPhotosWithinLimits(t *testing.T) {
	lim := photo.DefaultLimits()
	for _, bp := range bigPhotos {
		if px := int64(bp.w) * int64(bp.h); px > lim.MaxPixels || max(bp.w, bp.h) > lim.MaxSide {
			t.Errorf("%s: %dx%d (%d px), want at most %d px and %d a side", bp.name, bp.w, bp.h, px, lim.MaxPixels, lim.MaxSide)
		}
		if bp.colour < 0 || bp.colour >= len(palette) {
			t.Errorf("%s: colour %d not in the palette", bp.name, bp.colour)
		}
	}
}
