package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// side is one of the two screens compared: hearthd or the Chromium kiosk,
// each on its own Xvfb of the same size.
type side struct {
	name  string
	x     *xserver
	start func() (*proc, error)
}

// carouselStats is what one side cost while its carousel ran.
type carouselStats struct {
	procs   int           // processes in the tree at the end
	maxRSS  uint64        // highest tree RSS seen while measuring
	end     memInfo       // tree memory (with PSS) at the end
	between float64       // CPU, fraction of a core, summed over the windows between crossfades
	wakeups float64       // runs per second (see usage) over the same windows
	cycle   float64       // CPU, fraction of a core, over a full carousel cycle
	xvfb    float64       // the X server's CPU over the same full cycle
	period  time.Duration // observed time from one crossfade to the next
	quiet   time.Duration // total length of the windows between crossfades
	fade    time.Duration // longest crossfade seen on screen (its visible part)
}

// carouselPlan is the timing both sides run with.
type carouselPlan struct {
	slides      int           // photos in the carousel, all distinct palette colours
	dwell, fade time.Duration // as configured on both sides
	transitions int           // crossfades to watch before measuring, to learn the period
}

// fadeWatch follows a screen through its crossfades by screenshots.
type fadeWatch struct {
	x          *xserver
	log        *slog.Logger
	cur        int       // palette index on screen; -1 before the first photo
	seen       int       // what the previous grab showed, before the first photo
	lastSteady time.Time // when the last grab showing cur was taken
	paused     bool      // the bench stopped looking since lastSteady
	inFade     bool
	starts     []fadeStart
	longest    time.Duration
	recent     []string // the last grabs, for error messages
}

// fadeStart is when a crossfade started. It is sure when the bench was
// looking at the time; after a pause it only says the fade started during
// the pause.
type fadeStart struct {
	at   time.Time
	sure bool
}

func newFadeWatch(x *xserver, log *slog.Logger) *fadeWatch {
	return &fadeWatch{x: x, log: log, cur: -1, seen: -1}
}

// pause tells the watch that the bench looks away for a while.
func (w *fadeWatch) pause() { w.paused = true }

// grab takes one screenshot and updates the state. A crossfade starts
// between the last grab that showed the old photo and the first that did
// not; it ends at the first grab showing another photo.
func (w *fadeWatch) grab(ctx context.Context) error {
	s, err := w.x.timedShot(ctx)
	if err != nil {
		return err
	}
	at := s.start.Add(s.end.Sub(s.start) / 2) // the grab happened about here
	c := showing(s.img, palette)
	w.recent = append(w.recent, fmt.Sprintf("%s:%d", at.Format("05.000"), c))
	if len(w.recent) > 40 {
		w.recent = w.recent[1:]
	}
	switch {
	case w.cur < 0 && c >= 0 && c == w.seen: // the first photo, on two grabs in a row
		w.cur, w.lastSteady = c, at
	case w.cur < 0:
		w.seen = c
	case c == w.cur:
		w.lastSteady = at
	case !w.inFade:
		w.starts = append(w.starts, fadeStart{at: w.lastSteady.Add(at.Sub(w.lastSteady) / 2), sure: !w.paused})
		w.inFade = true
		w.log.Debug("crossfade", "display", w.x.display, "from", w.cur, "at", w.last().at.Format("15:04:05.000"), "sure", w.last().sure)
		if c >= 0 { // faster than one grab: already on the next photo
			w.cur, w.lastSteady, w.inFade = c, at, false
		}
	case c >= 0: // arrived on the next photo
		if last := w.starts[len(w.starts)-1]; last.sure {
			w.longest = max(w.longest, at.Sub(last.at))
		}
		w.cur, w.lastSteady, w.inFade = c, at, false
	}
	w.paused = false
	return nil
}

// until grabs until done holds, p exits, ctx ends or the deadline passes.
func (w *fadeWatch) until(ctx context.Context, p *proc, deadline time.Time, what string, done func() bool) error {
	for !done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !p.running() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: timed out waiting for %s (saw %d crossfades; last grabs, second:photo: %s)\n%s",
				p.name, what, len(w.starts), strings.Join(w.recent, " "), p.tail)
		}
		if err := w.grab(ctx); err != nil {
			return err
		}
	}
	return nil
}

