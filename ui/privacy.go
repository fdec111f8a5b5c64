package ui

import (
	"image"
	"image/color"
	"math"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-home/hearth/device"
)

// The privacy badge: a red dot and "Camera on" in the top-left corner,
// over everything, exactly while the camera or microphone is open. The
// call screens keep its corner free: x up to privacyMaxW of the width, y
// up to privacyMaxH of the height.
const (
	privacyMaxW = 0.45
	privacyMaxH = 0.14
)

// paintWait bounds how long SetPrivacy waits for the badge's frame. A
// frame comes every 1/60 s; a window that paints nothing for this long
// (not mapped, its GL stuck) is logged and the call goes on, the LED and
// the log still lit.
const paintWait = 2 * time.Second

var (
	// privacyRed is the badge's dot.
	privacyRed = color.NRGBA{R: 0xFF, G: 0x3B, B: 0x30, A: 0xFF}
	// privacyBG is the badge's ground: a deep red-brown, its own colour
	// on the screen, under near-white text (over 7:1).
	privacyBG = color.NRGBA{R: 0x3A, G: 0x0A, B: 0x0A, A: 0xFF}
)

// privacyWords says what is open, in the screen's language.
func privacyWords(tag string, p device.Privacy) string {
	w := map[string][3]string{
		"en": {"Camera on", "Microphone on", "Camera and microphone on"},
		"sv": {"Kameran är på", "Mikrofonen är på", "Kamera och mikrofon är på"},
		"fi": {"Kamera päällä", "Mikrofoni päällä", "Kamera ja mikrofoni päällä"},
		"de": {"Kamera an", "Mikrofon an", "Kamera und Mikrofon an"},
	}[tag]
	if w[0] == "" {
		return privacyWords("en", p)
	}
	switch {
	case p.Camera && p.Microphone:
		return w[2]
	case p.Camera:
		return w[0]
	case p.Microphone:
		return w[1]
	}
	return ""
}

// SetPrivacy shows or hides the privacy badge (device.PrivacyLight).
// Turning it on returns only once a frame with the badge has been painted
// and the frame after it too; turning it off hides it in the next frame
// and returns at once. Safe from any goroutine but Fyne's.
//
// Knowing the frame was painted: the badge's dot is a canvas.Raster, whose
// generator the painter calls while drawing a frame that shows it (the
// texture is dropped each time the badge is set, so the next draw makes it
// again). Fyne's loop draws a frame and swaps its buffers in one step of
// its goroutine, so once the generator has run, a fyne.DoAndWait of nothing
// returns only after that frame's swap. A swap hands the picture to the X
// server without waiting for it to land (measured under Xvfb: a few
// milliseconds later), so SetPrivacy waits for one more painted frame: by
// then the badge's frame is on the display.
func (s *Screen) SetPrivacy(p device.Privacy) {
	if !s.attached.Load() {
		s.log.Warn("screen: privacy light with no window to show it", "camera", p.Camera, "microphone", p.Microphone)
		return
	}
	if !p.On() {
		// Hidden in the next frame; nothing to wait for. The log says
		// when the frame after that one was painted: from then on the
		// badge is off the display.
		Do(func() {
			if b := s.ui.badge(); b != nil && b.text != "" {
				b.hide(func() { s.log.Info("screen: privacy badge gone") })
			}
		})
		return
	}
	var b *privacyBadge
	var painted <-chan struct{}
	DoAndWait(func() {
		if b = s.ui.badge(); b != nil {
			painted = b.set(privacyWords(s.lc.tag, p))
		}
	})
	if painted == nil {
		return
	}
	t := s.clk.NewTimer(paintWait)
	defer t.Stop()
	for frame := 0; frame < 2; frame++ {
		select {
		case <-painted:
		case <-t.C():
			s.log.Warn("screen: the privacy badge was not painted in time; going on", "within", paintWait)
			return
		}
		DoAndWait(func() {
			if frame == 0 {
				painted = b.repaint()
			}
		})
	}
}

// badge is the privacy badge on the root stack. Fyne goroutine only.
func (v *view) badge() *privacyBadge {
	for _, o := range v.root.Objects {
		if b, ok := o.(*privacyBadge); ok {
			return b
		}
	}
	return nil
}

// privacyBadge is the screen's privacy light, a full-screen layer that
// draws only its pill in the top-left corner (it takes no taps). While
// the pill is hidden the layer stays, with an invisible one-pixel probe
// whose painting tells when a frame without the pill was drawn.
type privacyBadge struct {
	widget.BaseWidget
	text string // "" while hidden

	bg    *canvas.Rectangle
	dot   *canvas.Raster
	txt   *canvas.Text
	probe *canvas.Raster

	mu      sync.Mutex
	waiting []chan struct{} // closed when the dot is next painted
	// gone is called when goneFrames more frames without the pill have
	// been painted.
	gone       func()
	goneFrames int
}

func newPrivacyBadge() *privacyBadge {
	b := &privacyBadge{bg: canvas.NewRectangle(privacyBG), txt: canvas.NewText("", textMain)}
	b.txt.TextStyle = textStyle(false)
	b.dot = canvas.NewRaster(b.paintDot)
	b.probe = canvas.NewRaster(b.paintProbe)
	b.ExtendBaseWidget(b)
	b.showPill(false)
	return b
}

