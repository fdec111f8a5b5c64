package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearth-home/hearth/cmd/internal/chromium"
)

// params sizes a run; -quick shrinks it to a smoke run.
type params struct {
	dwell, fade    time.Duration
	carouselSlides int
	transitions    int // crossfades watched to learn the phase
	launchItems    int
	launchPhotos   int
	launchReps     int
	prepareReps    int
	ingestItems    int
	boltFor        time.Duration
	callReps       int           // calls per caller, and loopback runs per baseline
	callCPUFor     time.Duration // CPU measured over this much of an active call
	fleetDevices   int           // simulated devices on one broker
	statusRuns     int           // runs of each status measurement
	webappRuns     int           // runs of each web app measurement (-webapp-runs)
}

func defaultParams(quick bool) params {
	p := params{
		dwell: 6 * time.Second, fade: 1200 * time.Millisecond, // ui.DefaultFade
		carouselSlides: 4, transitions: 2,
		launchItems: 1000, launchPhotos: 40, launchReps: 3,
		prepareReps: 3, ingestItems: 10000, boltFor: 2 * time.Second,
		callReps: 10, callCPUFor: 20 * time.Second,
		fleetDevices: 10000, statusRuns: 20, webappRuns: 5,
	}
	if quick {
		p.carouselSlides = 2
		p.launchItems, p.launchPhotos, p.launchReps = 200, 10, 1
		p.prepareReps, p.ingestItems, p.boltFor = 1, 1000, time.Second
		p.callReps, p.callCPUFor = 3, 8*time.Second
		p.fleetDevices = 1000
		p.statusRuns = 5
	}
	return p
}

const screenW, screenH = 1920, 1080

// bench holds what the sections share.
type bench struct {
	log     *slog.Logger
	ps      *procs
	p       params
	bin     string
	work    string
	outDir  string
	broker  string
	hx, cx  *xserver // hearthd's and Chromium's screens
	kiosk   *kioskServer
	profile string // Chromium's user data dir (a short temporary path), kept across its runs (as a kiosk's would be)

	brokerWS string // the broker's MQTT-over-WebSockets URL, for the web caller
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hearthbench", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "`dir` with hearthd and hearthctl (make build)")
	out := fs.String("out", "bench/out/results.json", "results `file` (JSON); screenshots go beside it")
	quick := fs.Bool("quick", false, "a short smoke run: fewer items, one repetition")
	workFlag := fs.String("work", "", "make the scratch directory in `dir` (default: beside -out, on the same disk)")
	keep := fs.Bool("keep", false, "keep the scratch directory")
	verbose := fs.Bool("v", false, "log more")
	only := fs.String("only", "", "run only these sections, comma separated: carousel,launch,photopeak,prepare,ingest,calls,fleet,status,webapp")
	webappRuns := fs.Int("webapp-runs", 5, "runs of each web app measurement (medians are reported)")
	// The child mode of the prepare section; not for people.
	child := fs.String(childPrepareFlag, "", "internal: run photo.Prepare on `file` once and print JSON")
	childScreen := fs.String("screen", fmt.Sprintf("%dx%d", screenW, screenH), "internal: screen size for -"+childPrepareFlag)
	sampleHeap := fs.Bool("sample-heap", false, "internal: sample the heap in -"+childPrepareFlag)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *child != "" {
		var w, h int
		if _, err := fmt.Sscanf(*childScreen, "%dx%d", &w, &h); err != nil {
			return fmt.Errorf("-screen %q: %w", *childScreen, err)
		}
		return runPrepareChild(*child, w, h, *sampleHeap, os.Stdout)
	}

	lvl := slog.LevelInfo
	if *verbose {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	b := &bench{log: log, ps: newProcs(log), p: defaultParams(*quick), outDir: filepath.Dir(*out)}
	if *webappRuns < 1 {
		return fmt.Errorf("-webapp-runs %d: want at least 1", *webappRuns)
	}
	b.p.webappRuns = *webappRuns
	defer b.ps.killAll()
	var err error
	if b.bin, err = filepath.Abs(*bin); err != nil {
		return err
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return err
	}
	parent := *workFlag
	if parent == "" {
		parent = b.outDir
	}
	if b.work, err = os.MkdirTemp(parent, "work-"); err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(b.work)
	} else {
		log.Info("scratch directory kept", "dir", b.work)
	}

	sections := []section{
		{"carousel", b.carousel},
		{"launch", b.launch},
		{"photopeak", b.photoPeak},
		{"prepare", b.prepare},
		{"ingest", b.ingest},
		{"calls", b.calls},
		{"fleet", b.fleet},
		{"status", b.status},
		{"webapp", b.webapp},
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	for name := range want {
		if !slices.ContainsFunc(sections, func(s section) bool { return s.name == name }) {
			return fmt.Errorf("-only: no section %q (carousel, launch, photopeak, prepare, ingest, calls, fleet, status, webapp)", name)
		}
	}
	if err := b.checkTools(want); err != nil {
		return err
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		log.Info("starting", "quick", *quick, "load_average", strings.Join(strings.Fields(string(load))[:3], " "),
			"note", "other work on this machine shows up in CPU and timing numbers")
	}
	started := time.Now()
	defer b.teardown()
	if err := b.setup(ctx, want); err != nil {
		return err
	}

	var rows []Result
	var failed []string
	for _, s := range sections {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		t := time.Now()
		log.Info("section", "name", s.name)
		r, err := s.fn(ctx)
		rows = append(rows, r...)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Error("section failed", "name", s.name, "err", err)
			failed = append(failed, s.name)
		}
		log.Info("section done", "name", s.name, "took", time.Since(t).Round(100*time.Millisecond))
	}
	b.ps.killAll()
	if err := writeJSON(*out, rows); err != nil {
		return err
	}
	fmt.Println()
	writeTable(os.Stdout, rows)
	fmt.Printf("\nwritten to %s (screenshots beside it) in %v\n", *out, time.Since(started).Round(time.Second))
	if len(failed) > 0 {
		return fmt.Errorf("sections failed: %s (see the log above)", strings.Join(failed, ", "))
	}
	return nil
}

