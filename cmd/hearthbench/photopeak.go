package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"path/filepath"
	"runtime/debug"
	gosync "sync"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// bigPhoto is one of the largest photos the device accepts (50 MP, 16384
// px a side, 64 MiB: media/photo's DefaultLimits), sent by URL as an
// original above proto.MaxInlinePhoto travels.
type bigPhoto struct {
	name   string // the row's middle part: photo_peak.<name>_private
	w, h   int
	format string // "png8", "png16" or "jpeg"
	colour int    // palette index, to see it on screen
}

var bigPhotos = []bigPhoto{
	{"png_49mp_rgba8", 7000, 7000, "png8", 4},
	{"png_49mp_rgba16", 7000, 7000, "png16", 2},
	{"jpeg_50mp", 8660, 5773, "jpeg", 0},
}

// encode makes the file: makePhoto's look (a palette colour with soft
// gradients and grain, so it neither compresses to nothing nor passes the
// 64 MiB limit) at full size. The PNGs are RGBA with real alpha (one
// corner pixel not opaque), so they decode to 4 or 8 bytes a pixel.
func (bp bigPhoto) encode() ([]byte, error) {
	base := palette[bp.colour]
	fx := make([]float64, bp.w)
	for x := range fx {
		u := float64(x) / float64(bp.w)
		fx[x] = 6*math.Sin(2*math.Pi*1.3*u) + 2*math.Sin(2*math.Pi*5*u)
	}
	fy := make([]float64, bp.h)
	for y := range fy {
		v := float64(y) / float64(bp.h)
		fy[y] = 4 * math.Cos(2*math.Pi*0.8*v)
	}
	// Grain: one bit in a PNG (a lossless 49 MP file of more is too big
	// for 64 MiB at 16 bits); a JPEG keeps only grain it can see, so it gets
	// ±8 levels, which makes it about the size of a camera's 50 MP file.
	grain := uint32(1)
	if bp.format == "jpeg" {
		grain = 15
	}
	rng := uint32(0x2545f491)
	pixel := func(x, y int) (r, g, b float64) {
		rng ^= rng << 13
		rng ^= rng >> 17
		rng ^= rng << 5
		d := fx[x] + fy[y] + float64(rng&grain) - float64(grain/2)
		return float64(base.R) + d, float64(base.G) + d*0.8, float64(base.B) - d*0.6
	}
	// Opaque 8-bit pixels, the same bytes in image.RGBA and image.NRGBA.
	fill8 := func(pix []byte, stride int) {
		for y := range bp.h {
			for x := range bp.w {
				r, g, b := pixel(x, y)
				o := y*stride + 4*x
				pix[o], pix[o+1], pix[o+2], pix[o+3] = clampByte(r), clampByte(g), clampByte(b), 255
			}
		}
	}
	var out bytes.Buffer
	switch bp.format {
	case "png8":
		img := image.NewNRGBA(image.Rect(0, 0, bp.w, bp.h))
		fill8(img.Pix, img.Stride)
		img.Pix[3] = 254
		if err := fastPNG.Encode(&out, img); err != nil {
			return nil, err
		}
	case "png16":
		img := image.NewNRGBA64(image.Rect(0, 0, bp.w, bp.h))
		for y := range bp.h {
			for x := range bp.w {
				r, g, b := pixel(x, y)
				img.SetNRGBA64(x, y, color.NRGBA64{R: 257 * uint16(clampByte(r)), G: 257 * uint16(clampByte(g)),
					B: 257 * uint16(clampByte(b)), A: 0xffff})
			}
		}
		img.SetNRGBA64(0, 0, color.NRGBA64{R: 0xffff, A: 0xfffe})
		if err := fastPNG.Encode(&out, img); err != nil {
			return nil, err
		}
	case "jpeg":
		img := image.NewRGBA(image.Rect(0, 0, bp.w, bp.h))
		fill8(img.Pix, img.Stride)
		if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("big photo %s: unknown format %q", bp.name, bp.format)
	}
	if out.Len() > proto.MaxURLPhoto {
		return nil, fmt.Errorf("big photo %s: %d bytes, above the %d a device fetches", bp.name, out.Len(), proto.MaxURLPhoto)
	}
	return out.Bytes(), nil
}

