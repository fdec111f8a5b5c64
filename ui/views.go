package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-home/hearth/device"
)

// clockView is the large clock with weekday and date in the top-right
// corner. It covers the whole canvas (so it can lay itself out from the
// canvas size) but draws only the corner.
type clockView struct {
	widget.BaseWidget
	panel      *canvas.Rectangle
	time, date *canvas.Text
	// panelAlpha is how much shade is behind the clock (1 over photos, 0 on
	// cards); night puts an opaque black panel behind dimmed digits.
	panelAlpha float32
	night      bool
}

func newClockView() *clockView {
	c := &clockView{
		panel: canvas.NewRectangle(color.Transparent),
		time:  canvas.NewText("", textMain),
		date:  canvas.NewText("", textMain),
	}
	c.time.TextStyle = textStyle(true)
	c.time.Alignment = fyne.TextAlignTrailing
	c.date.Alignment = fyne.TextAlignTrailing
	c.ExtendBaseWidget(c)
	return c
}

// set changes the shown time; it redraws only when the text changed.
func (c *clockView) set(clock, date string) {
	if c.time.Text == clock && c.date.Text == date {
		return
	}
	c.time.Text, c.date.Text = clock, date
	c.layout(c.Size())
	canvas.Refresh(c.time)
	canvas.Refresh(c.date)
	canvas.Refresh(c.panel)
}

// setPanel changes the shade behind the clock (during crossfades).
func (c *clockView) setPanel(alpha float32) {
	if c.panelAlpha == alpha {
		return
	}
	c.panelAlpha = alpha
	c.applyColours()
	canvas.Refresh(c.panel)
}

func (c *clockView) setNight(night bool) {
	if c.night == night {
		return
	}
	c.night = night
	c.applyColours()
	canvas.Refresh(c.panel)
	canvas.Refresh(c.time)
	canvas.Refresh(c.date)
}

func (c *clockView) applyColours() {
	fg, panel := textMain, withAlpha(shade, c.panelAlpha)
	if c.night {
		fg, panel = textNight, black
	}
	c.time.Color, c.date.Color = fg, fg
	c.panel.FillColor = panel
}

func (c *clockView) layout(size fyne.Size) {
	if size.Width < 1 || size.Height < 1 {
		return
	}
	m := metricsFor(size)
	c.time.TextSize, c.date.TextSize = m.clock, m.date
	g := m.clockLayout(c.time.MinSize().Width, c.date.MinSize().Width)
	placeLine(c.time, g.right, g.timeBaseline, 0)
	placeLine(c.date, g.right, g.dateBaseline, 0)
	if c.time.Text == "" {
		// No time to show ("Setting the time…"): the line alone, at the
		// top, on a panel of its own height.
		shift := g.dateBaseline - g.timeBaseline + capRatio*(m.clock-m.date)
		placeLine(c.date, g.right, g.dateBaseline-shift, 0)
		g.panelSize.Height -= shift
	}
	c.panel.CornerRadius = m.pad
	c.panel.Move(g.panelPos)
	c.panel.Resize(g.panelSize)
}

func (c *clockView) CreateRenderer() fyne.WidgetRenderer {
	c.applyColours()
	return &clockRenderer{c: c, objs: []fyne.CanvasObject{c.panel, c.time, c.date}}
}

type clockRenderer struct {
	c    *clockView
	objs []fyne.CanvasObject
}

