package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"path/filepath"
	"time"
)

// launchRun is one start of a side, timed from just before exec.
type launchRun struct {
	// window: the first screenshot that differs from the blank root window.
	window time.Duration
	// photo: the end of the first screenshot showing the expected photo.
	// It appeared at most poll earlier.
	photo time.Duration
	poll  time.Duration // from the start of the grab before to the end of the one that saw it
	shots int
	mem   memInfo     // the tree's memory a moment after the photo showed (last run only)
	img   *image.RGBA // the screenshot that saw the photo
}

// blank says whether img is the empty root window (-br: black), allowing a
// few stray pixels.
func blank(img *image.RGBA) bool {
	return share(img, color.RGBA{0, 0, 0, 255}, 8) > 0.995
}

// measureLaunch starts a side on an empty screen and reads the screen every
// pollEvery until the expected photo covers it.
func measureLaunch(ctx context.Context, log *slog.Logger, sd side, want int, withMem bool) (launchRun, error) {
	var r launchRun
	err := waitUntil(ctx, 10*time.Second, 100*time.Millisecond, sd.name+"'s screen to be empty", func() (bool, error) {
		s, err := sd.x.screenshot(4)
		return err == nil && blank(s), err
	})
	if err != nil {
		return r, err
	}
	p, err := sd.start()
	if err != nil {
		return r, err
	}
	defer func() { _ = p.stop(15 * time.Second) }()
	var prev shot
	lastState := ""
	limit := p.started.Add(60 * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if !p.running() {
			return r, fmt.Errorf("%s exited: %v\n%s", sd.name, p.err, p.tail)
		}
		if time.Now().After(limit) {
			return r, fmt.Errorf("%s: photo %d not on screen after %v\n%s", sd.name, want, limit.Sub(p.started), p.tail)
		}
		s, err := sd.x.timedShot(ctx)
		if err != nil {
			return r, err
		}
		r.shots++
		if r.window == 0 && !blank(s.img) {
			r.window = s.end.Sub(p.started)
		}
		c := showing(s.img, palette)
		if state := fmt.Sprintf("blank=%v photo=%d", blank(s.img), c); state != lastState {
			log.Debug("launch screen", "side", sd.name, "after", s.end.Sub(p.started).Round(time.Millisecond), "state", state)
			lastState = state
		}
		if c >= 0 && (want < 0 || c == want) {
			r.photo = s.end.Sub(p.started)
			if r.img, err = sd.x.screenshot(1); err != nil { // full size, to keep
				return r, err
			}
			if prev.img != nil {
				r.poll = s.end.Sub(prev.start)
			} else {
				r.poll = s.end.Sub(p.started)
			}
			break
		}
		prev = s
	}
	if withMem {
		time.Sleep(2 * time.Second)
		if r.mem, _, err = sysProc.treeMemory(p.pid(), true); err != nil {
			return r, err
		}
	}
	if err := p.stop(15 * time.Second); err != nil {
		return r, fmt.Errorf("stop %s: %w", sd.name, err)
	}
	return r, nil
}

// launch is section 3: start to first photo on screen with many cached items.
func (b *bench) launch(ctx context.Context) ([]Result, error) {
	n, np := b.p.launchItems, b.p.launchPhotos
	o := b.hearthdOpts("bench-launch")
	// A dozen distinct pictures, two of each colour, shared by the photo items.
	var pics [][]byte
	for i := range 12 {
		pics = append(pics, makePhoto(screenW, screenH, palette[i%len(palette)], uint32(100+i)))
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	step := n / np
	var items []benchItem
	for i := range n {
		start := base.Add(-time.Duration(i) * time.Second) // newest first: item 0 leads
		var it benchItem
		var err error
		if i%step == 0 && i/step < np {
			k := (i / step) % len(pics)
			it, err = photoItem(o.device, fmt.Sprintf("p-%04d", i), fmt.Sprintf("Photo %d", i), start, k%len(palette), pics[k])
		} else {
			it, err = messageItem(o.device, fmt.Sprintf("m-%04d", i),
				fmt.Sprintf("Message %d: lunch is at twelve, and Peter comes at two.", i), start)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	t := time.Now()
	order, err := populate(ctx, b.ps, o, items)
	if err != nil {
		return nil, fmt.Errorf("populate hearthd: %w", err)
	}
	b.log.Info("populated hearthd", "items", n, "photos", np, "took", time.Since(t).Round(100*time.Millisecond),
		"first_ids", order)
	items = sortLike(items, order)
	want := items[0].colour
	if want < 0 {
		b.log.Warn("hearthd's first slide is a message; timing until any photo shows instead", "id", items[0].item.ID)
	}
	var page []pageItem
	for _, it := range items {
		pi := pageItem{Text: it.item.Text, From: it.item.From}
		if it.jpeg != nil {
			pi.Photo = b.kiosk.addPhoto(it.item.ID+".jpg", it.jpeg)
		}
		page = append(page, pi)
	}
	url, err := b.kiosk.addPage("launch", page, b.p.dwell, b.p.fade)
	if err != nil {
		return nil, err
	}
	hs, cs := b.hearthdSide(o), b.chromiumSide(url)
	var hr, cr []launchRun
	for rep := range b.p.launchReps {
		last := rep == b.p.launchReps-1
		// Alternate, so both see the same state of the machine.
		r, err := measureLaunch(ctx, b.log, hs, want, last)
		if err != nil {
			return nil, err
		}
		hr = append(hr, r)
		r, err = measureLaunch(ctx, b.log, cs, want, last)
		if err != nil {
			return nil, err
		}
		cr = append(cr, r)
		b.log.Info("launch", "rep", rep+1, "hearthd", hr[rep].photo.Round(time.Millisecond),
			"chromium", r.photo.Round(time.Millisecond), "hearthd_poll", hr[rep].poll.Round(time.Millisecond),
			"chromium_poll", r.poll.Round(time.Millisecond))
	}
	pick := func(rs []launchRun, f func(launchRun) time.Duration) float64 {
		var ds []time.Duration
		for _, r := range rs {
			ds = append(ds, f(r))
		}
		return float64(median(ds).Microseconds()) / 1000
	}
	photoT := func(r launchRun) time.Duration { return r.photo }
	windowT := func(r launchRun) time.Duration { return r.window }
	pollT := func(r launchRun) time.Duration { return r.poll }
	anchor := fmt.Sprintf("chromium --kiosk, page of %d items", n)
	hm, cm := hr[len(hr)-1].mem, cr[len(cr)-1].mem
	for name, r := range map[string]launchRun{"hearthd": hr[len(hr)-1], "chromium": cr[len(cr)-1]} {
		if err := savePNG(filepath.Join(b.outDir, name+"-launch.png"), r.img); err != nil {
			b.log.Warn("save screenshot", "err", err)
		}
	}
	what := fmt.Sprintf("%d", n)
	return []Result{
		newResult("launch.first_photo_"+what+"_items", pick(hr, photoT), "ms", anchor, pick(cr, photoT), goal{Max: 1000, MaxRatio: 1.0 / 3}),
		newResult("launch.first_window_frame", pick(hr, windowT), "ms", anchor, pick(cr, windowT), goal{}),
		newResult("launch.screenshot_poll_granularity", pick(hr, pollT), "ms", anchor, pick(cr, pollT), goal{}),
		newResult("launch.pss_"+what+"_items", float64(hm.PSS)/mib, "MiB", anchor, float64(cm.PSS)/mib, goal{}),
		newResult("launch.rss_"+what+"_items", float64(hm.RSS)/mib, "MiB", anchor, float64(cm.RSS)/mib, goal{}),
	}, nil
}
