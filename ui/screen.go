package ui

import (
	"context"
	"image/color"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
)

// Options configures a Screen. Zero values get the defaults noted.
type Options struct {
	// Clock drives the carousel and the clock (default: the wall clock).
	Clock clock.Clock
	// Location is the time zone of the clock (default: time.Local).
	Location *time.Location
	// Locale is the screen's language: en, sv, fi or de (default en).
	Locale string
	// Dwell is how long each photo stays, and the least a message or
	// card stays: a longer text stays its reading time (default 15s).
	Dwell time.Duration
	// Fade is the crossfade between slides (default 1.2s; negative: none).
	Fade time.Duration
	// Logger gets skipped slides and mode changes (default: discard).
	Logger *slog.Logger
	// OnShown is told, on its own goroutine, each time a sent item has
	// been fully on screen (its fade done) for ShownAfter: not under a
	// call, the setup screen or a dark night (the device records the
	// sender's "shown" receipt). The device's own cards get none.
	OnShown func(id string, rev uint64)
}

// Defaults for Options.
const (
	DefaultDwell = 15 * time.Second
	DefaultFade  = 1200 * time.Millisecond
)

// ShownAfter is how long an item must be fully visible before its
// receipt is sent: long enough to be seen, not just passed through.
const ShownAfter = 2 * time.Second

// Screen is the carousel screen. It implements device.Display and
// device.CallDisplay: a call covers the carousel until it ends.
type Screen struct {
	clk       clock.Clock
	loc       *time.Location
	lc        *locale
	dwell     time.Duration
	fade      time.Duration
	log       *slog.Logger
	shownHook func(id string, rev uint64)

	// step serialises the changes of slide (SetSlides, the dwell); photos
	// are decoded under it, outside mu and off Fyne's goroutine.
	step sync.Mutex

	mu      sync.Mutex
	slides  []device.Slide
	cur     int // index in slides of the slide shown, -1 for none
	shown   wanted
	mode    device.Mode
	restart bool               // the slide changed outside the dwell: start it again
	seen    bool               // SetSlides was called before (new arrivals jump the queue)
	failed  map[string]failure // slide id -> why its photo was skipped
	// untrusted: the wall clock cannot be believed (SetClockTrusted).
	untrusted bool
	// receipted is the wanted.gen whose receipt went out.
	receipted uint64

	// wake tells Run to look at the dwell timer again.
	wake chan struct{}
	// attached is set once Content has been called; before that there is
	// no canvas to update and fyne.Do may have no app to run on.
	attached atomic.Bool

	// callMu guards callState: the call shown and its latest pictures.
	callMu    sync.Mutex
	callState callState
	// calling is set while a call is shown: the carousel pauses under it.
	calling atomic.Bool
	// framePending is set while an applyFrames is queued on Fyne's
	// goroutine; applyFramesFn is that method value, made once.
	framePending  atomic.Bool
	applyFramesFn func()
	// fyneDo runs a function on Fyne's goroutine (fyne.Do; tests may
	// serialise it as the real event loop does).
	fyneDo func(func())

	// setupMu guards setupState: the "not set up yet" screen (setup.go).
	setupMu    sync.Mutex
	setupState setupState
	// setupOn is set while it is shown: the carousel pauses under it.
	setupOn atomic.Bool

	ui *view // made by Content; touched only on Fyne's goroutine
}

// wanted is what should be on screen; gen counts the changes of slide
// (and of page).
type wanted struct {
	gen   uint64
	ok    bool // false: the empty state
	slide device.Slide
	pic   *photo
	// page of a long text, of pages; dwell is how long this page stays.
	page, pages int
	dwell       time.Duration
}

// failure remembers a photo that could not be loaded, so it is logged
// once and retried only when the slide or the file changes.
type failure struct {
	rev   uint64
	image string
	stamp fileStamp
}

type fileStamp struct {
	size int64
	mod  int64
}

var _ device.Display = (*Screen)(nil)