func (r *clockRenderer) Layout(s fyne.Size)           { r.c.layout(s) }
func (r *clockRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (r *clockRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *clockRenderer) Destroy()                     {}
func (r *clockRenderer) Refresh() {
	r.c.applyColours()
	r.c.layout(r.c.Size())
	for _, o := range r.objs {
		canvas.Refresh(o)
	}
}

// slideKind is what a slide view shows.
type slideKind int

const (
	kindEmpty slideKind = iota
	kindPhoto
	kindMessage
	// kindCard is a card the device composes (today's calls, a booked
	// call, what came in overnight): laid out like a message.
	kindCard
)

// slideText is what a message or card says: a bold head (the sender, a
// card's title), a line under it (when a message was sent) and the body.
type slideText struct {
	head, sub, body string
	// title: the head is a card's title, set larger than a sender.
	title bool
}

// textOf words a text slide for the screen at now; while the clock is
// not trusted the "sent" line is left out (it would be a guess).
func textOf(lc *locale, sl device.Slide, now time.Time, trusted bool) slideText {
	switch {
	case sl.Card != nil:
		title, body := lc.cardText(sl.Card, now)
		return slideText{head: title, body: strings.Join(body, "\n"), title: true}
	case sl.Photo:
		return slideText{}
	}
	t := slideText{body: sl.Text}
	if sl.From != "" {
		t.head = lc.from(sl.From)
	}
	if trusted {
		t.sub = sentLabel(lc, sl, now)
	}
	return t
}

// slideView draws one slide (or the empty state) over the whole canvas. A
// crossfade lays the next view over the current one and raises its
// opacity: images and rectangles in opacitySteps; texts in textSteps, and
// only in the fade's second half, after the old view's texts have faded
// out in its first half, so two texts never show at once.
type slideView struct {
	widget.BaseWidget
	kind  slideKind
	slide device.Slide
	pic   *photo
	lc    *locale
	text  slideText
	// page is the page of a long text shown (0 for the first).
	page int

	opacity float32
	level   int // opacity step last applied to the texts

	bg    *canvas.Rectangle // card or empty-state background
	img   *canvas.Image     // photo: the photo itself (its fill: bars)
	band  *canvas.Rectangle // photo: shade under the caption, beside or below the photo
	lines []line
	objs  []fyne.CanvasObject

	// panel is the clock shade this view wants (see panelAlpha).
	panel float32
	// onPanel, if set, is told when a new size changes panel.
	onPanel func(float32)
	// onPages, if set, is told at each layout of a text how many pages
	// it takes and how many words the page shown has.
	onPages func(pages, words int)

	// bars are the parts of the blurred fill the photo leaves visible
	// above its caption (letterbox bars), each a crop of the tiny fill
	// image: a fade blends only those pixels, not a full-screen layer
	// under the photo (that cost 5 % of a core over the carousel).
	bars []*canvas.Image
	// barRects and barsFor are where the bars are, for a screen of size
	// barsFor.
	barRects []box
	barsFor  fyne.Size
	// quiet: the empty view shown before the first carousel is known,
	// without the friendly line (it would flash at every start).
	quiet bool
}

// opacitySteps is how many distinct frames a crossfade paints. Each frame
// repaints the whole screen; under software GL that costs tens of
// milliseconds, so a fade painted at the display's 60 Hz kept a core busy.
// 16 steps over the default 1.2 s still reads as a calm fade.
const opacitySteps = 16

// textSteps is how many alpha levels a text line passes through in a fade
// (in, or out). Fyne caches a text's texture by its colour, so every new
// alpha means rasterising the line again on the CPU: at 16 levels that was
// most of a fade's cost. Photos and panels fade in opacitySteps (a GL
// uniform, cheap); text in these few steps, the old view's out in the
// fade's first half and the new one's in in its second.
const textSteps = 4

func newSlideView(kind slideKind, sl device.Slide, pic *photo, lc *locale, text slideText, page int) *slideView {
	v := &slideView{kind: kind, slide: sl, pic: pic, lc: lc, text: text, page: page, opacity: 1, level: textSteps}
	switch kind {
	case kindPhoto:
		v.img = canvas.NewImageFromImage(pic.img)
		v.img.FillMode = canvas.ImageFillStretch // placed at the photo's own aspect
		// The photo is screen-sized (media/photo) and shown at most a
		// little smaller (fitted above its caption): the GPU's bilinear
		// filter scales it. ImageScaleSmooth would scale it on the CPU
		// with Catmull-Rom each time its texture is made, with a 66 MB
		// buffer for a 1920x1080 photo: measured, +60 MiB private memory
		// and +4 % of a core over the carousel.
		v.img.ScaleMode = canvas.ImageScaleFastest
		v.band = canvas.NewRectangle(shade)
		v.panel = 1
	case kindMessage, kindCard:
		v.bg = canvas.NewRectangle(cardColour(sl.ID))
	default:
		v.bg = canvas.NewRectangle(emptyBG)
	}
	v.ExtendBaseWidget(v)
	return v
}

// release frees the textures of the view's images as it leaves the
// screen. Fyne frees a texture once it has not been drawn for FYNE_CACHE
// (5 s, cmd/hearthd/fyneenv); a photo's is 8 MB at 1920x1080, and under
// software GL (llvmpipe) that is the process's own memory. Refreshing an
// image drops its texture at the next frame, and a view no longer on the
// canvas is not drawn to make a new one. Fyne goroutine only, just before
// the view is taken off the canvas.
func (v *slideView) release() {
	if v.img == nil {
		return
	}
	canvas.Refresh(v.img)
	for _, b := range v.bars {
		canvas.Refresh(b)
	}
}

// panelAlpha is the clock shade this view wants: 1 where the clock sits
// over the photo, 0 on cards and beside a photo (the band is shade enough).
func (v *slideView) panelAlpha() float32 { return v.panel }

// setText updates the words (the "sent" label says "Today" until
// midnight, and goes while the clock is not trusted).
func (v *slideView) setText(t slideText) {
	if v.kind == kindPhoto || v.kind == kindEmpty || t == v.text {
		return
	}
	v.text = t
	v.layout(v.Size())
	v.Refresh()
}

// setOpacity fades the view in (0 to 1). It refreshes only what changed.
func (v *slideView) setOpacity(p float32) {
	p = min(max(p, 0), 1)
	v.opacity = p
	if v.bg != nil {
		v.bg.FillColor = withAlpha(v.baseBG(), p)
		canvas.Refresh(v.bg)
	}
	if v.img != nil {
		// Images are not refreshed: that would upload the texture again.
		// Their alpha is read at every paint, and the screen repaints
		// because the band (or the caller) is refreshed.
		for _, b := range v.bars {
			b.Translucency = float64(1 - p)
		}
		v.img.Translucency = float64(1 - p)
		v.band.FillColor = withAlpha(shade, p)
		canvas.Refresh(v.band)
	}
	v.setTextLevel(int(math.Round(float64(max(0, 2*p-1) * textSteps))))
}

// fadeTextOut lowers the texts as a fade over this view goes on (p from 0
// to 1): gone by the fade's middle.
func (v *slideView) fadeTextOut(p float32) {
	v.setTextLevel(int(math.Round(float64(max(0, 1-2*p) * textSteps))))
}

func (v *slideView) setTextLevel(level int) {
	if level == v.level {
		return
	}
	v.level = level
	for _, l := range v.lines {
		l.t.Color = withAlpha(l.base, float32(level)/textSteps)
		// At 0 the line is hidden: nothing to rasterise or paint.
		l.t.Hidden = level == 0
		canvas.Refresh(l.t)
	}
}

func (v *slideView) baseBG() color.NRGBA {
	if v.kind == kindMessage || v.kind == kindCard {
		return cardColour(v.slide.ID)
	}
	return emptyBG
}

// addLine adds a text line at the view's current opacity.
func (v *slideView) addLine(l line) {
	l.t.Color = withAlpha(l.base, float32(v.level)/textSteps)
	l.t.Hidden = v.level == 0
	v.lines = append(v.lines, l)
}

// layout builds the view's lines for a canvas size.
func (v *slideView) layout(size fyne.Size) {
	v.lines = v.lines[:0]
	if size.Width >= 1 && size.Height >= 1 {
		m := metricsFor(size)
		switch v.kind {
		case kindPhoto:
			panel := v.panel
			v.layoutPhoto(m)
			if v.panel != panel && v.onPanel != nil {
				v.onPanel(v.panel)
			}
		case kindMessage, kindCard:
			v.layoutText(m)
		default:
			v.layoutEmpty(m)
		}
	}
	v.objs = v.objs[:0]
	if v.bg != nil {
		v.objs = append(v.objs, v.bg)
	}
	if v.img != nil {
		for _, b := range v.bars {
			v.objs = append(v.objs, b)
		}
		v.objs = append(v.objs, v.img, v.band)
	}
	for _, l := range v.lines {
		v.objs = append(v.objs, l.t)
	}
}

// The caption goes where the photo is not. A photo narrow enough (portrait,
// square) stands at the left at full height and its caption sits in the
// column it leaves at the right, under the clock; a wider one is fitted to
// the space above a band at the bottom. Nothing is laid over the photo but
// the clock's panel in its corner.
const (
	// sideMinFrac and sideMinEms: the narrowest caption column, as a
	// fraction of the screen width and in caption sizes.
	sideMinFrac = 0.3
	sideMinEms  = 8
	// sideLines and bandLines are the most caption lines in the column
	// and in the band.
	sideLines = 6
	bandLines = 2
)

// layoutPhoto places the photo, its caption and its sender.
func (v *slideView) layoutPhoto(m metrics) {
	full := m.size
	b := v.pic.img.Bounds()
	iw, ih := float32(max(b.Dx(), 1)), float32(max(b.Dy(), 1))
	fit := func(area fyne.Size) fyne.Size {
		scale := min(area.Width/iw, area.Height/ih)
		return fyne.NewSize(iw*scale, ih*scale)
	}

	text := strings.Join(strings.Fields(v.slide.Text), " ")
	from := ""
	if v.slide.From != "" {
		from = v.lc.from(v.slide.From)
	}
	measure := measurer(m.caption, false)
	// place puts the photo in the area above the caption (or beside it:
	// then the photo fills its area) and the fill's bars around it.
	place := func(photo box, area fyne.Size) {
		v.img.Move(photo.pos)
		v.img.Resize(photo.size)
		v.placeBars(photo, area, full)
		v.panel = 0
		if overlaps(photo, m.clockBox(v.lc)) {
			v.panel = 1
		}
	}
	if text == "" && from == "" {
		v.band.Hide()
		ps := fit(full)
		place(box{fyne.NewPos((full.Width-ps.Width)/2, (full.Height-ps.Height)/2), ps}, full)
		return
	}
	v.band.Show()

	// Beside: the photo at full height on the left, the words in the column.
	if ps := fit(fyne.NewSize(full.Width, full.Height)); ps.Height >= full.Height-1 {
		col := full.Width - ps.Width
		width := col - 2*m.margin
		if col >= max(sideMinFrac*full.Width, sideMinEms*m.caption) {
			var caption []string
			if text != "" {
				caption = clip(wrap(text, width, measure), sideLines, width, measure)
			}
			bottom := full.Height - m.margin
			if _, _, top := m.captionBlock(len(caption), from != "", bottom); top >= m.headerBottom()+2*m.pad {
				place(box{fyne.Position{}, ps}, ps)
				v.band.Move(fyne.NewPos(ps.Width, 0))
				v.band.Resize(fyne.NewSize(col, full.Height))
				v.addCaption(m, caption, from, ps.Width+m.margin, width, bottom)
				return
			}
		}
	}

	// Below: a band at the bottom; the photo fitted to the space above it.
	width := full.Width - 2*m.margin
	var caption []string
	if text != "" {
		caption = clip(wrap(text, width, measure), bandLines, width, measure)
	}
	inner := 1.3 * m.pad
	bottom := full.Height - inner
	_, _, top := m.captionBlock(len(caption), from != "", bottom)
	bandTop := top - inner - 0.2*m.caption
	ps := fit(fyne.NewSize(full.Width, bandTop))
	place(box{fyne.NewPos((full.Width-ps.Width)/2, (bandTop-ps.Height)/2), ps}, fyne.NewSize(full.Width, bandTop))
	v.band.Move(fyne.NewPos(0, bandTop))
	v.band.Resize(fyne.NewSize(full.Width, full.Height-bandTop))
	v.addCaption(m, caption, from, m.margin, width, bottom)
}

// placeBars makes the fill's bars: the parts of area (from the top-left
// corner) that photo leaves, each showing the part of the fill (which
// stands for the whole screen, full) that lies there. The bars are made
// again only when they move: a layout that changes nothing must not hand
// the painter new objects (their new textures would be a repaint each).
func (v *slideView) placeBars(photo box, area, full fyne.Size) {
	x0, y0 := photo.pos.X, photo.pos.Y
	x1, y1 := x0+photo.size.Width, y0+photo.size.Height
	var rects []box
	for _, r := range []box{
		{fyne.Position{}, fyne.NewSize(x0, area.Height)},                      // left
		{fyne.NewPos(x1, 0), fyne.NewSize(area.Width-x1, area.Height)},        // right
		{fyne.NewPos(x0, 0), fyne.NewSize(photo.size.Width, y0)},              // above
		{fyne.NewPos(x0, y1), fyne.NewSize(photo.size.Width, area.Height-y1)}, // below
	} {
		if r.size.Width >= 1 && r.size.Height >= 1 {
			rects = append(rects, r)
		}
	}
	if slices.Equal(rects, v.barRects) && full == v.barsFor {
		return
	}
	v.barRects, v.barsFor = rects, full
	v.bars = v.bars[:0]
	for _, r := range rects {
		img := canvas.NewImageFromImage(cropFill(v.pic.fill, r, full))
		img.FillMode = canvas.ImageFillStretch
		img.ScaleMode = canvas.ImageScaleSmooth // a few pixels, stretched by the GPU
		img.Translucency = float64(1 - v.opacity)
		img.Move(r.pos)
		img.Resize(r.size)
		v.bars = append(v.bars, img)
	}
}

// cropFill is the part of fill (standing for a screen of size full) under
// r, at least one pixel each way.
func cropFill(fill image.Image, r box, full fyne.Size) image.Image {
	b := fill.Bounds()
	sx, sy := float32(b.Dx())/full.Width, float32(b.Dy())/full.Height
	x0 := b.Min.X + int(r.pos.X*sx)
	y0 := b.Min.Y + int(r.pos.Y*sy)
	x1 := max(x0+1, b.Min.X+int(math.Ceil(float64((r.pos.X+r.size.Width)*sx))))
	y1 := max(y0+1, b.Min.Y+int(math.Ceil(float64((r.pos.Y+r.size.Height)*sy))))
	rect := image.Rect(x0, y0, min(x1, b.Max.X), min(y1, b.Max.Y))
	if rect.Empty() {
		return fill
	}
	// A copy with its own origin: painters scale from (0, 0).
	out := image.NewNRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	draw.Draw(out, out.Bounds(), fill, rect.Min, draw.Src)
	return out
}

// addCaption adds the caption's lines and the sender's line, left at x
// and no wider than width, the lowest descender at bottom.
func (v *slideView) addCaption(m metrics, caption []string, from string, x, width, bottom float32) {
	capY, fromY, _ := m.captionBlock(len(caption), from != "", bottom)
	for i, s := range caption {
		v.addLine(newLine(s, m.caption, false, textMain, fyne.TextAlignLeading, x, capY[i], 0))
	}
	if from != "" {
		s := fitLine(from, width, measurer(m.from, true))
		v.addLine(newLine(s, m.from, true, textSoft, fyne.TextAlignLeading, x, fromY, 0))
	}
}

// captionBlock stacks n caption lines and, if from, the sender's line
// under them so that the lowest descender is at bottom: the baselines, and
// the top of the first line's capitals.
func (m metrics) captionBlock(n int, from bool, bottom float32) (capY []float32, fromY, top float32) {
	y := bottom - descRatio*m.caption
	top = bottom
	if from {
		fromY = bottom - descRatio*m.from
		top = fromY - capRatio*m.from
		y = fromY - 0.55*m.from - capRatio*m.from - descRatio*m.caption
	}
	capY = make([]float32, n)
	for i := n - 1; i >= 0; i-- {
		capY[i] = y
		top = y - capRatio*m.caption
		y -= 1.25 * m.caption
	}
	return capY, fromY, top
}

// overlaps reports whether two boxes share more than a pixel.
func overlaps(a, b box) bool {
	return a.pos.X+1 < b.pos.X+b.size.Width && b.pos.X+1 < a.pos.X+a.size.Width &&
		a.pos.Y+1 < b.pos.Y+b.size.Height && b.pos.Y+1 < a.pos.Y+a.size.Height
}

// layoutText: a calm card; the head (sender and time, or a card's title)
// top-left beside the clock, the body below, as large as fits. A body too
// long at the smallest size is split into pages; v.page is shown, with its
// mark ("2/3") at the bottom right.
func (v *slideView) layoutText(m metrics) {
	v.bg.Move(fyne.Position{})
	v.bg.Resize(m.size)
	f := frameText(m, v.lc, v.text)
	for _, h := range f.heads {
		v.addLine(newLine(h.s, h.size, h.bold, textSoft, fyne.TextAlignLeading, m.margin, h.y, 0))
	}
	pages, size := bodyPages(v.text.body, f.box, m.bodyMax, m.bodyMin, m.pageMark())
	if len(pages) == 0 {
		return
	}
	page := min(max(v.page, 0), len(pages)-1)
	lines := pages[page]
	if v.onPages != nil {
		v.onPages(len(pages), words(lines))
	}
	pitch := bodyPitch * size
	height := float32(len(lines)-1)*pitch + (capRatio+descRatio)*size
	y := f.top + capRatio*size
	if len(pages) == 1 {
		y += max(0, f.box.Height-height) * 0.4
	} else {
		mark := fmt.Sprintf("%d/%d", page+1, len(pages))
		v.addLine(newLine(mark, m.meta, false, textSoft, fyne.TextAlignTrailing,
			m.size.Width-m.margin, m.size.Height-0.9*m.margin, 0))
	}
	for _, s := range lines {
		v.addLine(newLine(s, size, false, textMain, fyne.TextAlignLeading, m.margin, y, 0))
		y += pitch
	}
}

// textFrame is where a text slide's parts go: its head lines, and the box
// (from top) that its body fills.
type textFrame struct {
	heads []headLine
	top   float32
	box   fyne.Size
}

type headLine struct {
	s    string
	size float32
	bold bool
	y    float32 // baseline
}

// frameText places the head beside the clock, or below it when it does
// not fit there (narrow screens, long names), and leaves the rest to the
// body.
func frameText(m metrics, lc *locale, t slideText) textFrame {
	g := m.clockLayout(0, 0)
	beside := m.size.Width - m.margin - m.clockWidth(lc) - 2*m.margin
	full := m.size.Width - 2*m.margin
	head := m.meta
	if t.title {
		head = m.caption
	}
	fits := measurer(head, true)(t.head) <= beside && measurer(m.meta, false)(t.sub) <= beside
	y := g.timeBaseline - capRatio*m.clock + capRatio*head // cap tops level with the clock's
	width := beside
	if !fits {
		y = m.headerBottom() + 1.5*m.pad + capRatio*head
		width = full
	}
	var f textFrame
	headBottom := float32(0)
	if t.head != "" {
		f.heads = append(f.heads, headLine{fitLine(t.head, width, measurer(head, true)), head, true, y})
		headBottom = y
		y += 0.6*head + 0.75*m.meta
	}
	if t.sub != "" {
		f.heads = append(f.heads, headLine{fitLine(t.sub, width, measurer(m.meta, false)), m.meta, false, y})
		headBottom = y
	}
	f.top = max(m.headerBottom(), headBottom+descRatio*m.meta) + 2.5*m.pad
	f.box = fyne.NewSize(full, m.size.Height-1.5*m.margin-f.top)
	return f
}

// layoutEmpty: the friendly line, centred below the clock.
func (v *slideView) layoutEmpty(m metrics) {
	v.bg.Move(fyne.Position{})
	v.bg.Resize(m.size)
	if v.quiet {
		return // starting: the clock only, until the carousel is known
	}
	width := m.size.Width - 2*m.margin
	measure := measurer(m.empty, false)
	lines := wrap(v.lc.emptyLine, width*0.8, measure)
	top := m.headerBottom()
	pitch := bodyPitch * m.empty
	height := float32(len(lines)-1)*pitch + (capRatio+descRatio)*m.empty
	y := top + max(0, m.size.Height-m.margin-top-height)*0.45 + capRatio*m.empty
	for _, s := range lines {
		v.addLine(newLine(s, m.empty, false, textMain, fyne.TextAlignCenter, m.margin, y, width))
		y += pitch
	}
}

// bodyPitch is the distance between body baselines per unit of text size.
const bodyPitch = 1.3

// bodyPages wraps a body into box at the largest size from maxSize down
// to minSize at which it fits on one page. Longer text stays at minSize
// and is split into pages of about equal length (reserve is kept free at
// the bottom of each for the page mark).
func bodyPages(text string, box fyne.Size, maxSize, minSize, reserve float32) ([][]string, float32) {
	linesFit := func(height, size float32) int {
		return int((height-(capRatio+descRatio)*size)/(bodyPitch*size)) + 1
	}
	step := max(1, (maxSize-minSize)/12)
	for size := maxSize; size > minSize; size -= step {
		lines := wrap(text, box.Width, measurer(size, false))
		if len(lines) <= linesFit(box.Height, size) {
			return pagesOf(lines, 1), size
		}
	}
	lines := wrap(text, box.Width, measurer(minSize, false))
	if len(lines) <= linesFit(box.Height, minSize) {
		return pagesOf(lines, 1), minSize
	}
	per := max(1, linesFit(box.Height-reserve, minSize))
	return pageBySentence(text, per, box.Width, measurer(minSize, false)), minSize
}

// pagesOf splits lines into n pages of about equal length, without blank
// lines at a page's top or bottom.
func pagesOf(lines []string, n int) [][]string {
	if len(lines) == 0 {
		return nil
	}
	per := (len(lines) + n - 1) / n
	var pages [][]string
	for i := 0; i < len(lines); i += per {
		if p := trimBlank(lines[i:min(i+per, len(lines))]); len(p) > 0 {
			pages = append(pages, p)
		}
	}
	return pages
}

// trimBlank drops blank lines at the top and bottom of a page.
func trimBlank(p []string) []string {
	for len(p) > 0 && p[0] == "" {
		p = p[1:]
	}
	for len(p) > 0 && p[len(p)-1] == "" {
		p = p[:len(p)-1]
	}
	return p
}

// pageBySentence fills pages of at most per lines with whole sentences, so
// that a reader never turns a page in the middle of one; a sentence
// longer than a page is cut between lines.
func pageBySentence(text string, per int, width float32, measure func(string) float32) [][]string {
	var pages [][]string
	flush := func(lines []string) {
		if p := trimBlank(lines); len(p) > 0 {
			pages = append(pages, p)
		}
	}
	cur := ""
	for _, sen := range sentences(text) {
		if lines := wrap(cur+sen, width, measure); len(lines) <= per {
			cur += sen
			continue
		}
		if strings.TrimSpace(cur) != "" {
			flush(wrap(cur, width, measure))
		}
		lines := wrap(sen, width, measure)
		for len(lines) > per {
			flush(lines[:per])
			lines = lines[per:]
		}
		cur = strings.Join(lines, " ") + " "
	}
	flush(wrap(cur, width, measure))
	return pages
}

// sentences cuts text after each sentence's end (., !, ?, … and the space
// after it) and after each line break; joined they are the text again.
func sentences(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		end := r == '\n'
		if !end && strings.ContainsRune(".!?…", r) {
			next := text[i+utf8.RuneLen(r):]
			end = next == "" || next[0] == ' ' || next[0] == '\n'
			if end && next != "" && next[0] == ' ' {
				continue // the space goes with this sentence: cut after it
			}
		}
		if r == ' ' && i > start && strings.ContainsRune(".!?…", lastRune(text[start:i])) {
			end = true
		}
		if end {
			out = append(out, text[start:i+utf8.RuneLen(r)])
			start = i + utf8.RuneLen(r)
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// words counts the words of a page.
func words(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(strings.Fields(l))
	}
	return n
}

// Reading time: an unhurried reader takes in about 100 words a minute,
// after a moment to notice that the screen changed.
const (
	readingPerWord = 600 * time.Millisecond
	readingFloor   = 4 * time.Second
)

// readingDwell is how long a page of n words stays: the configured dwell
// at least, longer when it takes longer to read.
func readingDwell(n int, dwell time.Duration) time.Duration {
	return max(dwell, readingFloor+time.Duration(n)*readingPerWord)
}

func (v *slideView) CreateRenderer() fyne.WidgetRenderer { return &slideRenderer{v: v} }

type slideRenderer struct{ v *slideView }

func (r *slideRenderer) Layout(s fyne.Size)           { r.v.layout(s) }
func (r *slideRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (r *slideRenderer) Objects() []fyne.CanvasObject { return r.v.objs }
func (r *slideRenderer) Destroy()                     {}
func (r *slideRenderer) Refresh() {
	for _, o := range r.v.objs {
		canvas.Refresh(o)
	}
}

// sentLabel is the "sent" line of a message slide ("" for others).
func sentLabel(lc *locale, sl device.Slide, now time.Time) string {
	if sl.Photo || sl.Card != nil || sl.Sent.IsZero() {
		return ""
	}
	return lc.sent(sl.Sent.In(now.Location()), now)
}
