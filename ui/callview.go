package ui

import (
	"image"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-home/hearth/device"
)

// callView draws one state of a call over the whole canvas. A new one is
// made for every ShowCall (a rare event); frames only swap the pictures
// of the one on screen.
//
// The notices (announcing, ringing, connecting, ended) are calm cards:
// the caller's name large in the middle. An active call shows the remote
// pictures tiled over black, each with its name top-left; the resident's
// own picture bottom-right with the camera and microphone marks above it
// ("this is you, and your camera is on"); the hang-up button
// bottom-centre with the time warning above it.
type callView struct {
	widget.BaseWidget
	view   device.CallView
	gen    uint64
	lc     *locale
	now    time.Time
	minute int // minutes in the warning shown

	bg    *canvas.Rectangle
	tiles []*tile
	self  *canvas.Image
	// selfFrame is the border of the self view, selfSeq the frame shown.
	selfFrame *canvas.Rectangle
	selfSeq   uint64
	selfNext  frame
	hang      *hangupButton // nil when there is nothing to end

	lines []line
	objs  []fyne.CanvasObject
}

// tile is one remote participant.
type tile struct {
	id, name string
	bg       *canvas.Rectangle
	img      *canvas.Image
	seq      uint64 // the frame shown; 0 for none yet
	next     frame
	// shape is the picture's size when laid out: the name sits on the
	// picture's corner, so a new shape means a new layout.
	shape image.Point
}

func newCallView(v device.CallView, gen uint64, lc *locale, now time.Time, hangup func()) *callView {
	cv := &callView{view: v, gen: gen, lc: lc, now: now, bg: canvas.NewRectangle(callBG)}
	if v.Phase == device.CallActive {
		cv.bg.FillColor = black
		for _, p := range v.Participants {
			t := &tile{id: p.ID, name: p.Name, bg: canvas.NewRectangle(tileBG), img: canvas.NewImageFromImage(nil)}
			if t.name == "" {
				t.name = p.ID
			}
			t.img.FillMode = canvas.ImageFillContain
			t.img.ScaleMode = canvas.ImageScaleSmooth
			cv.tiles = append(cv.tiles, t)
		}
		cv.self = canvas.NewImageFromImage(nil)
		cv.self.FillMode = canvas.ImageFillContain
		cv.self.ScaleMode = canvas.ImageScaleSmooth
		cv.selfFrame = canvas.NewRectangle(black)
		cv.selfFrame.StrokeColor = textMain
	}
	if v.Hangup != nil && (v.Phase == device.CallRinging || v.Phase == device.CallActive) {
		cv.hang = newHangupButton(lc.call.hangup, hangup)
	}
	cv.minute = minutesLeft(v.Ends, now)
	cv.ExtendBaseWidget(cv)
	return cv
}

// setFrames shows the pictures in tile.next and selfNext that are newer
// than those shown. Fyne goroutine only.
func (cv *callView) setFrames() {
	if cv.view.Phase != device.CallActive {
		return
	}
	relayout := false
	for _, t := range cv.tiles {
		if t.next.img == nil || t.next.seq == t.seq {
			continue
		}
		// The first picture moves the name to its corner; so does one of
		// another shape (a phone turned).
		relayout = relayout || t.seq == 0 || t.next.img.Bounds().Size() != t.shape
		t.seq = t.next.seq
		t.img.Image = t.next.img
		t.next = frame{}
		t.img.Refresh()
	}
	if f := cv.selfNext; f.img != nil && f.seq != cv.selfSeq {
		relayout = relayout || cv.selfSeq == 0
		cv.selfSeq = f.seq
		cv.self.Image = f.img
		cv.self.Refresh()
	}
	cv.selfNext = frame{}
	if relayout {
		cv.Refresh()
	}
}

// tick updates the warning's minutes (the screen's clock moved on).
func (cv *callView) tick(now time.Time) {
	cv.now = now
	if m := minutesLeft(cv.view.Ends, now); m != cv.minute {
		cv.minute = m
		if cv.view.Warning {
			cv.Refresh()
		}
	}
}

// callMetrics are the call screen's sizes, from the canvas height.
type callMetrics struct {
	metrics
	title, sub, label, status float32
	// button is the hang-up button's text in a call; ringButton on the
	// ringing notice, where it is the only thing to do.
	button, ringButton float32
	stroke             float32
}

