package ui

import (
	"image/color"
	"math"
	"strings"
	"time"

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
)

// slideView draws one slide (or the empty state) over the whole canvas. A
// crossfade lays the next view over the current one and raises its
// opacity: images and rectangles in opacitySteps, texts in textSteps.
type slideView struct {
	widget.BaseWidget
	kind  slideKind
	slide device.Slide
	pic   *photo
	lc    *locale
	sent  string // the message's "sent" label, relative to the day

	opacity float32
	level   int // opacity step last applied to the texts

	bg        *canvas.Rectangle // card or empty-state background
	fill, img *canvas.Image     // photo: blurred fill and the photo itself
	band      *canvas.Rectangle // photo: shade under the caption
	lines     []line
	objs      []fyne.CanvasObject

	// fillHidden: the photo covers the screen, its fill is left out.
	fillHidden bool
	// quiet: the empty view shown before the first carousel is known,
	// without the friendly line (it would flash at every start).
	quiet bool
}

// opacitySteps is how many distinct frames a crossfade paints. Each frame
// repaints the whole screen; under software GL that costs tens of
// milliseconds, so a fade painted at the display's 60 Hz kept a core busy.
// 16 steps over the default 1.2 s still reads as a calm fade.
const opacitySteps = 16

// textSteps is how many alpha levels a text line passes through in a fade.
// Fyne caches a text's texture by its colour, so every new alpha means
// rasterising the line again on the CPU: at 16 levels that was most of a
// fade's cost. Photos and panels fade in opacitySteps (a GL uniform, cheap);
// text in these few steps.
const textSteps = 4

func newSlideView(kind slideKind, sl device.Slide, pic *photo, lc *locale, sent string) *slideView {
	v := &slideView{kind: kind, slide: sl, pic: pic, lc: lc, sent: sent, opacity: 1, level: textSteps}
	switch kind {
	case kindPhoto:
		v.fill = canvas.NewImageFromImage(pic.fill)
		v.fill.FillMode = canvas.ImageFillStretch
		v.fill.ScaleMode = canvas.ImageScaleSmooth
		v.img = canvas.NewImageFromImage(pic.img)
		v.img.FillMode = canvas.ImageFillContain
		v.img.ScaleMode = canvas.ImageScaleSmooth
		v.band = canvas.NewRectangle(shade)
	case kindMessage:
		v.bg = canvas.NewRectangle(cardColour(sl.ID))
	default:
		v.bg = canvas.NewRectangle(emptyBG)
	}
	v.ExtendBaseWidget(v)
	return v
}

// panelAlpha is the clock shade this view wants: photos need it.
func (v *slideView) panelAlpha() float32 {
	if v.kind == kindPhoto {
		return 1
	}
	return 0
}

// setSent updates the "sent" label (it says "Today" until midnight).
func (v *slideView) setSent(sent string) {
	if v.kind != kindMessage || sent == v.sent {
		return
	}
	v.sent = sent
	v.layout(v.Size())
	for _, l := range v.lines {
		canvas.Refresh(l.t)
	}
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
		v.fill.Translucency = float64(1 - p)
		v.img.Translucency = float64(1 - p)
		v.band.FillColor = withAlpha(shade, p)
		canvas.Refresh(v.band)
	}
	level := int(math.Round(float64(p * textSteps)))
	if level == v.level {
		return
	}
	v.level = level
	for _, l := range v.lines {
		l.t.Color = withAlpha(l.base, float32(level)/textSteps)
		canvas.Refresh(l.t)
	}
}

func (v *slideView) baseBG() color.NRGBA {
	if v.kind == kindMessage {
		return cardColour(v.slide.ID)
	}
	return emptyBG
}

// addLine adds a text line at the view's current opacity.
func (v *slideView) addLine(l line) {
	l.t.Color = withAlpha(l.base, float32(v.level)/textSteps)
	v.lines = append(v.lines, l)
}

// layout builds the view's lines for a canvas size.
func (v *slideView) layout(size fyne.Size) {
	v.lines = v.lines[:0]
	if size.Width >= 1 && size.Height >= 1 {
		m := metricsFor(size)
		switch v.kind {
		case kindPhoto:
			v.layoutPhoto(m)
		case kindMessage:
			v.layoutMessage(m)
		default:
			v.layoutEmpty(m)
		}
	}
	v.objs = v.objs[:0]
	if v.bg != nil {
		v.objs = append(v.objs, v.bg)
	}
	if v.img != nil {
		if !v.fillHidden {
			v.objs = append(v.objs, v.fill)
		}
		v.objs = append(v.objs, v.img, v.band)
	}
	for _, l := range v.lines {
		v.objs = append(v.objs, l.t)
	}
}