// New makes a Screen. It does not need a running Fyne app; Content does.
func New(opts Options) (*Screen, error) {
	lc, err := lookupLocale(opts.Locale)
	if err != nil {
		return nil, err
	}
	s := &Screen{
		clk: opts.Clock, loc: opts.Location, lc: lc, dwell: opts.Dwell, fade: opts.Fade, log: opts.Logger, shownHook: opts.OnShown,
		cur: -1, failed: map[string]failure{}, wake: make(chan struct{}, 1),
		fyneDo: Do,
	}
	s.callState.remote = map[string]frame{}
	s.applyFramesFn = s.applyFrames
	if s.clk == nil {
		s.clk = clock.Real()
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	if s.dwell <= 0 {
		s.dwell = DefaultDwell
	}
	switch {
	case s.fade == 0:
		s.fade = DefaultFade
	case s.fade < 0:
		s.fade = 0
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Content is the screen's canvas object, to be set as a window's content.
// Call it on Fyne's goroutine once the app exists.
func (s *Screen) Content() fyne.CanvasObject {
	if s.ui == nil {
		// Built here, not in New: Fyne's containers and widgets want the app.
		s.ui = newView()
		s.attached.Store(true)
		s.sync()
	}
	return s.ui.root
}

// SetSlides replaces the carousel. The slide on screen stays if it is
// still in the list; if it was removed the next one fades in. Photos that
// cannot be loaded are skipped (and logged once). Safe from any goroutine;
// it may take as long as decoding one photo.
func (s *Screen) SetSlides(slides []device.Slide) {
	list := slices.Clone(slides)
	s.step.Lock()
	defer s.step.Unlock()

	s.mu.Lock()
	cur, idx := s.shown, s.cur
	failed := maps.Clone(s.failed)
	s.mu.Unlock()
	// Forget failures of slides that left or changed, and of files that
	// changed since (a photo still downloading, say): they get tried again.
	for id, f := range failed {
		i := slices.IndexFunc(list, func(sl device.Slide) bool { return sl.ID == id })
		if i >= 0 && list[i].Rev == f.rev && list[i].Image == f.image && stampOf(f.image) == f.stamp {
			delete(failed, id)
		}
	}
	s.mu.Lock()
	for id := range failed {
		delete(s.failed, id)
	}
	s.mu.Unlock()

	// A slide that was not in the carousel before (just sent, or its
	// window just opened) comes to the screen at once: the sender expects
	// to see it there, not after a round of the others.
	// Not at night, though: what arrives then waits for the morning
	// (whose first card says what came), and the screen stays as it is.
	s.mu.Lock()
	prev, seen, night := s.slides, s.seen, s.mode != device.ModeDay
	s.seen = true
	s.mu.Unlock()
	if !seen {
		// The first carousel: replace the quiet start-up screen even when
		// it is empty (then with the friendly line).
		defer func() {
			s.mu.Lock()
			if !s.shown.ok {
				s.shown.gen++
			}
			s.mu.Unlock()
			s.do(s.sync)
		}()
	}
	if seen && !night {
		for i, sl := range list {
			if !slices.ContainsFunc(prev, func(p device.Slide) bool { return p.ID == sl.ID }) {
				s.showFrom(list, i)
				return
			}
		}
	}
	if cur.ok {
		i := slices.IndexFunc(list, func(sl device.Slide) bool { return sl.ID == cur.slide.ID })
		if i >= 0 && sameSlide(list[i], cur.slide) {
			s.mu.Lock()
			s.slides, s.cur = list, i
			s.mu.Unlock()
			s.wakeRun()
			return
		}
		if i >= 0 {
			idx = i // edited in place: show the new version where it is
		}
	}
	// A removed slide's successor now sits at its index.
	s.showFrom(list, max(idx, 0))
}

// SetMode dims or blanks the screen. The carousel pauses in the night
// modes (no crossfades in a dark room); the clock keeps going.
func (s *Screen) SetMode(m device.Mode) {
	s.mu.Lock()
	old := s.mode
	s.mode = m
	s.mu.Unlock()
	if old == m {
		return
	}
	s.log.Info("screen: mode", "mode", m)
	if old != device.ModeDay && m == device.ModeDay && s.morning() {
		return
	}
	s.do(s.sync)
	s.wakeRun()
}

// morning shows the card of what came in overnight, when the carousel
// has one, as the day's first screen; it reports whether it did.
func (s *Screen) morning() bool {
	s.step.Lock()
	defer s.step.Unlock()
	s.mu.Lock()
	list, shown := s.slides, s.shown
	s.mu.Unlock()
	i := slices.IndexFunc(list, func(sl device.Slide) bool {
		return sl.Card != nil && sl.Card.Kind == device.CardNewSince
	})
	if i < 0 || (shown.ok && shown.slide.ID == list[i].ID) {
		return false
	}
	s.showFrom(list, i)
	return true
}

// Current returns the id of the slide on screen (the one fading in during
// a crossfade); ok is false in the empty state.
func (s *Screen) Current() (id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shown.slide.ID, s.shown.ok
}

// Run is the carousel: it moves to the next slide (or page) when the
// one shown has stayed its dwell (Dwell, or its reading time), sends the
// receipts of items seen, and updates the clock at each minute edge, until
// ctx ends. Call it once.
func (s *Screen) Run(ctx context.Context) error {
	minute := s.clk.NewTimer(untilNextMinute(s.clk.Now()))
	defer minute.Stop()
	dwell := s.clk.NewTimer(s.dwell)
	dwell.Stop()
	defer dwell.Stop()
	armed := false
	// The receipt timer runs from the moment a sent item comes on screen
	// (fade and ShownAfter) while it is visible; receiptGen is its slide.
	receipt := s.clk.NewTimer(ShownAfter)
	receipt.Stop()
	defer receipt.Stop()
	receiptGen := uint64(0)
	rearm := func() {
		want, restart, d := s.dwellWanted()
		switch {
		case !want && armed:
			dwell.Stop()
			armed = false
		case want && (restart || !armed):
			dwell.Reset(d)
			armed = true
		}
		switch gen := s.receiptWanted(); {
		case gen == 0 && receiptGen != 0:
			receipt.Stop()
			receiptGen = 0
		case gen != 0 && gen != receiptGen:
			receipt.Reset(s.fade + ShownAfter)
			receiptGen = gen
		}
	}
	rearm()
	s.do(s.sync)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-minute.C():
			minute.Reset(untilNextMinute(s.clk.Now()))
			s.do(s.sync)
		case <-dwell.C():
			armed = false
			s.advance()
			rearm()
		case <-receipt.C():
			s.sendReceipt(receiptGen)
			receiptGen = 0
			rearm()
		case <-s.wake:
			rearm()
		}
	}
}

// receiptWanted is the gen of the sent item whose receipt is due once it
// has stayed on screen, or 0: none is (a card, the empty state, one
// already receipted), or it cannot be seen (a call, the setup screen, the
// night's black screen, no screen at all).
func (s *Screen) receiptWanted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.shown
	if s.shownHook == nil || !s.attached.Load() || !w.ok || w.slide.Card != nil || w.gen == s.receipted ||
		s.mode == device.ModeNightOff || s.calling.Load() || s.setupOn.Load() {
		return 0
	}
	return w.gen
}

