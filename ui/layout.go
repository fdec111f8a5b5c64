package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
)

// metrics are the sizes of everything on screen, all derived from the
// canvas size so that 1280x720 and 1920x1080 look the same. Text sizes are
// fyne text sizes (the em size); digits and capitals are capRatio of that.
type metrics struct {
	size        fyne.Size
	margin, pad float32
	// clock is the size of the HH:MM digits, date the line under them.
	clock, date float32
	// bodyMax is where a message's text starts; long text shrinks to
	// bodyMin (capitals 5 % of the height) and is then split into pages.
	bodyMax, bodyMin float32
	// meta is the sender and sent time on a card.
	meta float32
	// caption and from are the photo band's lines.
	caption, from float32
	// empty is the friendly line of the empty state.
	empty float32
}

// The smallest sizes the brief allows, as fractions of the screen height:
// clock digits, every text's size, and a message's capitals.
const (
	minClockFrac = 0.10
	minTextFrac  = 0.05
	minCapFrac   = 0.05
)

func metricsFor(size fyne.Size) metrics {
	h := size.Height
	return metrics{
		size:   size,
		margin: 0.045 * h, pad: 0.02 * h,
		clock: 0.15 * h, date: 0.056 * h,
		// 0.072: a hair over minCapFrac/capRatio, so that rounding to
		// pixels never takes the capitals under 5 %.
		bodyMax: 0.1 * h, bodyMin: 0.072 * h,
		meta:    0.056 * h,
		caption: 0.072 * h, from: 0.056 * h,
		empty: 0.078 * h,
	}
}

// capRatio is the height of digits and capitals per unit of text size in
// Fyne's default font (Noto Sans: 714/1000 em). Text is placed by its
// baseline so that what the eye sees lines up, not the font's boxes.
const capRatio = 0.714

// descRatio is how far descenders (g, y, p) reach below the baseline.
const descRatio = 0.27

// clockGeom is where the clock block sits (top-right corner). Slide views
// use its bottom to keep their text clear of it.
type clockGeom struct {
	right                      float32 // right edge of the text
	timeBaseline, dateBaseline float32
	// panel is the shade behind the clock over photos.
	panelPos  fyne.Position
	panelSize fyne.Size
}

// clockLayout places the clock for the strings it will show; widths are
// those of the measured strings.
func (m metrics) clockLayout(timeW, dateW float32) clockGeom {
	inner := 1.2 * m.pad
	right := m.size.Width - m.margin - inner
	top := m.margin + inner
	g := clockGeom{right: right}
	g.timeBaseline = top + capRatio*m.clock
	g.dateBaseline = g.timeBaseline + 0.5*m.date + capRatio*m.date
	bottom := g.dateBaseline + descRatio*m.date + inner
	w := max(timeW, dateW) + 2*inner
	g.panelPos = fyne.NewPos(right+inner-w, m.margin)
	g.panelSize = fyne.NewSize(w, bottom-m.margin)
	return g
}

// clockWidth is the widest the clock block (with its panel) can get in a
// language: the widest weekday and month, day 28. Card headers keep clear
// of it, so they do not move when the date changes.
func (m metrics) clockWidth(lc *locale) float32 {
	widest := func(names []string, size float32) string {
		best, bw := "", float32(0)
		for _, n := range names {
			if w := fyne.MeasureText(n, size, fyne.TextStyle{}).Width; w > bw {
				best, bw = n, w
			}
		}
		return best
	}
	date := lc.date(widest(lc.weekdays[:], m.date), 28, widest(lc.months[:], m.date))
	dw := fyne.MeasureText(date, m.date, fyne.TextStyle{}).Width
	tw := fyne.MeasureText("00:00", m.clock, textStyle(true)).Width
	return max(dw, tw) + 2*1.2*m.pad
}

// clockBox is the most room the clock block (with its panel) takes in a
// language.
func (m metrics) clockBox(lc *locale) box {
	w := m.clockWidth(lc)
	return box{fyne.NewPos(m.size.Width-m.margin-w, m.margin), fyne.NewSize(w, m.headerBottom()-m.margin)}
}

// pageMark is the room a long text's page mark ("2/3") takes at the
// bottom of its page.
func (m metrics) pageMark() float32 { return capRatio*m.meta + m.pad }

// headerBottom is the lowest point of the clock block.
func (m metrics) headerBottom() float32 {
	g := m.clockLayout(0, 0)
	return g.panelPos.Y + g.panelSize.Height
}

// textStyle is regular or bold.
func textStyle(bold bool) fyne.TextStyle { return fyne.TextStyle{Bold: bold} }

// LoadFonts loads the fonts of every text style the screen uses (Fyne
// parses them at the first text measured in each style). Safe from any
// goroutine once the Fyne app exists; it measures Latin text only, which
// the theme's own font holds, so no fallback font is added while the Fyne
// goroutine may be shaping text.
func LoadFonts() {
	for _, bold := range []bool{false, true} {
		fyne.MeasureText("Hearth 0123", 20, textStyle(bold))
	}
}

// measurer returns the width of a line at a size and style.
func measurer(size float32, bold bool) func(string) float32 {
	st := textStyle(bold)
	return func(s string) float32 { return fyne.MeasureText(s, size, st).Width }
}

// ascent is the distance from the top of a text object to its baseline.
func ascent(size float32, bold bool) float32 {
	_, base := fyne.CurrentApp().Driver().RenderedTextSize("0", size, textStyle(bold), nil)
	return base
}

// line is one canvas.Text and the colour it has at full opacity.
type line struct {
	t    *canvas.Text
	base color.NRGBA
}

// newLine makes a one-line text whose baseline is at y. With
// TextAlignLeading x is its left edge, with TextAlignTrailing its right
// edge, and with TextAlignCenter the middle of a box of width w at x.
func newLine(s string, size float32, bold bool, col color.NRGBA, align fyne.TextAlign, x, y, w float32) line {
	t := canvas.NewText(s, col)
	t.TextSize = size
	t.TextStyle = textStyle(bold)
	t.Alignment = align
	placeLine(t, x, y, w)
	return line{t: t, base: col}
}

// placeLine positions t as newLine describes.
func placeLine(t *canvas.Text, x, y, w float32) {
	ms := t.MinSize()
	switch t.Alignment {
	case fyne.TextAlignTrailing:
		x -= ms.Width
	case fyne.TextAlignCenter:
		ms.Width = w
	}
	t.Move(fyne.NewPos(x, y-ascent(t.TextSize, t.TextStyle.Bold)))
	t.Resize(ms)
}

// box is a rectangle on the canvas.
type box struct {
	pos  fyne.Position
	size fyne.Size
}
