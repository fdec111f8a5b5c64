package ui

import (
	"image"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// The QR code's colours: near-black modules on the warm white of the
// screen's text. Scanners want dark on light with a clear quiet zone; the
// light square also stands out from the calm blue around it.
var (
	qrDark  = color.NRGBA{R: 0x10, G: 0x14, B: 0x1C, A: 0xFF}
	qrLight = textMain
)

// setupView is the "this screen is not set up yet" screen: on the calm blue
// of the empty state, a title and a reassuring line for the resident
// top-left (level with the clock, which stays), the device's code in large
// type below them and, under the clock, the code as a QR code for the
// installer. Nothing on it moves.
type setupView struct {
	widget.BaseWidget
	code, hint string
	bits       [][]bool // the QR symbol with its quiet zone; nil: none
	lc         *locale

	bg    *canvas.Rectangle
	frame *canvas.Rectangle // a light rounded card under the QR code
	qr    *canvas.Image
	// qrScale is the pixels per module of qr.Image (0 before layout).
	qrScale int

	lines []line
	objs  []fyne.CanvasObject
}

func newSetupView(code, hint string, bits [][]bool, lc *locale) *setupView {
	v := &setupView{code: code, hint: hint, bits: bits, lc: lc, bg: canvas.NewRectangle(emptyBG)}
	if len(bits) > 0 {
		v.frame = canvas.NewRectangle(qrLight)
		v.qr = canvas.NewImageFromImage(nil)
		v.qr.FillMode = canvas.ImageFillStretch
		// Nearest neighbour: if the canvas scale is not 1 the painter
		// scales the modules, and they must stay sharp squares.
		v.qr.ScaleMode = canvas.ImageScalePixels
	}
	v.ExtendBaseWidget(v)
	return v
}

// setupMetrics are the setup screen's sizes, from the canvas height.
type setupMetrics struct {
	metrics
	// title shrinks from titleMax to titleMin to fit three lines; the
	// code from codeMax to codeMin to fit one.
	titleMax, titleMin float32
	body               float32
	codeMax, codeMin   float32
	hint               float32
	// qr is the wanted side of the QR code with its quiet zone.
	qr float32
}

func setupMetricsFor(size fyne.Size) setupMetrics {
	h := size.Height
	return setupMetrics{
		metrics:  metricsFor(size),
		titleMax: 0.085 * h, titleMin: 0.065 * h,
		body:    0.06 * h,
		codeMax: 0.1 * h, codeMin: 0.065 * h,
		hint: 0.056 * h,
		qr:   0.3 * h,
	}
}

// qrImage draws a QR symbol (bits[y][x], true for a dark module, quiet zone
// included) with scale x scale pixels per module: every module a sharp,
// uniform square.
func qrImage(bits [][]bool, scale int) *image.NRGBA {
	n := len(bits)
	img := image.NewNRGBA(image.Rect(0, 0, n*scale, n*scale))
	for y, row := range bits {
		for x, dark := range row {
			c := qrLight
			if dark {
				c = qrDark
			}
			for py := y * scale; py < (y+1)*scale; py++ {
				i := img.PixOffset(x*scale, py)
				for range scale {
					img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
					i += 4
				}
			}
		}
	}
	return img
}

// qrModuleScale is the largest whole number of pixels per module that keeps
// a symbol of n modules within side.
func qrModuleScale(n int, side float32) int {
	if n <= 0 {
		return 0
	}
	return max(1, int(side)/n)
}

func (v *setupView) layout(size fyne.Size) {
	v.lines = v.lines[:0]
	v.objs = append(v.objs[:0], v.bg)
	v.bg.Move(fyne.Position{})
	v.bg.Resize(size)
	if size.Width < 1 || size.Height < 1 {
		return
	}
	m := setupMetricsFor(size)
	right := m.size.Width - m.margin
	below := m.headerBottom()

	// The QR code on its card, right-aligned with the clock and centred
	// in the height under it.
	var qrPos fyne.Position
	var qrSide, edge float32
	lowRight := right // where text under the clock must end
	if v.qr != nil {
		k := qrModuleScale(len(v.bits), min(m.qr, m.size.Height-m.margin-below-2*m.pad))
		if k != v.qrScale {
			v.qrScale = k
			v.qr.Image = qrImage(v.bits, k)
			v.qr.Refresh()
		}
		qrSide, edge = float32(len(v.bits)*k), float32(k)
		// Whole pixels: a module must not straddle two.
		qrPos = fyne.NewPos(float32(math.Round(float64(right-edge-qrSide))),
			float32(math.Round(float64(below+max(m.pad+edge, (m.size.Height-m.margin-below-qrSide)/2)))))
		lowRight = qrPos.X - edge - 1.5*m.margin
	}

	// Text runs beside the clock as far as the widest date it can show,
	// and under the clock as far as the QR code.
	x := m.margin
	topWidth := right - m.clockWidth(v.lc) - m.margin - x
	lowWidth := lowRight - x
	if topWidth < 1 || lowWidth < 1 {
		return // a canvas too small to hold anything (a window being made)
	}
	widthAt := func(capTop float32) float32 {
		if capTop >= below {
			return lowWidth
		}
		return topWidth
	}

	// The title and the line, from the top, cap tops level with the clock's.
	g := m.clockLayout(0, 0)
	capTop := g.timeBaseline - capRatio*m.clock
	titleLines, titleSize := fitLines(v.lc.setup.title, widthAt(capTop), 3, true, m.titleMax, m.titleMin)
	y := capTop + capRatio*titleSize
	for i, s := range titleLines {
		if i > 0 {
			y += 1.2 * titleSize
		}
		v.addLine(newLine(s, titleSize, true, textMain, fyne.TextAlignLeading, x, y, 0))
	}
	capTop = y + descRatio*titleSize + 0.75*m.body
	width := widthAt(capTop)
	bodyMeasure := measurer(m.body, false)
	y = capTop + capRatio*m.body
	for i, s := range clip(balance(v.lc.setup.line, width, bodyMeasure), 4, width, bodyMeasure) {
		if i > 0 {
			y += bodyPitch * m.body
		}
		v.addLine(newLine(s, m.body, false, textMain, fyne.TextAlignLeading, x, y, 0))
	}
	textBottom := y + descRatio*m.body

	if v.code != "" {
		v.layoutCode(m, x, lowWidth, max(below, textBottom+1.2*m.body), qrPos.Y+qrSide/2)
	}
	if v.qr != nil {
		// The card is one module wider than the quiet zone on each side,
		// with soft corners.
		v.frame.CornerRadius = 2 * edge
		v.frame.Move(qrPos.SubtractXY(edge, edge))
		v.frame.Resize(fyne.NewSize(qrSide+2*edge, qrSide+2*edge))
		v.qr.Move(qrPos)
		v.qr.Resize(fyne.NewSize(qrSide, qrSide))
		v.objs = append(v.objs, v.frame, v.qr)
	}
}

// layoutCode places "Code: HRTH-7F3A-91C2" (on one line as large as fits,
// or the label on a line of its own) and the hint under it, as a block
// centred on middle (the QR code's, which it names; 0: none), starting no
// higher than top and ending on the screen.
func (v *setupView) layoutCode(m setupMetrics, x, width, top, middle float32) {
	label := v.lc.setup.code + ": "
	inline, codeSize := false, m.codeMin
	for size := m.codeMax; size >= m.codeMin; size -= max(1, (m.codeMax-m.codeMin)/8) {
		if measurer(size, false)(label)+measurer(size, true)(v.code) <= width {
			inline, codeSize = true, size
			break
		}
	}
	codeLines := []string{v.code}
	if !inline {
		codeLines, codeSize = fitLines(v.code, width, 2, true, m.codeMax, m.codeMin)
	}
	hintMeasure := measurer(m.hint, false)
	var hintLines []string
	if v.hint != "" {
		hintLines = clip(wrap(v.hint, width, hintMeasure), 2, width, hintMeasure)
	}

	// The block's height from the first cap top to the last descender.
	height := float32(len(codeLines)-1)*1.2*codeSize + (capRatio+descRatio)*codeSize
	if !inline {
		height += (capRatio+descRatio)*m.body + 0.5*m.body
	}
	if len(hintLines) > 0 {
		height += 0.6*m.hint + float32(len(hintLines)-1)*bodyPitch*m.hint + (capRatio+descRatio)*m.hint
	}
	if middle <= 0 {
		middle = (top + m.size.Height - m.margin) / 2
	}
	y := min(max(middle-height/2, top), m.size.Height-m.margin-height)
	if !inline {
		y += capRatio * m.body
		v.addLine(newLine(v.lc.setup.code, m.body, false, textSoft, fyne.TextAlignLeading, x, y, 0))
		y += descRatio*m.body + 0.5*m.body
	}
	y += capRatio * codeSize
	for i, s := range codeLines {
		if i > 0 {
			y += 1.2 * codeSize
		}
		cx := x
		if inline {
			v.addLine(newLine(label, codeSize, false, textSoft, fyne.TextAlignLeading, x, y, 0))
			cx += measurer(codeSize, false)(label)
		}
		v.addLine(newLine(s, codeSize, true, textMain, fyne.TextAlignLeading, cx, y, 0))
	}
	y += descRatio * codeSize
	for i, s := range hintLines {
		if i == 0 {
			y += 0.6*m.hint + capRatio*m.hint
		} else {
			y += bodyPitch * m.hint
		}
		v.addLine(newLine(s, m.hint, false, textSoft, fyne.TextAlignLeading, x, y, 0))
	}
}

func (v *setupView) addLine(l line) {
	v.lines = append(v.lines, l)
	v.objs = append(v.objs, l.t)
}

// fitLines wraps text into at most n lines of width at the largest size
// from maxSize down to minSize; at minSize the last line is cut with an
// ellipsis.
func fitLines(text string, width float32, n int, bold bool, maxSize, minSize float32) ([]string, float32) {
	text = strings.Join(strings.Fields(text), " ")
	step := max(1, (maxSize-minSize)/8)
	for size := maxSize; size > minSize; size -= step {
		if lines := balance(text, width, measurer(size, bold)); len(lines) <= n {
			return lines, size
		}
	}
	measure := measurer(minSize, bold)
	return clip(wrap(text, width, measure), n, width, measure), minSize
}

// balance wraps text into as many lines as wrap does at width, but as
// narrow as that allows, so the lines come out of similar length ("This
// screen is / not set up yet", not "This screen is not set up / yet").
func balance(text string, width float32, measure func(string) float32) []string {
	lines := wrap(text, width, measure)
	if len(lines) < 2 {
		return lines
	}
	words := len(strings.Fields(text))
	// The narrowest width that keeps the count of lines and splits no word.
	lo, hi := float32(0), width
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		l := wrap(text, mid, measure)
		if len(l) == len(lines) && len(strings.Fields(strings.Join(l, " "))) == words {
			hi = mid
		} else {
			lo = mid
		}
	}
	return wrap(text, hi, measure)
}

func (v *setupView) CreateRenderer() fyne.WidgetRenderer { return &setupRenderer{v: v} }

type setupRenderer struct{ v *setupView }

func (r *setupRenderer) Layout(s fyne.Size)           { r.v.layout(s) }
func (r *setupRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (r *setupRenderer) Objects() []fyne.CanvasObject { return r.v.objs }
func (r *setupRenderer) Destroy()                     {}
func (r *setupRenderer) Refresh() {
	for _, o := range r.v.objs {
		canvas.Refresh(o)
	}
}