// sendReceipt tells OnShown that the slide of gen was seen, if it is still
// on screen and visible.
func (s *Screen) sendReceipt(gen uint64) {
	if gen == 0 || s.receiptWanted() != gen {
		return
	}
	s.mu.Lock()
	s.receipted = gen
	id, rev := s.shown.slide.ID, s.shown.slide.Rev
	s.mu.Unlock()
	s.log.Debug("screen: shown", "slide", id, "rev", rev)
	go s.shownHook(id, rev)
}

// untilNextMinute is the time from now to the next minute edge.
func untilNextMinute(now time.Time) time.Duration {
	return now.Truncate(time.Minute).Add(time.Minute).Sub(now)
}

// dwellWanted says whether the dwell timer should run (day mode, more
// than one slide that can be shown, or pages), whether it should start
// again, and for how long.
func (s *Screen) dwellWanted() (want, restart bool, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	restart, s.restart = s.restart, false
	d = max(s.shown.dwell, s.dwell)
	if s.mode != device.ModeDay || s.calling.Load() || s.setupOn.Load() {
		return false, restart, d
	}
	if s.shown.ok && s.shown.pages > 1 {
		return true, restart, d
	}
	n := 0
	for _, sl := range s.slides {
		if f, bad := s.failed[sl.ID]; bad && f.rev == sl.Rev && f.image == sl.Image {
			continue
		}
		n++
	}
	return n > 1, restart, d
}

// advance moves to the next page of a long text, or to the next slide
// that can be shown.
func (s *Screen) advance() {
	s.step.Lock()
	defer s.step.Unlock()
	s.mu.Lock()
	list, cur, shown := s.slides, s.cur, s.shown
	s.mu.Unlock()
	if shown.ok && shown.pages > 1 && (shown.page+1 < shown.pages || len(list) < 2) {
		s.showPage(shown.slide, shown.pic, (shown.page+1)%shown.pages)
		return
	}
	if len(list) < 2 {
		return
	}
	s.showFrom(list, cur+1)
}

