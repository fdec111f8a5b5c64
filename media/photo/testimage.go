package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
)

// GenerateTestJPEG returns a deterministic, photo-like w×h JPEG at the given
// quality (1..100): smooth colour gradients, a few soft shapes and a little
// sensor-like noise, so that it compresses about as well as a real photo
// (a 6000×4000 image at quality 90 is several MB) and decodes at the same
// cost. Benchmarks, the demo and tests use it; the same arguments always give
// the same bytes.
func GenerateTestJPEG(w, h int, quality int) []byte {
	if w <= 0 || h <= 0 {
		return nil
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)

	// Separable low-frequency terms, computed once per column and per row.
	fx := make([]float64, w)
	gx := make([]float64, w)
	for x := range fx {
		u := float64(x) / float64(w)
		fx[x] = 60*u + 25*math.Sin(2*math.Pi*1.3*u)
		gx[x] = math.Sin(2 * math.Pi * 2.1 * u)
	}
	fy := make([]float64, h)
	gy := make([]float64, h)
	for y := range fy {
		v := float64(y) / float64(h)
		fy[y] = 70 + 50*v + 20*math.Cos(2*math.Pi*0.9*v)
		gy[y] = math.Cos(2 * math.Pi * 1.7 * v)
	}
	// Soft discs give edges at several scales, like objects in a scene.
	type disc struct{ cx, cy, r2, dy float64 }
	discs := []disc{
		{0.30, 0.40, 0.020, 60},
		{0.70, 0.55, 0.035, -45},
		{0.52, 0.22, 0.006, 35},
	}
	rng := uint32(0x9e3779b9) // xorshift32, seeded: deterministic
	for y := 0; y < h; y++ {
		v := float64(y) / float64(h)
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range row {
			u := float64(x) / float64(w)
			l := fx[x] + fy[y] + 18*gx[x]*gy[y]
			for _, d := range discs {
				du, dv := u-d.cx, (v-d.cy)*float64(h)/float64(w)
				if du*du+dv*dv < d.r2 {
					l += d.dy
				}
			}
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			l += float64(int(rng&15) - 8) // ±8 levels of noise
			row[x] = clamp8(l)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < ch; y++ {
		v := float64(2*y) / float64(h)
		for x := 0; x < cw; x++ {
			u := float64(2*x) / float64(w)
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			n := float64(int(rng&3) - 2)
			img.Cb[y*img.CStride+x] = clamp8(128 + 40*math.Sin(2*math.Pi*(0.8*u+0.3*v)) + n)
			img.Cr[y*img.CStride+x] = clamp8(128 + 35*math.Cos(2*math.Pi*(0.5*u-0.9*v)) - n)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil // cannot happen when writing to a bytes.Buffer
	}
	return buf.Bytes()
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