func callMetricsFor(size fyne.Size) callMetrics {
	h := size.Height
	return callMetrics{
		metrics: metricsFor(size),
		title:   0.1 * h, sub: 0.068 * h, label: 0.056 * h, status: 0.05 * h,
		button: 0.056 * h, ringButton: 0.075 * h,
		stroke: max(2, 0.004*h),
	}
}

func (cv *callView) layout(size fyne.Size) {
	cv.lines = cv.lines[:0]
	cv.objs = append(cv.objs[:0], cv.bg)
	cv.bg.Move(fyne.Position{})
	cv.bg.Resize(size)
	if size.Width < 1 || size.Height < 1 {
		return
	}
	m := callMetricsFor(size)
	if cv.view.Phase == device.CallActive {
		cv.layoutActive(m)
	} else {
		cv.layoutNotice(m)
	}
	for _, l := range cv.lines {
		cv.objs = append(cv.objs, l.t)
	}
	if cv.hang != nil {
		cv.objs = append(cv.objs, cv.hang)
	}
}

// layoutNotice: the large centred notice of every phase but the active
// call, the camera mark top-left whenever the camera is open.
func (cv *callView) layoutNotice(m callMetrics) {
	v, lc := cv.view, cv.lc
	var title, sub string
	switch v.Phase {
	case device.CallAnnouncing, device.CallRinging:
		title = lc.calling(v.Name)
		if v.Phase == device.CallAnnouncing {
			sub = v.Reason
		}
	case device.CallConnecting:
		title = lc.connecting(v.Name)
	case device.CallEnded:
		title, sub = lc.call.ended, v.EndReason
	}
	top := m.margin
	if v.CameraOn {
		_, bottom := cv.addPill(m.margin, m.margin, lc.call.cameraOn, m.status, true, m.size.Width)
		top = bottom
	}
	width := m.size.Width - 2*m.margin
	titleLines, titleSize := fitTitle(title, width, m.title, m.sub)
	var subLines []string
	if s := strings.Join(strings.Fields(sub), " "); s != "" {
		subLines = clip(wrap(s, width, measurer(m.sub, false)), 2, width, measurer(m.sub, false))
	}
	var btn fyne.Size
	if cv.hang != nil {
		btn = cv.hang.sizeFor(m.ringButton, 0.18*m.size.Height, 0.3*m.size.Width)
	}

	// The block: title, reason, button; centred a little above the middle.
	height := float32(len(titleLines)-1)*bodyPitch*titleSize + (capRatio+descRatio)*titleSize
	if len(subLines) > 0 {
		height += 0.9*m.sub + float32(len(subLines)-1)*bodyPitch*m.sub + capRatio*m.sub
	}
	if cv.hang != nil {
		height += 1.2*m.title + btn.Height
	}
	area := m.size.Height - m.margin - top
	y := top + max(0, area-height)*0.42 + capRatio*titleSize
	for i, s := range titleLines {
		if i > 0 {
			y += bodyPitch * titleSize
		}
		cv.addLine(newLine(s, titleSize, true, textMain, fyne.TextAlignCenter, m.margin, y, width))
	}
	y += descRatio * titleSize
	for i, s := range subLines {
		if i == 0 {
			y += 0.9*m.sub + capRatio*m.sub - descRatio*titleSize
		} else {
			y += bodyPitch * m.sub
		}
		cv.addLine(newLine(s, m.sub, false, textSoft, fyne.TextAlignCenter, m.margin, y, width))
	}
	if cv.hang != nil {
		y += 1.2 * m.title
		cv.hang.place(m, m.ringButton, fyne.NewPos((m.size.Width-btn.Width)/2, y), btn)
	}
}

// fitTitle wraps a bold title into at most two lines of width at the
// largest size from maxSize down to minSize; at minSize it is cut with an
// ellipsis.
func fitTitle(text string, width, maxSize, minSize float32) ([]string, float32) {
	step := max(1, (maxSize-minSize)/8)
	for size := maxSize; size > minSize; size -= step {
		if lines := wrap(text, width, measurer(size, true)); len(lines) <= 2 {
			return lines, size
		}
	}
	measure := measurer(minSize, true)
	return clip(wrap(text, width, measure), 2, width, measure), minSize
}

