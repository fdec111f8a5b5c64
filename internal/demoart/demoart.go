// Package demoart draws the stand-in pictures of the demo and the tests:
// people for call screens and callers' pictures. Nothing of a real person.
package demoart

import (
	"image"
	"image/color"
	"math"
)

// Person draws a stand-in for a face: a person (head and shoulders) before
// a wall of the given colour, w x h, lit softly from the top-left. It is
// the video frame of the UI's tests and the callers' pictures of the demo.
func Person(w, h int, wall, shirt color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	skin := color.RGBA{R: 0xE8, G: 0xBE, B: 0x9C, A: 0xFF}
	hair := color.RGBA{R: 0x5A, G: 0x3E, B: 0x2B, A: 0xFF}
	s := math.Min(fw, fh)
	cx, headY, headR := fw/2, fh*0.42, s*0.17
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			c := wall
			// a soft light from the top-left
			k := 1 - 0.25*(fx/fw+fy/fh)/2
			c = color.RGBA{R: uint8(float64(c.R) * k), G: uint8(float64(c.G) * k), B: uint8(float64(c.B) * k), A: 0xFF}
			// shoulders: an ellipse below the head
			if dx, dy := (fx-cx)/(s*0.42), (fy-fh*1.02)/(s*0.42); dx*dx+dy*dy < 1 {
				c = shirt
			}
			// neck
			if math.Abs(fx-cx) < headR*0.45 && fy > headY && fy < headY+headR*1.5 {
				c = skin
			}
			if d := math.Hypot(fx-cx, (fy-headY)*0.85); d < headR {
				c = skin
				if fy < headY-headR*0.35 {
					c = hair
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}