// fastPNG takes a few seconds for a 49 MP image where the default level
// takes tens, for a file about a third larger.
var fastPNG = png.Encoder{CompressionLevel: png.BestSpeed}

// peakSampler reads the memory of a process tree every few milliseconds
// and keeps the highest sums it saw. Reading the tree means walking /proc,
// so the list of processes is refreshed only every 100 ms; their status
// files are read every time.
type peakSampler struct {
	root  int
	every time.Duration

	mu       gosync.Mutex
	anon     uint64 // highest summed RssAnon
	shared   uint64 // highest summed RssAnon + RssShmem
	rss      uint64 // highest summed VmRSS
	samples  int
	pids     []int
	stop     chan struct{}
	finished chan struct{}
	once     gosync.Once
}

func startPeakSampler(root int, every time.Duration) *peakSampler {
	s := &peakSampler{root: root, every: every, stop: make(chan struct{}), finished: make(chan struct{})}
	go s.run()
	return s
}

func (s *peakSampler) run() {
	defer close(s.finished)
	t := time.NewTicker(s.every)
	defer t.Stop()
	var refreshed time.Time
	var pids []int
	for {
		if time.Since(refreshed) >= 100*time.Millisecond {
			if ps, err := sysProc.tree(s.root); err == nil {
				pids = pids[:0]
				for _, p := range ps {
					pids = append(pids, p.PID)
				}
				refreshed = time.Now()
			}
		}
		var sum memInfo
		for _, pid := range pids {
			b, err := sysProc.read(pid, "status")
			if err != nil {
				continue
			}
			if m, err := parseStatus(b); err == nil {
				sum.add(m)
			}
		}
		s.mu.Lock()
		s.anon, s.rss = max(s.anon, sum.Anon), max(s.rss, sum.RSS)
		s.shared = max(s.shared, sum.Anon+sum.Shmem)
		s.samples++
		s.pids = append(s.pids[:0], pids...)
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// now returns the highest private memory so far.
func (s *peakSampler) now() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anon
}

// finish stops sampling. hwm is the sum of VmHWM over the tree's
// processes alive now (a process's own peak RSS, exact; summed over
// several processes it overstates their peak together).
func (s *peakSampler) finish() (pk photoPeak) {
	s.once.Do(func() { close(s.stop) })
	<-s.finished
	for _, pid := range s.pids {
		b, err := sysProc.read(pid, "status")
		if err != nil {
			continue
		}
		if kv, err := parseKBFields(b, "VmHWM"); err == nil {
			pk.hwm += kv["VmHWM"]
		}
	}
	pk.anon, pk.shared, pk.rss, pk.samples = s.anon, s.shared, s.rss, s.samples
	return pk
}

// photoPeak is what one side's memory did while it took a big photo.
type photoPeak struct {
	before  uint64 // private memory just before the photo was sent (hearthd) or shown (Chromium)
	anon    uint64 // highest RssAnon
	shared  uint64 // highest RssAnon + RssShmem
	rss     uint64 // highest VmRSS
	hwm     uint64 // VmHWM at the end
	samples int
	took    time.Duration // from sending the photo to seeing it on screen
}

// photoOnScreen says whether the photo of palette colour c covers a good
// part of the screen: a square photo fills barely half of a 16:9 screen,
// less its caption and the clock, so showing's threshold is too high here.
func photoOnScreen(img *image.RGBA, c int) bool {
	return share(img, palette[c], colourTol) >= 0.25
}

// waitOnScreen reads the screen every 50 ms until the photo shows, p
// exits or within passes; refused, when set, is asked every second for
// a reason the photo will never show.
func waitOnScreen(ctx context.Context, x *xserver, p *proc, colour int, within time.Duration, refused func() error) error {
	deadline := time.Now().Add(within)
	nextAsk := time.Now().Add(time.Second)
	for {
		img, err := x.screenshot(4)
		if err != nil {
			return err
		}
		if photoOnScreen(img, colour) {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the photo is not on screen after %v\n%s", p.name, within, p.tail)
		}
		if refused != nil && time.Now().After(nextAsk) {
			if err := refused(); err != nil {
				return err
			}
			nextAsk = time.Now().Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// peakSampleEvery is how often the private memory is read while a photo
// is prepared: a full-size decode holds its buffers for tens of
// milliseconds at least, so 5 ms catches the peak within a few MiB.
const peakSampleEvery = 5 * time.Millisecond

// hearthdPhotoPeak starts hearthd on its screen with nothing to show,
// sends it the photo as a retained item by URL (as `hearthctl send` does
// for an original above 2 MiB, untouched) and samples its private memory
// until the photo is on screen.
func (b *bench) hearthdPhotoPeak(ctx context.Context, bp bigPhoto, url string, data []byte) (photoPeak, error) {
	var pk photoPeak
	o := b.hearthdOpts("bench-peak-" + bp.name)
	o.display = b.hx.display
	d, err := startHearthd(b.ps, o)
	if err != nil {
		return pk, err
	}
	defer func() { _ = d.stop(15 * time.Second) }()
	s := startPeakSampler(d.pid(), peakSampleEvery)
	defer s.finish()
	if err := d.waitConnected(ctx); err != nil {
		return pk, err
	}
	// The empty screen drawn and start-up settled.
	if err := waitUntil(ctx, 30*time.Second, 100*time.Millisecond, "hearthd's first frame", func() (bool, error) {
		img, err := b.hx.screenshot(4)
		return err == nil && !blank(img), err
	}); err != nil {
		return pk, err
	}
	if err := sleepUntil(ctx, time.Now().Add(2*time.Second)); err != nil {
		return pk, err
	}
	mem, _, err := sysProc.treeMemory(d.pid(), false)
	if err != nil {
		return pk, err
	}
	pk.before = mem.Anon
	sum := sha256.Sum256(data)
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	it := proto.Item{V: proto.Version, ID: "big-" + bp.name, Device: o.device, Rev: 1, Kind: proto.KindPhoto,
		From: "Anna", Text: "A big photo", Start: start, End: start.Add(48 * time.Hour), Created: start,
		Photo: &proto.Photo{URL: url, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}}
	bi, err := encodeItem(it, bp.colour, nil)
	if err != nil {
		return pk, err
	}
	sent := time.Now()
	if err := publishAll(ctx, b.broker, []benchItem{bi}, 1); err != nil {
		return pk, fmt.Errorf("publish: %w", err)
	}
	refused := func() error {
		inv, ok, err := readInventory(ctx, b.broker, o.device)
		if err != nil || !ok {
			return err
		}
		for _, x := range inv.Items {
			if x.ID == it.ID && x.State == proto.StateRefused {
				return fmt.Errorf("hearthd refused %s: %s", bp.name, x.Reason)
			}
		}
		return nil
	}
	return pk, pk.untilShown(ctx, s, b.hx, d.proc, bp.colour, sent, refused,
		filepath.Join(b.outDir, "hearthd-peak-"+bp.name+".png"))
}

// chromiumPhotoPeak opens a kiosk page that shows a message card first
// and the photo after one dwell, and samples the private memory of all
// Chromium's processes until the photo is on screen.
func (b *bench) chromiumPhotoPeak(ctx context.Context, bp bigPhoto, path string) (photoPeak, error) {
	var pk photoPeak
	const dwell = 5 * time.Second
	url, err := b.kiosk.addPage("peak-"+bp.name, []pageItem{
		{Text: "A big photo comes next", From: "Anna"},
		{Photo: path, Text: "A big photo", From: "Anna"},
	}, dwell, b.p.fade)
	if err != nil {
		return pk, err
	}
	p, err := b.chromiumSide(url).start()
	if err != nil {
		return pk, err
	}
	defer func() { _ = p.stop(15 * time.Second) }()
	s := startPeakSampler(p.pid(), peakSampleEvery)
	defer s.finish()
	shown := p.started.Add(dwell)
	if err := sleepUntil(ctx, shown.Add(-time.Second)); err != nil {
		return pk, err
	}
	pk.before = s.now()
	return pk, pk.untilShown(ctx, s, b.cx, p, bp.colour, shown, nil,
		filepath.Join(b.outDir, "chromium-peak-"+bp.name+".png"))
}

// untilShown waits until the photo is on x, and one second more for what
// follows its decode (a texture, a composited layer), then stops s and
// keeps what it saw.
func (pk *photoPeak) untilShown(ctx context.Context, s *peakSampler, x *xserver, p *proc, colour int, from time.Time, refused func() error, shotPath string) error {
	if err := waitOnScreen(ctx, x, p, colour, 5*time.Minute, refused); err != nil {
		return err
	}
	pk.took = time.Since(from)
	if img, err := x.screenshot(1); err == nil {
		_ = savePNG(shotPath, img) // for people to look at; the figures do not need it
	}
	if err := sleepUntil(ctx, time.Now().Add(time.Second)); err != nil {
		return err
	}
	before, took := pk.before, pk.took
	*pk = s.finish()
	pk.before, pk.took = before, took
	return nil
}

// photoPeak is the section "photopeak": hearthd's peak private memory
// while it prepares each of the largest photos it accepts, beside a
// Chromium kiosk showing the same file.
func (b *bench) photoPeak(ctx context.Context) ([]Result, error) {
	var rows []Result
	var errs []error
	for _, bp := range bigPhotos {
		t := time.Now()
		data, err := bp.encode()
		debug.FreeOSMemory() // the bench's own copy of the pixels
		if err != nil {
			return rows, err
		}
		path := b.kiosk.addPhoto("big-"+bp.name+photoExt(data), data)
		b.log.Info("big photo made", "name", bp.name, "size", fmt.Sprintf("%dx%d", bp.w, bp.h), "bytes", len(data),
			"took", time.Since(t).Round(100*time.Millisecond))
		h, err := b.hearthdPhotoPeak(ctx, bp, "http://"+b.kiosk.addr+path, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s on hearthd: %w", bp.name, err))
			continue
		}
		anchor := "chromium --kiosk showing the same file: its processes summed"
		c, err := b.chromiumPhotoPeak(ctx, bp, path)
		if err != nil {
			b.log.Error("no anchor", "photo", bp.name, "err", err)
			anchor, c = "", photoPeak{}
		}
		b.kiosk.removePhoto(path)
		b.log.Info("photo peak", "name", bp.name, "bytes", len(data),
			"hearthd_before_MiB", h.before/mib, "hearthd_peak_MiB", h.anon/mib, "hearthd_hwm_MiB", h.hwm/mib,
			"hearthd_samples", h.samples, "hearthd_took", h.took.Round(time.Millisecond),
			"hearthd_peak_rss_MiB", h.rss/mib, "chromium_before_MiB", c.before/mib, "chromium_peak_MiB", c.anon/mib,
			"chromium_peak_anon_shmem_MiB", c.shared/mib, "chromium_peak_rss_MiB", c.rss/mib, "chromium_took", c.took.Round(time.Millisecond))
		hwmAnchor, shmemAnchor := "", ""
		if anchor != "" {
			hwmAnchor = "chromium --kiosk showing the same file: sum of its processes' VmHWM"
			shmemAnchor = "chromium --kiosk showing the same file: its processes summed, shared memory too"
		}
		rows = append(rows,
			newResult("photo_peak."+bp.name+"_private", float64(h.anon)/mib, "MiB", anchor, float64(c.anon)/mib, goal{Max: 150}),
			newResult("photo_peak."+bp.name+"_anon_shmem", float64(h.shared)/mib, "MiB", shmemAnchor, float64(c.shared)/mib, goal{}),
			newResult("photo_peak."+bp.name+"_hwm", float64(h.hwm)/mib, "MiB", hwmAnchor, float64(c.hwm)/mib, goal{}),
		)
	}
	return rows, errors.Join(errs...)
}

// photoExt names a file by its first bytes, so the URL says what it is.
func photoExt(data []byte) string {
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		return ".png"
	}
	return ".jpg"
}