// showPage shows a page of the slide on screen. Called with step held.
func (s *Screen) showPage(sl device.Slide, pic *photo, page int) {
	s.mu.Lock()
	pages := s.shown.pages
	s.mu.Unlock()
	next := s.paged(wanted{ok: true, slide: sl, pic: pic, page: page, pages: pages})
	s.mu.Lock()
	next.gen = s.shown.gen + 1
	s.shown = next
	s.restart = true
	s.mu.Unlock()
	s.log.Debug("screen: page", "slide", sl.ID, "page", page+1, "of", next.pages)
	s.do(s.sync)
	s.wakeRun()
}

// paged gives w its first dwell: Dwell for a photo, else the reading
// time of its words, shared among its pages. Text is measured only on
// Fyne's goroutine (go-text's caches are not safe from others): the view
// tells the exact pages and words when it is laid out (pagesShown).
func (s *Screen) paged(w wanted) wanted {
	w.pages, w.dwell = max(w.pages, 1), s.dwell
	if !w.ok || (w.slide.Photo && w.slide.Card == nil) {
		return w
	}
	s.mu.Lock()
	trusted := !s.untrusted
	s.mu.Unlock()
	t := textOf(s.lc, w.slide, s.clk.Now().In(s.loc), trusted)
	w.dwell = readingDwell(len(strings.Fields(t.body))/w.pages, s.dwell)
	return w
}

// showFrom shows the first slide from index start on (wrapping around)
// that can be shown, or the empty state. Called with step held.
func (s *Screen) showFrom(list []device.Slide, start int) {
	next, idx := wanted{}, -1
	for k := range len(list) {
		i := (start + k) % len(list)
		sl := list[i]
		var pic *photo
		if sl.Photo {
			p, ok := s.load(sl)
			if !ok {
				continue
			}
			pic = p
		}
		next, idx = wanted{ok: true, slide: sl, pic: pic}, i
		break
	}
	next = s.paged(next)
	s.mu.Lock()
	s.slides, s.cur = list, idx
	changed := next.ok != s.shown.ok || (next.ok && !sameSlide(next.slide, s.shown.slide))
	if changed {
		next.gen = s.shown.gen + 1
		s.shown = next
		s.restart = true
	}
	s.mu.Unlock()
	if changed {
		s.log.Debug("screen: show", "slide", next.slide.ID, "empty", !next.ok)
		s.do(s.sync)
	}
	s.wakeRun()
}

// load decodes a slide's photo, reusing the one on screen. Failures are
// logged once per slide revision and file.
func (s *Screen) load(sl device.Slide) (*photo, bool) {
	s.mu.Lock()
	if s.shown.ok && s.shown.pic != nil && sameSlide(s.shown.slide, sl) {
		p := s.shown.pic
		s.mu.Unlock()
		return p, true
	}
	f, known := s.failed[sl.ID]
	s.mu.Unlock()

	stamp := stampOf(sl.Image)
	if known && f.rev == sl.Rev && f.image == sl.Image && f.stamp == stamp {
		return nil, false
	}
	p, err := loadPhoto(sl.Image)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed[sl.ID] = failure{rev: sl.Rev, image: sl.Image, stamp: stamp}
		s.log.Warn("screen: skipping slide, its photo cannot be shown", "slide", sl.ID, "image", sl.Image, "err", err)
		return nil, false
	}
	delete(s.failed, sl.ID)
	return p, true
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{size: -1}
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

// sameSlide reports whether two slides look the same on screen.
func sameSlide(a, b device.Slide) bool {
	return a.ID == b.ID && a.Rev == b.Rev && a.Photo == b.Photo && a.Image == b.Image &&
		a.Text == b.Text && a.From == b.From && a.Sent.Equal(b.Sent) && (a.Card == nil) == (b.Card == nil)
}

func (s *Screen) wakeRun() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// do runs fn on Fyne's goroutine once the screen is on a canvas.
func (s *Screen) do(fn func()) {
	if s.attached.Load() {
		s.fyneDo(fn)
	}
}