// period is the mean time between the crossfades whose start is sure
// (every crossfade is counted, sure or not, so none is skipped).
func (w *fadeWatch) period() time.Duration {
	first, last := -1, -1
	for i, s := range w.starts {
		if s.sure {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last == first {
		return 0
	}
	return w.starts[last].at.Sub(w.starts[first].at) / time.Duration(last-first)
}

// last is the start of the latest crossfade.
func (w *fadeWatch) last() fadeStart { return w.starts[len(w.starts)-1] }

// cpuMeter follows a side's CPU (its process tree, and its X server) over
// a window and keeps the highest RSS it sees.
type cpuMeter struct {
	p        *proc
	x        *xserver
	maxRSS   uint64
	side, xs *tally
	from     time.Time
}

// begin starts a window.
func (m *cpuMeter) begin() error {
	m.from = time.Now()
	var err error
	if m.side, err = sysProc.newTally(m.p.pid()); err != nil {
		return fmt.Errorf("%s: %w", m.p.name, err)
	}
	if m.xs, err = sysProc.newTally(m.x.proc.pid()); err != nil {
		return fmt.Errorf("the X server %s: %w", m.x.display, err)
	}
	return m.readRSS()
}

// sample reads both trees again inside the window, so processes and
// threads that come and go are counted, and the RSS.
func (m *cpuMeter) sample() error {
	if err := m.side.sample(); err != nil {
		return err
	}
	if err := m.xs.sample(); err != nil {
		return err
	}
	return m.readRSS()
}

// end samples a last time and returns what the side and its X server used
// since begin, and the window's length.
func (m *cpuMeter) end() (side, x usage, wall time.Duration, err error) {
	if err := m.sample(); err != nil {
		return side, x, 0, err
	}
	return m.side.used(), m.xs.used(), time.Since(m.from), nil
}

func (m *cpuMeter) readRSS() error {
	mem, _, err := sysProc.treeMemory(m.p.pid(), false)
	if err != nil {
		return fmt.Errorf("%s: %w", m.p.name, err)
	}
	m.maxRSS = max(m.maxRSS, mem.RSS)
	return nil
}

// sampleUntil samples the meter every second until t.
func (m *cpuMeter) sampleUntil(ctx context.Context, t time.Time) error {
	for next := time.Now().Add(time.Second); next.Before(t); next = next.Add(time.Second) {
		if err := sleepUntil(ctx, next); err != nil {
			return err
		}
		if err := m.sample(); err != nil {
			return err
		}
	}
	return sleepUntil(ctx, t)
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Margins of the quiet windows: they start this long after a crossfade
// has ended and end this long before the next one is due. A crossfade is
// seen a little after it starts (the first steps of an ease-in change few
// pixels), hence the larger margin before.
const (
	afterFade  = 800 * time.Millisecond
	beforeNext = 800 * time.Millisecond
)

// measureCarousel starts a side and measures it in three phases:
//
//  1. screenshots until a photo shows and through a few crossfades, for
//     the period;
//  2. for each slide, screenshots around the crossfade only, then /proc
//     once a second through the quiet window after it (no screenshots
//     inside);
//  3. a full cycle (slides × period) read from /proc with no screenshots at
//     all, so the X server's CPU is the side's own.
func measureCarousel(ctx context.Context, log *slog.Logger, sd side, plan carouselPlan, shotPath string) (carouselStats, error) {
	var st carouselStats
	p, err := sd.start()
	if err != nil {
		return st, err
	}
	defer func() { _ = p.stop(15 * time.Second) }()
	w := newFadeWatch(sd.x, log)
	m := &cpuMeter{p: p, x: sd.x}

	// 1. The first photo and a round of crossfades: every slide has been
	// on screen once before the quiet windows, so they do not hold the
	// receipt hearthd sends 2 s after an item is first shown (a store
	// write and a report upward, once per item; a kiosk page has none).
	watch := max(plan.transitions, plan.slides)
	limit := time.Now().Add(45*time.Second + time.Duration(watch+1)*(plan.dwell+plan.fade))
	err = w.until(ctx, p, limit, fmt.Sprintf("%d crossfades", watch), func() bool {
		return len(w.starts) >= watch && !w.inFade
	})
	if err != nil {
		return st, err
	}
	if per := w.period(); per < plan.fade || per > 3*plan.dwell {
		return st, fmt.Errorf("%s: crossfades %v apart, want about %v: is the carousel running?", sd.name, per, plan.dwell)
	}

	// 2. The quiet windows, one per slide. The bench looks away inside
	// them and comes back a little before the next crossfade is due; a
	// crossfade that started early, while it was away, gives no window.
	settle := max(plan.fade, w.longest) + afterFade
	var quiet usage
	var qwall time.Duration
	for measured, tries := 0, 0; measured < plan.slides; tries++ {
		if tries == plan.slides+3 {
			return st, fmt.Errorf("%s: %d of %d crossfades started earlier than due; the carousel is irregular (%v apart on average)",
				sd.name, tries-measured, tries, w.period())
		}
		n := len(w.starts)
		due := w.last().at.Add(w.period())
		if err := sleepUntil(ctx, due.Add(-beforeNext)); err != nil {
			return st, err
		}
		w.pause()
		err := w.until(ctx, p, due.Add(3*time.Second+plan.fade), "the next crossfade", func() bool {
			return len(w.starts) > n && !w.inFade
		})
		if err != nil {
			return st, err
		}
		t := w.last()
		if !t.sure {
			continue
		}
		from, to := t.at.Add(settle), t.at.Add(w.period()-beforeNext)
		if to.Sub(from) < time.Second {
			return st, fmt.Errorf("%s: a period of %v leaves no quiet window after a %v crossfade", sd.name, w.period(), settle)
		}
		if err := sleepUntil(ctx, from); err != nil {
			return st, err
		}
		w.pause()
		if err := m.begin(); err != nil {
			return st, err
		}
		if err := m.sampleUntil(ctx, to); err != nil {
			return st, err
		}
		u, _, wall, err := m.end()
		if err != nil {
			return st, err
		}
		quiet.cpu += u.cpu
		quiet.runs += u.runs
		qwall += wall
		measured++
		log.Debug("quiet window", "side", sd.name, "fade_seen_at", t.at.Format("15:04:05.000"),
			"from", m.from.Sub(t.at).Round(time.Millisecond), "length", wall.Round(time.Millisecond),
			"cpu", u.cpu, "runs", u.runs, "period", w.period().Round(time.Millisecond))
	}
	st.between, st.quiet = quiet.cpu.Seconds()/qwall.Seconds(), qwall
	st.wakeups = float64(quiet.runs) / qwall.Seconds()
	st.period, st.fade = w.period(), w.longest

	// 3. A full cycle with no screenshots: any window of slides × period
	// holds every crossfade once.
	if err := m.begin(); err != nil {
		return st, err
	}
	if err := m.sampleUntil(ctx, m.from.Add(time.Duration(plan.slides)*st.period)); err != nil {
		return st, err
	}
	u, xu, wall, err := m.end()
	if err != nil {
		return st, err
	}
	st.cycle, st.xvfb = u.cpu.Seconds()/wall.Seconds(), xu.cpu.Seconds()/wall.Seconds()
	if st.end, st.procs, err = sysProc.treeMemory(p.pid(), true); err != nil {
		return st, err
	}
	age := time.Since(p.started)
	st.maxRSS = max(m.maxRSS, st.end.RSS)
	if !p.running() {
		return st, fmt.Errorf("%s exited during the measurement: %v\n%s", sd.name, p.err, p.tail)
	}

	// A screenshot in the middle of a dwell, for people to look at.
	mid := w.last().at.Add(st.period / 2)
	for mid.Before(time.Now()) {
		mid = mid.Add(st.period)
	}
	if err := sleepUntil(ctx, mid); err != nil {
		return st, err
	}
	img, err := sd.x.screenshot(1)
	if err != nil {
		return st, err
	}
	if err := savePNG(shotPath, img); err != nil {
		log.Warn("save screenshot", "err", err)
	}
	if c := showing(img, palette); c < 0 {
		return st, fmt.Errorf("%s: no photo on screen in the middle of a dwell (see %s)", sd.name, shotPath)
	}
	log.Info("carousel measured", "side", sd.name, "period", st.period.Round(time.Millisecond),
		"visible_fade", st.fade.Round(time.Millisecond), "quiet", qwall.Round(time.Millisecond),
		"procs", st.procs, "memory_read_after", age.Round(time.Second), "screenshot", shotPath)
	return st, nil
}

func savePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// carousel is sections 1 and 2: memory and CPU while the carousel runs.
func (b *bench) carousel(ctx context.Context) ([]Result, error) {
	n := b.p.carouselSlides
	o := b.hearthdOpts("bench-carousel")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var items []benchItem
	for i := range n {
		// Newest start first is hearthd's order: item i starts i minutes earlier.
		jpg := makePhoto(2400, 1350, palette[i], uint32(i+1))
		it, err := photoItem(o.device, fmt.Sprintf("c-%d", i), fmt.Sprintf("Photo %d", i+1),
			base.Add(-time.Duration(i)*time.Minute), i, jpg)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	order, err := populate(ctx, b.ps, o, items)
	if err != nil {
		return nil, fmt.Errorf("populate hearthd: %w", err)
	}
	b.log.Info("hearthd's carousel order", "ids", order)
	var page []pageItem
	for _, it := range sortLike(items, order) {
		page = append(page, pageItem{Photo: b.kiosk.addPhoto(it.item.ID+".jpg", it.jpeg), Text: it.item.Text, From: it.item.From})
	}
	url, err := b.kiosk.addPage("carousel", page, b.p.dwell, b.p.fade)
	if err != nil {
		return nil, err
	}
	plan := carouselPlan{slides: n, dwell: b.p.dwell, fade: b.p.fade, transitions: b.p.transitions}
	h, err := measureCarousel(ctx, b.log, b.hearthdSide(o), plan, filepath.Join(b.outDir, "hearthd-carousel.png"))
	if err != nil {
		return nil, err
	}
	c, err := measureCarousel(ctx, b.log, b.chromiumSide(url), plan, filepath.Join(b.outDir, "chromium-carousel.png"))
	if err != nil {
		return nil, err
	}
	anchor := fmt.Sprintf("chromium --kiosk, CSS crossfade (%d processes)", c.procs)
	// Every figure at most Chromium's in the same run; beyond that, private
	// memory within 80 MiB and a full cycle at half of Chromium's.
	notWorse := goal{MaxRatio: 1}
	return []Result{
		newResult("carousel.rss", float64(h.maxRSS)/mib, "MiB", anchor, float64(c.maxRSS)/mib, notWorse),
		newResult("carousel.pss", float64(h.end.PSS)/mib, "MiB", anchor, float64(c.end.PSS)/mib, notWorse),
		newResult("carousel.private_anon", float64(h.end.Anon)/mib, "MiB", anchor, float64(c.end.Anon)/mib, goal{Max: 80, MaxRatio: 1}),
		newResult("carousel.cpu_between_fades", 100*h.between, "% of a core", anchor, 100*c.between, notWorse),
		newResult("carousel.wakeups_between_fades", h.wakeups, "per s", anchor, c.wakeups, notWorse),
		newResult("carousel.cpu_full_cycle", 100*h.cycle, "% of a core", anchor, 100*c.cycle, goal{MaxRatio: 0.5}),
		newResult("carousel.xvfb_cpu_full_cycle", 100*h.xvfb, "% of a core", "Xvfb under "+anchor, 100*c.xvfb, notWorse),
		newResult("carousel.period", h.period.Seconds(), "s", anchor, c.period.Seconds(), goal{}),
	}, nil
}

// sortLike orders items as ids lists them; items not listed follow in
// their own order.
func sortLike(items []benchItem, ids []string) []benchItem {
	var out []benchItem
	used := map[string]bool{}
	for _, id := range ids {
		for _, it := range items {
			if it.item.ID == id && !used[id] {
				out = append(out, it)
				used[id] = true
			}
		}
	}
	for _, it := range items {
		if !used[it.item.ID] {
			out = append(out, it)
		}
	}
	return out
}
