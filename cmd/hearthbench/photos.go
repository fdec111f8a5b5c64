package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// palette holds the base colours of the bench's photos: saturated, far from
// black, white and grey (the UI's own colours), and far enough apart that
// no point of a crossfade between two of them (or from black or white)
// passes within colourTol of a third (TestPaletteCrossfades), so a
// screenshot tells which photo shows.
var palette = []color.RGBA{
	{240, 80, 200, 255}, // pink
	{120, 40, 240, 255}, // violet
	{0, 160, 0, 255},    // green
	{200, 40, 0, 255},   // red
	{0, 240, 240, 255},  // cyan
	{160, 200, 0, 255},  // lime
}

// makePhoto returns a w×h JPEG that looks roughly like a photo of one
// colour: soft gradients, a few blobs and some grain within ±14 of base, so
// that it compresses and decodes like a photo yet a screenshot can still
// recognise it.
func makePhoto(w, h int, base color.RGBA, seed uint32) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := seed*2654435761 + 1
	phase := float64(seed%7) * 0.9
	for y := range h {
		v := float64(y) / float64(h)
		for x := range w {
			u := float64(x) / float64(w)
			d := 6*math.Sin(2*math.Pi*(1.3*u+phase)) + 4*math.Cos(2*math.Pi*(0.8*v-phase)) +
				2*math.Sin(2*math.Pi*(5*u+3*v))
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			d += float64(int(rng&3) - 2) // grain
			o := img.PixOffset(x, y)
			img.Pix[o+0] = clampByte(float64(base.R) + d)
			img.Pix[o+1] = clampByte(float64(base.G) + d*0.8)
			img.Pix[o+2] = clampByte(float64(base.B) - d*0.6)
			img.Pix[o+3] = 255
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}) // cannot fail into a bytes.Buffer
	return b.Bytes()
}

func clampByte(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