// view is the Fyne side of the screen: over the theme's black ground
// (Theme), the slide views (two during a crossfade) or in their place the setup screen, the night
// shade, the clock and, over all of them, the call.
type view struct {
	root *fyne.Container
	// ground covers the canvas in color.Transparent, which Fyne's painter
	// skips (Theme's black is the ground): it is only refreshed, to
	// repaint. Refreshing an object makes a frame only if it is on the
	// canvas and visible, and a fade's own objects are new: hidden, the
	// ground repainted nothing and fades jumped.
	ground  *canvas.Rectangle
	slides  *fyne.Container
	dim     *canvas.Rectangle
	clock   *clockView
	callBox *fyne.Container
	cv      *callView // the call shown, nil for none
	inCall  bool

	setupBox *fyne.Container
	sv       *setupView // the setup screen shown, nil for none
	setupGen uint64     // setupState.gen of sv

	front *slideView // the newest slide view
	gen   uint64     // wanted.gen of front
	anim  *fyne.Animation
	mode  device.Mode
}

func newView() *view {
	v := &view{
		ground:   canvas.NewRectangle(color.Transparent),
		slides:   container.NewStack(),
		dim:      canvas.NewRectangle(nightShade),
		clock:    newClockView(),
		callBox:  container.NewStack(),
		setupBox: container.NewStack(),
	}
	v.dim.Hide()
	v.callBox.Hide()
	v.setupBox.Hide()
	v.root = container.NewStack(v.ground, v.slides, v.setupBox, v.dim, v.clock, v.callBox)
	v.root.Add(newPrivacyBadge()) // the privacy light over everything (privacy.go)
	return v
}

// sync brings the canvas in line with what is wanted. Fyne goroutine only.
func (s *Screen) sync() {
	s.mu.Lock()
	want, mode, seen, trusted := s.shown, s.mode, s.seen, !s.untrusted
	s.mu.Unlock()
	now := s.clk.Now().In(s.loc)
	v := s.ui
	if trusted {
		v.clock.set(s.lc.clock(now), s.lc.dateLine(now))
	} else {
		v.clock.set("", s.lc.cards().settingTime)
	}
	text := textOf(s.lc, want.slide, now, trusted)
	if v.front == nil || want.gen != v.gen {
		kind := kindEmpty
		switch {
		case want.ok && want.slide.Card != nil:
			kind = kindCard
		case want.ok && want.slide.Photo:
			kind = kindPhoto
		case want.ok:
			kind = kindMessage
		}
		nv := newSlideView(kind, want.slide, want.pic, s.lc, text, want.page)
		nv.quiet = !want.ok && !seen
		gen := want.gen
		nv.onPages = func(pages, words int) { s.pagesShown(gen, pages, words) }
		nv.onPanel = func(a float32) {
			if v.front == nv && v.anim == nil && v.sv == nil {
				v.clock.setPanel(a)
			}
		}
		v.gen = want.gen
		// The first carousel after start appears at once: a fade from the
		// bare start-up screen only delays the first photo.
		// Under a call nothing fades: nobody sees it, and it costs.
		// Nor under the setup screen.
		fade := s.fade > 0 && v.front != nil && !v.front.quiet && mode != device.ModeNightOff && !s.calling.Load() && v.sv == nil
		v.show(nv, fade, s.fade)
	} else {
		v.front.setText(text)
	}
	v.setMode(mode)
	s.syncSetup()
	if v.sv != nil {
		v.clock.setPanel(0) // the setup screen is a card: no shade
	}
	s.syncCall()
}

// show puts nv on screen, over a crossfade if fade.
func (v *view) show(nv *slideView, fade bool, d time.Duration) {
	if !fade {
		v.stopFade()
		v.releaseAllBut(nil)
		v.slides.Objects = []fyne.CanvasObject{nv}
		v.slides.Refresh()
		v.front = nv
		v.clock.setPanel(nv.panelAlpha())
		return
	}
	frame := v.startFade(nv)
	var a *fyne.Animation
	a = fyne.NewAnimation(d, func(p float32) {
		if v.anim == a {
			frame(p)
		}
	})
	a.Curve = fyne.AnimationEaseInOut
	v.anim = a
	a.Start()
}