// section is one part of the bench, run in this order.
type section struct {
	name string
	fn   func(context.Context) ([]Result, error)
}

// checkTools fails early, naming everything missing.
func (b *bench) checkTools(want map[string]bool) error {
	on := func(s string) bool { return len(want) == 0 || want[s] }
	var missing []string
	need := func(path string) {
		if _, err := exec.LookPath(path); err != nil && !slices.Contains(missing, path) {
			missing = append(missing, path)
		}
	}
	if on("carousel") || on("launch") || on("photopeak") || on("ingest") {
		need(filepath.Join(b.bin, "hearthd"))
		need("mosquitto")
	}
	if on("carousel") || on("launch") || on("photopeak") {
		need("Xvfb")
		if _, err := chromium.Binary(); err != nil {
			missing = append(missing, "chromium")
		}
	}
	if on("calls") || on("webapp") {
		need(filepath.Join(b.bin, "hearthd"))
		need(filepath.Join(b.bin, "hearthctl"))
		need("mosquitto")
		if on("calls") {
			need("ffmpeg")
		}
		if _, err := chromium.Binary(); err != nil && !slices.Contains(missing, "chromium") {
			missing = append(missing, "chromium")
		}
	}
	if on("fleet") {
		need(filepath.Join(b.bin, "hearthctl"))
		need("mosquitto")
		need(timeBin)
	}
	if on("status") {
		need(filepath.Join(b.bin, "hearthd"))
		need("mosquitto")
		need("mosquitto_sub")
	}
	if on("prepare") {
		need("djpeg")
		need("/usr/bin/convert")
		need(timeBin) // Debian package "time"
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing: %s (make build; .ci/deps.sh bench)", strings.Join(missing, ", "))
	}
	return nil
}

// setup starts what several sections share: the broker, the two screens
// and the kiosk page server.
func (b *bench) setup(ctx context.Context, want map[string]bool) error {
	on := func(s string) bool { return len(want) == 0 || want[s] }
	var err error
	if on("carousel") || on("launch") || on("photopeak") || on("ingest") || on("calls") || on("webapp") {
		if b.broker, b.brokerWS, _, err = startBroker(ctx, b.ps, filepath.Join(b.work, "broker")); err != nil {
			return err
		}
	}
	if on("carousel") || on("launch") || on("photopeak") {
		fbParent := "/dev/shm"
		if st, err := os.Stat(fbParent); err != nil || !st.IsDir() {
			fbParent = b.work
		}
		if b.hx, err = startXvfb(b.ps, "Xvfb for hearthd", screenW, screenH, fbParent); err != nil {
			return err
		}
		if b.cx, err = startXvfb(b.ps, "Xvfb for chromium", screenW, screenH, fbParent); err != nil {
			return err
		}
		if b.kiosk, err = startKioskServer(); err != nil {
			return err
		}
		// Chromium puts its singleton socket under the profile (and its
		// TMPDIR): beside a deep -out the path passes the 108 bytes of a
		// socket address and Chromium aborts ("Socket path too long").
		if b.profile, err = os.MkdirTemp("", "hb-"); err != nil {
			return err
		}
	}
	return nil
}

// teardown stops the shared parts (the processes among them are also
// killed by procs.killAll; this removes the framebuffer files too).
func (b *bench) teardown() {
	for _, x := range []*xserver{b.hx, b.cx} {
		if x != nil {
			x.close()
		}
	}
	if b.kiosk != nil {
		b.kiosk.close()
	}
	if b.profile != "" {
		os.RemoveAll(b.profile)
	}
}

func (b *bench) hearthdOpts(device string) hearthdOpts {
	return hearthdOpts{bin: b.bin, broker: b.broker, device: device, data: filepath.Join(b.work, device),
		dwell: b.p.dwell, w: screenW, h: screenH}
}

func (b *bench) hearthdSide(o hearthdOpts) side {
	return side{name: "hearthd", x: b.hx, start: func() (*proc, error) {
		o.display = b.hx.display
		d, err := startHearthd(b.ps, o)
		if err != nil {
			return nil, err
		}
		return d.proc, nil
	}}
}

func (b *bench) chromiumSide(url string) side {
	return side{name: "chromium", x: b.cx, start: func() (*proc, error) {
		return startChromium(b.ps, b.cx, b.profile, url)
	}}
}

const mib = 1 << 20