// layoutActive: the remote pictures tiled, names, the self view with the
// camera and microphone marks, the warning and the hang-up button.
func (cv *callView) layoutActive(m callMetrics) {
	full := m.size
	rects := tileBoxes(len(cv.tiles), full, 0.5*m.pad)
	for i, t := range cv.tiles {
		r := rects[i]
		t.bg.FillColor = tileBG
		if t.seq != 0 {
			t.bg.FillColor = black
		}
		t.bg.Move(r.pos)
		t.bg.Resize(r.size)
		cv.objs = append(cv.objs, t.bg)
		if t.seq == 0 {
			continue // its name goes on once the controls are placed
		}
		t.img.Move(r.pos)
		t.img.Resize(r.size)
		cv.objs = append(cv.objs, t.img)
	}
	// Names on the top-left corner of each picture, inside its tile.
	for i, t := range cv.tiles {
		if t.seq == 0 {
			continue
		}
		r := rects[i]
		t.shape = t.img.Image.Bounds().Size()
		pic := contain(r, t.shape)
		maxW := r.size.Width - 2*m.pad
		ps := pillSize(fitLine(t.name, maxW, measurer(m.label, false)), m.label, false)
		x := min(pic.pos.X+m.pad, r.pos.X+r.size.Width-m.pad-ps.Width)
		cv.addPill(max(x, r.pos.X+m.pad), pic.pos.Y+m.pad, t.name, m.label, false, maxW)
	}

	// The self view, bottom-right, a fifth of the width, 16:9.
	sw := 0.2 * full.Width
	sh := sw * 9 / 16
	sp := fyne.NewPos(full.Width-m.margin-sw, full.Height-m.margin-sh)
	cv.selfFrame.StrokeWidth = m.stroke
	cv.selfFrame.CornerRadius = 0.6 * m.pad
	cv.selfFrame.Move(sp)
	cv.selfFrame.Resize(fyne.NewSize(sw, sh))
	cv.objs = append(cv.objs, cv.selfFrame)
	// What the names of waiting tiles keep clear of.
	obstacles := []box{{sp, fyne.NewSize(sw, sh)}}
	if cv.selfSeq != 0 && cv.view.CameraOn {
		in := m.stroke
		cv.self.CornerRadius = max(0, cv.selfFrame.CornerRadius-in)
		cv.self.Move(sp.Add(fyne.NewPos(in, in)))
		cv.self.Resize(fyne.NewSize(sw-2*in, sh-2*in))
		cv.objs = append(cv.objs, cv.self)
	}
	// Above it, right-aligned: camera, then microphone.
	y := sp.Y - m.pad
	type mark struct {
		text string
		dot  bool
	}
	marks := []mark{{cv.lc.call.cameraOff, false}}
	if cv.view.CameraOn {
		marks[0] = mark{cv.lc.call.cameraOn, true}
	}
	if !cv.view.MicOn {
		marks = append(marks, mark{cv.lc.call.micOff, false})
	}
	right := full.Width - m.margin
	markLeft := sp.X
	for _, mk := range marks {
		ps := pillSize(mk.text, m.status, mk.dot)
		markLeft = min(markLeft, right-ps.Width)
		y -= ps.Height
		obstacles = append(obstacles, box{fyne.NewPos(right-ps.Width, y), ps})
		cv.addPill(right-ps.Width, y, mk.text, m.status, mk.dot, full.Width)
		y -= 0.5 * m.pad
	}

	// The hang-up button bottom-centre; the warning above it.
	bottom := full.Height - m.margin
	if cv.hang != nil {
		btn := cv.hang.sizeFor(m.button, 0.13*full.Height, 0)
		pos := fyne.NewPos((full.Width-btn.Width)/2, bottom-btn.Height)
		cv.hang.place(m, m.button, pos, btn)
		obstacles = append(obstacles, box{pos, btn})
		bottom = pos.Y - m.pad
	}
	if cv.view.Warning {
		// Centred above the button where it fits; else moved left, clear
		// of the marks and the self view; a long sentence gets smaller,
		// then takes two lines.
		text := cv.lc.endsIn(cv.minute)
		avail := markLeft - m.pad - m.margin
		size := m.label
		for size > m.status && measurer(size, true)(text)+1.2*size > avail {
			size = max(m.status, size-0.1*(m.label-m.status))
		}
		pad := 0.6 * size
		measure := measurer(size, true)
		lines := wrap(text, avail-2*pad, measure)
		w := float32(0)
		for _, l := range lines {
			w = max(w, measure(l))
		}
		w += 2 * pad
		one := (capRatio+2*descRatio)*size + pad
		h := one + float32(len(lines)-1)*bodyPitch*size
		x := max(m.margin, min((full.Width-w)/2, markLeft-m.pad-w))
		r := canvas.NewRectangle(bannerBG)
		r.CornerRadius = one / 2
		r.Move(fyne.NewPos(x, bottom-h))
		r.Resize(fyne.NewSize(w, h))
		cv.objs = append(cv.objs, r)
		obstacles = append(obstacles, box{r.Position(), r.Size()})
		base := bottom - h + one/2 + capRatio*size/2
		for _, l := range lines {
			cv.addLine(newLine(l, size, true, bannerText, fyne.TextAlignCenter, x, base, w))
			base += bodyPitch * size
		}
	}

	// No picture yet: the name, large, in the middle of what the tile
	// shows above the controls.
	for i, t := range cv.tiles {
		if t.seq != 0 {
			continue
		}
		r := rects[i]
		w := r.size.Width - 2*m.margin
		size := m.title
		for size > m.label && measurer(size, true)(t.name) > w {
			size = max(m.label, size-0.05*m.title)
		}
		free := r
		for _, o := range obstacles {
			if o.pos.X < r.pos.X+r.size.Width && r.pos.X < o.pos.X+o.size.Width && o.pos.Y > r.pos.Y {
				free.size.Height = min(free.size.Height, o.pos.Y-r.pos.Y-m.pad)
			}
		}
		s := fitLine(t.name, w, measurer(size, true))
		// Centred in the free part; at its top when that is narrow.
		y := free.pos.Y + max(m.pad+capRatio*size, free.size.Height/2+capRatio*size/2)
		cv.addLine(newLine(s, size, true, textMain, fyne.TextAlignCenter, r.pos.X+m.margin, y, w))
	}
}