// layoutPhoto: the photo fills the screen (aspect kept) on its blurred
// fill; the caption and sender sit on a shaded band at the bottom.
func (v *slideView) layoutPhoto(m metrics) {
	full := m.size
	v.fill.Move(fyne.Position{})
	v.fill.Resize(full)
	v.img.Move(fyne.Position{})
	v.img.Resize(full)
	// A photo of the screen's shape covers its fill: leave the fill out so
	// a crossfade does not blend a layer nobody sees.
	b := v.pic.img.Bounds()
	if iw, ih := float32(b.Dx()), float32(b.Dy()); iw > 0 && ih > 0 {
		scale := min(full.Width/iw, full.Height/ih)
		v.fillHidden = full.Width-iw*scale < 1 && full.Height-ih*scale < 1
	}

	width := full.Width - 2*m.margin
	var caption []string
	if v.slide.Text != "" {
		measure := measurer(m.caption, false)
		// A caption is one paragraph, at most two lines.
		text := strings.Join(strings.Fields(v.slide.Text), " ")
		caption = clip(wrap(text, width, measure), 2, width, measure)
	}
	from := ""
	if v.slide.From != "" {
		from = fitLine(v.lc.from(v.slide.From), width, measurer(m.from, true))
	}
	if len(caption) == 0 && from == "" {
		v.band.Hide()
		return
	}
	v.band.Show()
	// Bottom-up: the sender's line, then the caption above it.
	inner := 1.3 * m.pad
	y := full.Height - inner - descRatio*m.from
	if from == "" {
		y = full.Height - inner - descRatio*m.caption
	}
	top := y
	if from != "" {
		v.addLine(newLine(from, m.from, true, textSoft, fyne.TextAlignLeading, m.margin, y, 0))
		top = y - capRatio*m.from
		y -= 0.55*m.from + capRatio*m.from + descRatio*m.caption
	}
	for i := len(caption) - 1; i >= 0; i-- {
		if i < len(caption)-1 {
			y -= 1.25 * m.caption
		}
		v.addLine(newLine(caption[i], m.caption, false, textMain, fyne.TextAlignLeading, m.margin, y, 0))
		top = y - capRatio*m.caption
	}
	bandTop := top - inner - 0.2*m.caption
	v.band.Move(fyne.NewPos(0, bandTop))
	v.band.Resize(fyne.NewSize(full.Width, full.Height-bandTop))
}

// layoutMessage: a calm card; sender and time top-left beside the clock,
// the message below, as large as fits.
func (v *slideView) layoutMessage(m metrics) {
	v.bg.Move(fyne.Position{})
	v.bg.Resize(m.size)

	// Sender and time go top-left beside the clock, or below it when
	// they do not fit there (narrow screens, long names).
	fromText := ""
	if v.slide.From != "" {
		fromText = v.lc.from(v.slide.From)
	}
	g := m.clockLayout(0, 0)
	beside := m.size.Width - m.margin - m.clockWidth(v.lc) - 2*m.margin
	full := m.size.Width - 2*m.margin
	fits := measurer(m.meta, true)(fromText) <= beside && measurer(m.meta, false)(v.sent) <= beside
	y := g.timeBaseline - capRatio*m.clock + capRatio*m.meta // cap tops level with the clock's
	width := beside
	if !fits {
		y = m.headerBottom() + 1.5*m.pad + capRatio*m.meta
		width = full
	}
	headBottom := float32(0)
	if fromText != "" {
		s := fitLine(fromText, width, measurer(m.meta, true))
		v.addLine(newLine(s, m.meta, true, textSoft, fyne.TextAlignLeading, m.margin, y, 0))
		headBottom = y
		y += 1.35 * m.meta
	}
	if v.sent != "" {
		s := fitLine(v.sent, width, measurer(m.meta, false))
		v.addLine(newLine(s, m.meta, false, textSoft, fyne.TextAlignLeading, m.margin, y, 0))
		headBottom = y
	}
	top := max(m.headerBottom(), headBottom+descRatio*m.meta) + 2.5*m.pad
	box := fyne.NewSize(m.size.Width-2*m.margin, m.size.Height-1.5*m.margin-top)
	lines, size := fitBody(v.slide.Text, box, m.bodyMax, m.bodyMin)
	pitch := bodyPitch * size
	height := float32(len(lines)-1)*pitch + (capRatio+descRatio)*size
	y = top + max(0, box.Height-height)*0.4 + capRatio*size
	for _, s := range lines {
		v.addLine(newLine(s, size, false, textMain, fyne.TextAlignLeading, m.margin, y, 0))
		y += pitch
	}
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

// fitBody wraps a message into box at the largest size from max down to
// min that fits; at min it cuts the text with an ellipsis.
func fitBody(text string, box fyne.Size, maxSize, minSize float32) ([]string, float32) {
	fits := func(n int, size float32) bool {
		return float32(n-1)*bodyPitch*size+(capRatio+descRatio)*size <= box.Height
	}
	step := max(1, (maxSize-minSize)/12)
	for size := maxSize; size > minSize; size -= step {
		lines := wrap(text, box.Width, measurer(size, false))
		if fits(len(lines), size) {
			return lines, size
		}
	}
	measure := measurer(minSize, false)
	lines := wrap(text, box.Width, measure)
	n := len(lines)
	for n > 1 && !fits(n, minSize) {
		n--
	}
	return clip(lines, n, box.Width, measure), minSize
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
	if sl.Photo || sl.Sent.IsZero() {
		return ""
	}
	return lc.sent(sl.Sent.In(now.Location()), now)
}