// startFade lays nv, transparent, over the views shown and returns the
// fade's frame function: frame(p) shows the fade at p (0 to 1, after the
// easing curve), and at 1 finishes it. A fade still running stays as it
// is, under the new one; only the front view's texts are left to fade out.
func (v *view) startFade(nv *slideView) (frame func(p float32)) {
	if v.anim != nil {
		v.anim.Stop()
		v.anim = nil
	}
	old := v.front
	for _, o := range v.slides.Objects {
		if sv, ok := o.(*slideView); ok && sv != old {
			sv.setTextLevel(0)
		}
	}
	nv.setOpacity(0)
	v.slides.Add(nv)
	canvas.Refresh(v.ground)
	from, to := v.clock.panelAlpha, nv.panelAlpha()
	v.front = nv
	step := -1
	return func(p float32) {
		// Paint only when the fade reaches its next step (see opacitySteps).
		k := int(p * opacitySteps)
		if k == step && p < 1 {
			return
		}
		step = k
		// Texts fade through the background: the old out in the first
		// half, the new in in the second (setOpacity), never both.
		old.fadeTextOut(float32(step) / opacitySteps)
		nv.setOpacity(float32(step) / opacitySteps)
		v.clock.setPanel(from + (to-from)*p)
		canvas.Refresh(v.ground) // repaint: the photos' alpha changed
		if p >= 1 {
			v.finishFade()
		}
	}
}

// finishFade drops the views under the front one and stops animating.
func (v *view) finishFade() {
	v.anim = nil
	v.front.setOpacity(1)
	v.clock.setPanel(v.front.panelAlpha())
	if len(v.slides.Objects) > 1 {
		v.releaseAllBut(v.front)
		v.slides.Objects = []fyne.CanvasObject{v.front}
		canvas.Refresh(v.ground)
	}
}

// releaseAllBut frees the textures of the slide views on the canvas but
// keep, which are about to leave it.
func (v *view) releaseAllBut(keep *slideView) {
	for _, o := range v.slides.Objects {
		if sv, ok := o.(*slideView); ok && sv != keep {
			sv.release()
		}
	}
}

func (v *view) stopFade() {
	if v.anim != nil {
		v.anim.Stop()
		v.finishFade()
	}
}

func (v *view) setMode(m device.Mode) {
	if v.mode == m {
		return
	}
	v.mode = m
	v.apply()
}

// setCall covers the carousel with the call, or uncovers it.
func (v *view) setCall(on bool) {
	if v.inCall == on {
		return
	}
	v.inCall = on
	v.apply()
}

// apply shows the layers the mode and the call want. Under a call the
// carousel's layers are hidden, not only covered: the painter would
// still draw them at every video frame.
func (v *view) apply() {
	switch {
	case v.inCall, v.mode == device.ModeNightOff:
		v.stopFade()
		v.slides.Hide()
		v.setupBox.Hide()
		v.dim.Hide()
		v.clock.Hide()
	case v.mode == device.ModeNightDim:
		v.showBase()
		v.dim.Show()
		v.clock.setNight(true)
		v.clock.Show()
	default:
		v.showBase()
		v.dim.Hide()
		v.clock.setNight(false)
		v.clock.Show()
	}
}

// showBase shows the carousel, or the setup screen in its place.
func (v *view) showBase() {
	if v.sv != nil {
		v.stopFade()
		v.slides.Hide()
		v.setupBox.Show()
		v.clock.setPanel(0)
		return
	}
	v.setupBox.Hide()
	if v.front != nil && v.anim == nil {
		v.clock.setPanel(v.front.panelAlpha())
	}
	v.slides.Show()
}

// SetClockTrusted hides the clock while the time cannot be believed: it
// says "Setting the time…" in its place, and messages leave out when they
// were sent. When the time is trusted again everything shows. Safe from
// any goroutine.
func (s *Screen) SetClockTrusted(ok bool) {
	s.mu.Lock()
	changed := s.untrusted == ok
	s.untrusted = !ok
	s.mu.Unlock()
	if !changed {
		return
	}
	s.log.Info("screen: clock", "trusted", ok)
	s.do(s.sync)
}

// pagesShown is told by the view of gen (on Fyne's goroutine, where text
// can be measured) how many pages its text takes at the canvas's size and
// how many words the page shown has: that page stays its reading time,
// from now.
func (s *Screen) pagesShown(gen uint64, pages, words int) {
	d := readingDwell(words, s.dwell)
	s.mu.Lock()
	changed := s.shown.gen == gen && (s.shown.pages != pages || s.shown.dwell != d)
	if changed {
		s.shown.pages, s.shown.dwell = pages, d
		s.restart = true
	}
	s.mu.Unlock()
	if changed {
		s.wakeRun()
	}
}