func (b *privacyBadge) showPill(on bool) {
	for _, o := range []fyne.CanvasObject{b.bg, b.dot, b.txt} {
		if on {
			o.Show()
		} else {
			o.Hide()
		}
	}
}

// set shows text and returns a channel closed once the badge is painted,
// or nil when there is nothing to wait for. Fyne goroutine only.
func (b *privacyBadge) set(text string) <-chan struct{} {
	if text == b.text {
		return nil
	}
	b.text = text
	b.mu.Lock()
	b.gone = nil
	b.mu.Unlock()
	b.showPill(true)
	b.Refresh()
	return b.repaint()
}

// hide takes the pill off; gone is called once the frame after the first
// one without it has been painted (the first is on the display by then).
// Fyne goroutine only.
func (b *privacyBadge) hide(gone func()) {
	b.text = ""
	b.showPill(false)
	b.mu.Lock()
	b.gone, b.goneFrames = gone, 2
	b.mu.Unlock()
	b.Refresh()
}

// paintProbe draws nothing (one transparent pixel); it counts the frames
// painted after the pill was hidden.
func (b *privacyBadge) paintProbe(w, h int) image.Image {
	b.mu.Lock()
	var gone func()
	if b.gone != nil {
		if b.goneFrames--; b.goneFrames <= 0 {
			gone, b.gone = b.gone, nil
		} else {
			defer canvas.Refresh(b.probe) // and the next frame
		}
	}
	b.mu.Unlock()
	if gone != nil {
		gone()
	}
	return image.NewNRGBA(image.Rect(0, 0, 1, 1))
}

// repaint has the dot painted again in the next frame and returns a
// channel closed once it is. Fyne goroutine only.
func (b *privacyBadge) repaint() <-chan struct{} {
	ch := make(chan struct{})
	b.mu.Lock()
	b.waiting = append(b.waiting, ch)
	b.mu.Unlock()
	canvas.Refresh(b.dot)
	return ch
}

// paintDot draws the red dot; the painter calls it while drawing a frame
// with the badge, which tells set's waiters their frame is painted.
func (b *privacyBadge) paintDot(w, h int) image.Image {
	b.mu.Lock()
	for _, ch := range b.waiting {
		close(ch)
	}
	b.waiting = nil
	b.mu.Unlock()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := math.Min(float64(w), float64(h)) / 2
	cx, cy := float64(w)/2, float64(h)/2
	for y := range h {
		for x := range w {
			// coverage of the pixel by the disc, antialiased over one pixel
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			a := math.Min(1, math.Max(0, r-d+0.5))
			if a > 0 {
				c := privacyRed
				c.A = uint8(math.Round(255 * a))
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

func (b *privacyBadge) CreateRenderer() fyne.WidgetRenderer { return &badgeRenderer{b: b} }

// badgeGeom places the pill for a screen of size: the text as large as
// the corner allows, up to the size of a message's text (capitals at 5 %
// of the screen's height).
func badgeGeom(text string, size fyne.Size) (textSize, pad, dot float32, pill fyne.Size) {
	m := metricsFor(size)
	maxW, maxH := privacyMaxW*size.Width-m.margin/2, privacyMaxH*size.Height-m.margin/2
	textSize = m.bodyMin
	for {
		pad, dot = 0.4*textSize, 0.6*textSize
		w := measurer(textSize, false)(text) + 3*pad + dot
		h := (capRatio+2*descRatio)*textSize + pad
		if (w <= maxW && h <= maxH) || textSize < 8 {
			return textSize, pad, dot, fyne.NewSize(w, h)
		}
		textSize *= 0.95
	}
}

type badgeRenderer struct{ b *privacyBadge }

func (r *badgeRenderer) Layout(size fyne.Size) {
	b := r.b
	ts, pad, dot, pill := badgeGeom(b.text, size)
	m := metricsFor(size)
	x, y := m.margin/2, m.margin/2
	b.bg.CornerRadius = pill.Height / 2
	b.bg.Move(fyne.NewPos(x, y))
	b.bg.Resize(pill)
	b.dot.Move(fyne.NewPos(x+pad, y+(pill.Height-dot)/2))
	b.dot.Resize(fyne.NewSize(dot, dot))
	b.txt.Text, b.txt.TextSize = b.text, ts
	placeLine(b.txt, x+2*pad+dot, y+pill.Height/2+capRatio*ts/2, 0)
	b.probe.Move(fyne.NewPos(0, 0))
	b.probe.Resize(fyne.NewSize(1, 1))
}

func (r *badgeRenderer) MinSize() fyne.Size { return fyne.Size{} }
func (r *badgeRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.b.bg, r.b.dot, r.b.txt, r.b.probe}
}
func (r *badgeRenderer) Destroy() {}
func (r *badgeRenderer) Refresh() {
	r.Layout(r.b.Size())
	canvas.Refresh(r.b.bg)
	canvas.Refresh(r.b.dot) // drops its texture: the next frame paints it again
	canvas.Refresh(r.b.txt)
	canvas.Refresh(r.b.probe)
}
