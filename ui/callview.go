package ui

import (
	"image"
	"image/color"
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
// of the one on screen, and the screen's ticks only its countdown, clock
// and pages.
//
// The notices (announcing, ringing, connecting, ended) are calm cards:
// the caller's picture, their name large in the middle, a forced call's
// reason (paged, never cut), the countdown to the call's start and, while
// it rings, one "Not now" button. An active call shows the remote
// pictures tiled above a control strip (the hang-up button in the middle,
// the time warning left of it, the resident's own picture right), each
// with its name at a corner; the clock top-right with, under it, marks
// for what the callers cannot see or hear. Nothing of the call is drawn
// in the privacy badge's corner (privacy.go) but the pictures under it.
type callView struct {
	widget.BaseWidget
	view   device.CallView
	gen    uint64
	lc     *locale
	now    time.Time // in the screen's location
	since  time.Time // when the call came: pages count from it
	minute int       // minutes in the warning shown

	bg    *canvas.Rectangle
	tiles []*tile
	self  *canvas.Image
	// selfFrame is the border of the self view, selfSeq the frame shown.
	selfFrame *canvas.Rectangle
	selfSeq   uint64
	selfNext  frame
	hang      *hangupButton // nil when there is nothing to end
	picture   *canvas.Image // the caller's, on the notices; nil for none

	// count is the countdown's line and seconds what it says (0: none);
	// clock the active call's clock; page the reason's page shown, of
	// pages.
	count       *canvas.Text
	seconds     int
	clock       *canvas.Text
	page, pages int

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

// pageEvery is how long each page of a long reason stays.
const pageEvery = 4 * time.Second

// declineBG is the "Not now" button: calm, not the red of hanging up.
var declineBG = color.NRGBA{R: 0x3A, G: 0x4E, B: 0x6E, A: 0xFF}

// newCallView makes the view of v at now (in the screen's location);
// since is when the call came. hangup is the End button's action,
// decline the Not now button's.
func newCallView(v device.CallView, gen uint64, lc *locale, now, since time.Time, hangup, decline func()) *callView {
	cv := &callView{view: v, gen: gen, lc: lc, now: now, since: since, bg: canvas.NewRectangle(callBG)}
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
		cv.clock = canvas.NewText(lc.clock(now), textMain)
		cv.clock.TextStyle = textStyle(true)
	} else if v.Picture != nil && v.Phase != device.CallEnded {
		cv.picture = canvas.NewImageFromImage(squareOf(v.Picture))
		cv.picture.FillMode = canvas.ImageFillContain
		cv.picture.ScaleMode = canvas.ImageScaleSmooth
	}
	switch {
	case v.Phase == device.CallRinging && (v.Decline != nil || v.Hangup != nil):
		cv.hang = newHangupButton(lc.call.notNow, declineBG, decline)
	case v.Phase == device.CallActive && v.Hangup != nil:
		cv.hang = newHangupButton(lc.call.hangup, hangupRed, hangup)
	}
	if cv.counting() {
		cv.seconds = secondsLeft(v.StartsAt, now)
		cv.count = canvas.NewText(lc.countdown(v.Phase == device.CallRinging, cv.seconds), textSoft)
	}
	cv.minute = minutesLeft(v.Ends, now)
	cv.ExtendBaseWidget(cv)
	return cv
}

// counting says whether the view counts down to the call's start.
func (cv *callView) counting() bool {
	p := cv.view.Phase
	return (p == device.CallRinging || p == device.CallAnnouncing) && !cv.view.StartsAt.IsZero()
}

// ticking says whether a view of v wants the screen's tick every second:
// a countdown, or a forced call's reason that may need pages.
func ticking(v device.CallView) bool {
	switch v.Phase {
	case device.CallRinging, device.CallAnnouncing:
		return !v.StartsAt.IsZero() || v.Reason != ""
	case device.CallConnecting:
		return v.Forced && v.Reason != ""
	}
	return false
}

// secondsLeft is the time until at in whole seconds, rounded up; at least 1.
func secondsLeft(at, now time.Time) int {
	d := at.Sub(now)
	if d <= 0 {
		return 1
	}
	return int((d + time.Second - 1) / time.Second)
}

// squareOf is the middle square of img (a person's picture is shown as
// a rounded square); img itself when it cannot be cut without a copy.
func squareOf(img image.Image) image.Image {
	r := img.Bounds()
	side := min(r.Dx(), r.Dy())
	sq := image.Rect(0, 0, side, side).Add(r.Min).Add(image.Pt((r.Dx()-side)/2, (r.Dy()-side)/3))
	if si, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return si.SubImage(sq)
	}
	return img
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

// tick moves the view to now (in the screen's location): the warning's
// minutes, the countdown's seconds, the clock, the reason's page.
func (cv *callView) tick(now time.Time) {
	cv.now = now
	relayout := false
	if m := minutesLeft(cv.view.Ends, now); m != cv.minute {
		cv.minute = m
		relayout = relayout || cv.view.Warning
	}
	if cv.count != nil {
		if s := secondsLeft(cv.view.StartsAt, now); s != cv.seconds {
			cv.seconds = s
			cv.count.Text = cv.lc.countdown(cv.view.Phase == device.CallRinging, s)
			cv.count.Refresh()
		}
	}
	if cv.clock != nil {
		if c := cv.lc.clock(now); c != cv.clock.Text {
			cv.clock.Text = c
			relayout = true // the clock's pill may change width
		}
	}
	if cv.pages > 1 && cv.pageAt(now) != cv.page {
		relayout = true
	}
	if relayout {
		cv.Refresh()
	}
}

// pageAt is the reason's page to show at now.
func (cv *callView) pageAt(now time.Time) int {
	if cv.pages <= 1 {
		return 0
	}
	return int(max(0, now.Sub(cv.since))/pageEvery) % cv.pages
}

// callMetrics are the call screen's sizes, from the canvas height.
type callMetrics struct {
	metrics
	// title is the notice's name line; sub the lines under it (a reason,
	// why it ended, the countdown): cap height 5 % of the screen.
	title, sub float32
	// label is the names on the pictures, the marks and the warning;
	// clock the active call's clock.
	label, clock float32
	// button is the hang-up button's text in a call; ringButton on the
	// ringing notice, where it is the only thing to do.
	button, ringButton float32
	stroke             float32
	// strip is the height of the control strip under the pictures.
	strip float32
	// corner is the privacy badge's corner, kept free.
	corner box
}

func callMetricsFor(size fyne.Size) callMetrics {
	h := size.Height
	return callMetrics{
		metrics: metricsFor(size),
		title:   0.1 * h, sub: 0.07 * h, label: 0.066 * h, clock: 0.08 * h,
		button: 0.06 * h, ringButton: 0.075 * h,
		stroke: max(2, 0.004*h),
		strip:  0.19 * h,
		corner: box{size: fyne.NewSize(privacyMaxW*size.Width, privacyMaxH*h)},
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

// layoutNotice: the centred notice of every phase but the active call,
// below the privacy badge's corner: the caller's picture when there is
// room, the title, the reason or why the call ended, the countdown, the
// Not now button.
func (cv *callView) layoutNotice(m callMetrics) {
	v, lc := cv.view, cv.lc
	var title, sub string
	switch v.Phase {
	case device.CallAnnouncing, device.CallRinging:
		title = lc.calling(v.Name)
		sub = v.Reason
	case device.CallConnecting:
		title = lc.connecting(v.Name)
		if v.Forced {
			sub = v.Reason
		}
	case device.CallEnded:
		title, sub = lc.call.ended, lc.endCause(v.End, v.Name, v.EndReason)
	}
	// Below the corner, accents on capitals too.
	top := m.corner.size.Height + 0.35*m.title
	bottom := m.size.Height - m.margin
	width := m.size.Width - 2*m.margin
	titleLines, titleSize := fitTitle(title, width, m.title, m.sub)
	titleH := float32(len(titleLines)-1)*bodyPitch*titleSize + (capRatio+descRatio)*titleSize

	// What must be there: the title, the countdown, the button.
	fixed := titleH
	if cv.count != nil {
		fixed += 1.3*m.sub + capRatio*m.sub
	}
	var btn fyne.Size
	if cv.hang != nil {
		btn = cv.hang.sizeFor(m.ringButton, 0.16*m.size.Height, 0.3*m.size.Width)
		fixed += 0.9*m.title + btn.Height
	}
	// The reason takes what is left, page by page if it must.
	gap := 0.8*m.sub + capRatio*m.sub - descRatio*titleSize // title's descent to the first baseline
	pitch := bodyPitch * m.sub
	measure := measurer(m.sub, false)
	subLines := wrap(strings.Join(strings.Fields(sub), " "), width, measure)
	fits := max(1, int((bottom-top-fixed-gap-descRatio*m.sub)/pitch)+1)
	cv.pages = 1
	if len(subLines) > fits {
		more := " " + ellipsis
		subLines = wrap(strings.Join(strings.Fields(sub), " "), width-measure(more), measure)
		cv.pages = (len(subLines) + fits - 1) / fits
		cv.page = cv.pageAt(cv.now)
		from := cv.page * fits
		subLines = subLines[from:min(len(subLines), from+fits)]
		if cv.page < cv.pages-1 {
			subLines[len(subLines)-1] += more
		}
	}
	subH := float32(0)
	if len(subLines) > 0 {
		subH = gap + float32(len(subLines)-1)*pitch + descRatio*m.sub
	}
	// The picture where there is room for it.
	var pic float32
	if cv.picture != nil {
		room := bottom - top - fixed - subH - 0.5*m.title
		if pic = min(0.36*m.size.Height, room); pic < 0.16*m.size.Height {
			pic = 0
		}
	}
	block := fixed + subH
	if pic > 0 {
		block += pic + 0.5*m.title
	}
	y := top + max(0, bottom-top-block)*0.45
	if pic > 0 {
		cv.picture.CornerRadius = 0.12 * pic
		cv.picture.Move(fyne.NewPos((m.size.Width-pic)/2, y))
		cv.picture.Resize(fyne.NewSize(pic, pic))
		cv.objs = append(cv.objs, cv.picture)
		y += pic + 0.5*m.title
	}
	y += capRatio * titleSize
	for i, s := range titleLines {
		if i > 0 {
			y += bodyPitch * titleSize
		}
		cv.addLine(newLine(s, titleSize, true, textMain, fyne.TextAlignCenter, m.margin, y, width))
	}
	y += descRatio * titleSize
	for i, s := range subLines {
		if i == 0 {
			y += gap
		} else {
			y += pitch
		}
		cv.addLine(newLine(s, m.sub, false, textSoft, fyne.TextAlignCenter, m.margin, y, width))
	}
	if len(subLines) > 0 {
		y += descRatio * m.sub
	}
	if cv.count != nil {
		if len(subLines) > 0 {
			y += 0.5 * m.sub // set off from the reason above
		}
		y += 0.8*m.sub + capRatio*m.sub - descRatio*m.sub
		cv.count.TextSize = m.sub
		cv.count.Alignment = fyne.TextAlignCenter
		placeLine(cv.count, m.margin, y, width)
		cv.objs = append(cv.objs, cv.count)
		y += descRatio * m.sub
	}
	if cv.hang != nil {
		y += 0.9 * m.title
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

// layoutActive: the remote pictures tiled above the control strip, their
// names, the clock and the marks top-right, the strip's warning, hang-up
// button and self view.
func (cv *callView) layoutActive(m callMetrics) {
	full := m.size
	area := fyne.NewSize(full.Width, full.Height-m.strip)
	rects := tileBoxes(len(cv.tiles), area, 0.5*m.pad)
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
			continue // its name goes on once the rest is placed
		}
		t.img.Move(r.pos)
		t.img.Resize(r.size)
		cv.objs = append(cv.objs, t.img)
	}
	// What the names keep clear of.
	obstacles := []box{m.corner}

	// The clock top-right on a shade; the marks under it.
	right := full.Width - m.margin
	cp := m.margin / 2
	cv.clock.TextSize = m.clock
	cs := fyne.NewSize(cv.clock.MinSize().Width+m.clock, (capRatio+2*descRatio)*m.clock+0.5*m.clock)
	clockBG := canvas.NewRectangle(shade)
	clockBG.CornerRadius = cs.Height / 2
	clockBG.Move(fyne.NewPos(right-cs.Width, cp))
	clockBG.Resize(cs)
	cv.objs = append(cv.objs, clockBG)
	cv.clock.Alignment = fyne.TextAlignCenter
	placeLine(cv.clock, right-cs.Width, cp+cs.Height/2+capRatio*m.clock/2, cs.Width)
	cv.objs = append(cv.objs, cv.clock)
	obstacles = append(obstacles, box{clockBG.Position(), cs})
	y := cp + cs.Height + 0.5*m.pad
	// Right of the privacy corner: the warning, then the marks.
	stackW := full.Width - m.corner.size.Width - m.margin - m.pad
	if cv.view.Warning {
		w := cv.addWarning(m, right, y, stackW)
		obstacles = append(obstacles, w)
		y += w.size.Height + 0.5*m.pad
	}
	var marks []string
	if !cv.view.CameraOn {
		marks = append(marks, cv.lc.call.cameraOff)
	}
	if !cv.view.MicOn {
		marks = append(marks, cv.lc.call.micOff)
	}
	for _, mk := range marks {
		ps := pillSize(pillText(mk, m.label, stackW), m.label)
		cv.addPill(right-ps.Width, y, mk, m.label, stackW)
		obstacles = append(obstacles, box{fyne.NewPos(right-ps.Width, y), ps})
		y += ps.Height + 0.5*m.pad
	}

	// The control strip: the self view right, the button in the middle.
	stripTop := area.Height
	sh := m.strip - 1.5*m.pad
	sw := sh * 16 / 9
	sp := fyne.NewPos(full.Width-m.margin-sw, stripTop+(m.strip-sh)/2)
	cv.selfFrame.StrokeWidth = m.stroke
	cv.selfFrame.CornerRadius = 0.6 * m.pad
	cv.selfFrame.Move(sp)
	cv.selfFrame.Resize(fyne.NewSize(sw, sh))
	cv.objs = append(cv.objs, cv.selfFrame)
	if cv.selfSeq != 0 && cv.view.CameraOn {
		in := m.stroke
		cv.self.CornerRadius = max(0, cv.selfFrame.CornerRadius-in)
		cv.self.Move(sp.Add(fyne.NewPos(in, in)))
		cv.self.Resize(fyne.NewSize(sw-2*in, sh-2*in))
		cv.objs = append(cv.objs, cv.self)
	}
	if cv.hang != nil {
		btn := cv.hang.sizeFor(m.button, 0.13*full.Height, 0)
		pos := fyne.NewPos((full.Width-btn.Width)/2, stripTop+(m.strip-btn.Height)/2)
		cv.hang.place(m, m.button, pos, btn)
	}

	// Names: on a corner of each picture, the bottom-left first, clear of
	// the clock, the marks, the privacy corner and each other.
	for i, t := range cv.tiles {
		if t.seq == 0 {
			continue
		}
		r := rects[i]
		t.shape = t.img.Image.Bounds().Size()
		pic := contain(r, t.shape)
		maxW := r.size.Width - 2*m.pad
		ps := pillSize(pillText(t.name, m.label, maxW), m.label)
		left := max(r.pos.X+m.pad, min(pic.pos.X+m.pad, r.pos.X+r.size.Width-m.pad-ps.Width))
		rightX := max(r.pos.X+m.pad, min(pic.pos.X+pic.size.Width-m.pad-ps.Width, r.pos.X+r.size.Width-m.pad-ps.Width))
		low := min(pic.pos.Y+pic.size.Height, r.pos.Y+r.size.Height) - m.pad - ps.Height
		high := max(pic.pos.Y, r.pos.Y) + m.pad
		at, least := fyne.NewPos(left, low), float32(-1)
		for _, c := range []fyne.Position{{X: left, Y: low}, {X: left, Y: high}, {X: rightX, Y: low}, {X: rightX, Y: high}} {
			if o := overlap(box{c, ps}, obstacles); least < 0 || o < least {
				at, least = c, o
			}
		}
		cv.addPill(at.X, at.Y, t.name, m.label, maxW)
		obstacles = append(obstacles, box{at, ps})
	}

	// No picture yet: the name, large, in the middle of the tile, above
	// what covers its lower part.
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
		s := fitLine(t.name, w, measurer(size, true))
		// Centred in the tile; else below what is in the way (the
		// privacy corner, the clock, the marks).
		tw := measurer(size, true)(s)
		ink := func(base float32) box {
			return box{fyne.NewPos(r.pos.X+(r.size.Width-tw)/2, base-capRatio*size), fyne.NewSize(tw, (capRatio+descRatio)*size)}
		}
		y := r.pos.Y + r.size.Height/2 + capRatio*size/2
		for _, o := range obstacles {
			if b := ink(y); hits(b, []box{o}) {
				y = o.pos.Y + o.size.Height + m.pad + capRatio*size
			}
		}
		y = min(y, r.pos.Y+r.size.Height-m.pad-descRatio*size)
		cv.addLine(newLine(s, size, true, textMain, fyne.TextAlignCenter, r.pos.X+m.margin, y, w))
	}
}

// addWarning puts "Call ends in 5 minutes" with its top-right corner at
// right, top, no wider than avail, on two lines if it must (never
// smaller than 85 % of the names, a cap height of 4 %). It returns
// where it went.
func (cv *callView) addWarning(m callMetrics, right, top, avail float32) box {
	text := cv.lc.endsIn(cv.minute)
	// One line, a little smaller if that does it; else two at full size.
	size := m.label
	for s := m.label; s >= 0.85*m.label; s -= 0.05 * m.label {
		if measurer(s, true)(text)+1.2*s <= avail {
			size = s
			break
		}
	}
	pad := 0.6 * size
	lines := wrap(text, avail-2*pad, measurer(size, true))
	measure := measurer(size, true)
	w := float32(0)
	for _, l := range lines {
		w = max(w, measure(l))
	}
	w += 2 * pad
	one := (capRatio+2*descRatio)*size + pad
	h := one + float32(len(lines)-1)*bodyPitch*size
	b := box{fyne.NewPos(right-w, top), fyne.NewSize(w, h)}
	r := canvas.NewRectangle(bannerBG)
	r.CornerRadius = one / 2
	r.Move(b.pos)
	r.Resize(b.size)
	cv.objs = append(cv.objs, r)
	base := top + one/2 + capRatio*size/2
	for _, l := range lines {
		cv.addLine(newLine(l, size, true, bannerText, fyne.TextAlignCenter, b.pos.X, base, w))
		base += bodyPitch * size
	}
	return b
}

// overlap is the area b shares with the boxes.
func overlap(b box, boxes []box) float32 {
	var a float32
	for _, o := range boxes {
		w := min(b.pos.X+b.size.Width, o.pos.X+o.size.Width) - max(b.pos.X, o.pos.X)
		h := min(b.pos.Y+b.size.Height, o.pos.Y+o.size.Height) - max(b.pos.Y, o.pos.Y)
		if w > 0 && h > 0 {
			a += w * h
		}
	}
	return a
}

// hits reports whether b overlaps any of the boxes.
func hits(b box, boxes []box) bool {
	for _, o := range boxes {
		if b.pos.X < o.pos.X+o.size.Width && o.pos.X < b.pos.X+b.size.Width &&
			b.pos.Y < o.pos.Y+o.size.Height && o.pos.Y < b.pos.Y+b.size.Height {
			return true
		}
	}
	return false
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

// pillSize is the size of a pill: a line of text on a rounded shade.
func pillSize(text string, size float32) fyne.Size {
	return fyne.NewSize(measurer(size, false)(text)+size, (capRatio+2*descRatio)*size+0.5*size)
}

// pillText is text shortened to fit a pill no wider than maxW.
func pillText(text string, size, maxW float32) string {
	return fitLine(text, maxW-size, measurer(size, false))
}

// addPill adds a pill of text (a mark or a name) with its top-left at x,
// y, no wider than maxW (the text is shortened).
func (cv *callView) addPill(x, y float32, text string, size float32, maxW float32) {
	text = pillText(text, size, maxW)
	ps := pillSize(text, size)
	bg := canvas.NewRectangle(shade)
	bg.CornerRadius = ps.Height / 2
	bg.Move(fyne.NewPos(x, y))
	bg.Resize(ps)
	cv.objs = append(cv.objs, bg)
	base := y + ps.Height/2 + capRatio*size/2
	cv.addLine(newLine(text, size, false, textMain, fyne.TextAlignLeading, x+0.5*size, base, 0))
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

// hangupButton is the button of a call: the red one that ends it, or the
// calm "Not now" of a ringing call; a pill with a light ring and a word or
// two. One touch anywhere on it is enough.
type hangupButton struct {
	widget.BaseWidget
	bg    *canvas.Rectangle
	label *canvas.Text
	tap   func()
}

func newHangupButton(text string, fill color.NRGBA, tap func()) *hangupButton {
	b := &hangupButton{bg: canvas.NewRectangle(fill), label: canvas.NewText(text, textMain), tap: tap}
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