// contain is where a picture of size shape lands in b, aspect kept and
// centred (canvas.ImageFillContain).
func contain(b box, shape image.Point) box {
	if shape.X <= 0 || shape.Y <= 0 {
		return b
	}
	scale := min(b.size.Width/float32(shape.X), b.size.Height/float32(shape.Y))
	size := fyne.NewSize(float32(shape.X)*scale, float32(shape.Y)*scale)
	return box{b.pos.Add(fyne.NewPos((b.size.Width-size.Width)/2, (b.size.Height-size.Height)/2)), size}
}

// tileBoxes splits the screen for n pictures: one fills it, two side by
// side, three as two above one (centred), more in a grid whose last row
// is centred. gap separates the tiles.
func tileBoxes(n int, full fyne.Size, gap float32) []box {
	if n <= 0 {
		return nil
	}
	if n == 1 {
		return []box{{fyne.Position{}, full}}
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	w := (full.Width - float32(cols-1)*gap) / float32(cols)
	h := (full.Height - float32(rows-1)*gap) / float32(rows)
	out := make([]box, 0, n)
	for i := range n {
		row, col := i/cols, i%cols
		inRow := min(cols, n-row*cols)
		x0 := (full.Width - (float32(inRow)*w + float32(inRow-1)*gap)) / 2
		out = append(out, box{
			pos:  fyne.NewPos(x0+float32(col)*(w+gap), float32(row)*(h+gap)),
			size: fyne.NewSize(w, h),
		})
	}
	return out
}

// pillSize is the size of a status pill: a line of text on a rounded
// shade, with room for the camera dot.
func pillSize(text string, size float32, dot bool) fyne.Size {
	pad := 0.5 * size
	w := measurer(size, false)(text) + 2*pad
	if dot {
		w += 0.9 * size
	}
	return fyne.NewSize(w, (capRatio+2*descRatio)*size+pad)
}

// addPill adds a pill of text (a status mark or a name) with its
// top-left at x, y, no wider than maxW (the text is shortened), and
// returns its right and bottom edges.
func (cv *callView) addPill(x, y float32, text string, size float32, dot bool, maxW float32) (right, bottom float32) {
	pad := 0.5 * size
	inner := maxW - 2*pad
	if dot {
		inner -= 0.9 * size
	}
	text = fitLine(text, inner, measurer(size, false))
	ps := pillSize(text, size, dot)
	bg := canvas.NewRectangle(shade)
	bg.CornerRadius = ps.Height / 2
	bg.Move(fyne.NewPos(x, y))
	bg.Resize(ps)
	cv.objs = append(cv.objs, bg)
	tx := x + pad
	if dot {
		d := 0.5 * size
		c := canvas.NewCircle(cameraRed)
		c.Move(fyne.NewPos(x+pad, y+(ps.Height-d)/2))
		c.Resize(fyne.NewSize(d, d))
		cv.objs = append(cv.objs, c)
		tx += 0.9 * size
	}
	base := y + ps.Height/2 + capRatio*size/2
	cv.addLine(newLine(text, size, false, textMain, fyne.TextAlignLeading, tx, base, 0))
	return x + ps.Width, y + ps.Height
}

func (cv *callView) addLine(l line) { cv.lines = append(cv.lines, l) }

func (cv *callView) CreateRenderer() fyne.WidgetRenderer { return &callRenderer{cv: cv} }

type callRenderer struct{ cv *callView }

func (r *callRenderer) Layout(s fyne.Size)           { r.cv.layout(s) }
func (r *callRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (r *callRenderer) Objects() []fyne.CanvasObject { return r.cv.objs }
func (r *callRenderer) Destroy()                     {}
func (r *callRenderer) Refresh() {
	r.cv.layout(r.cv.Size())
	for _, o := range r.cv.objs {
		canvas.Refresh(o)
	}
}

// hangupButton is the red button that ends the call: a pill with a light
// ring and one word. One touch anywhere on it is enough.
type hangupButton struct {
	widget.BaseWidget
	bg    *canvas.Rectangle
	label *canvas.Text
	tap   func()
}

func newHangupButton(text string, tap func()) *hangupButton {
	b := &hangupButton{bg: canvas.NewRectangle(hangupRed), label: canvas.NewText(text, textMain), tap: tap}
	b.bg.StrokeColor = textMain
	b.label.TextStyle = textStyle(true)
	b.label.Alignment = fyne.TextAlignCenter
	b.ExtendBaseWidget(b)
	return b
}

// Tapped ends the call.
func (b *hangupButton) Tapped(*fyne.PointEvent) {
	if b.tap != nil {
		b.tap()
	}
}

// sizeFor is the button's size for text of size textSize: at least
// height high (a big target), minW wide and twice as wide as high.
func (b *hangupButton) sizeFor(textSize, height, minW float32) fyne.Size {
	w := measurer(textSize, true)(b.label.Text) + height
	return fyne.NewSize(max(w, 2*height, minW), height)
}

// place sets the button's geometry; its text is centred on its baseline.
func (b *hangupButton) place(m callMetrics, textSize float32, pos fyne.Position, size fyne.Size) {
	b.bg.CornerRadius = size.Height / 2
	b.bg.StrokeWidth = 1.5 * m.stroke
	b.label.TextSize = textSize
	b.Move(pos)
	b.Resize(size)
	b.layout(size)
}

func (b *hangupButton) layout(size fyne.Size) {
	b.bg.Move(fyne.Position{})
	b.bg.Resize(size)
	if b.label.TextSize <= 0 {
		return
	}
	placeLine(b.label, 0, size.Height/2+capRatio*b.label.TextSize/2, size.Width)
}

func (b *hangupButton) CreateRenderer() fyne.WidgetRenderer { return &hangupRenderer{b: b} }

type hangupRenderer struct{ b *hangupButton }

func (r *hangupRenderer) Layout(s fyne.Size) { r.b.layout(s) }
func (r *hangupRenderer) MinSize() fyne.Size { return fyne.Size{} }
func (r *hangupRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.b.bg, r.b.label}
}
func (r *hangupRenderer) Destroy() {}
func (r *hangupRenderer) Refresh() {
	canvas.Refresh(r.b.bg)
	canvas.Refresh(r.b.label)
}

var _ fyne.Tappable = (*hangupButton)(nil)
