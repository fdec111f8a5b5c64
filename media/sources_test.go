package media

import (
	"bytes"
	"image"
	"testing"
)

// TestTestVideoSourceFrames checks that redrawing only the block gives
// every frame as drawing it afresh would: the bars, and the block at its
// place for that frame, once it has moved past the right edge too.
func TestTestVideoSourceFrames(t *testing.T) {
	const w, h = 64, 48
	src := newTestVideoSource(w, h, 1000)
	defer src.Close()
	bw, bh := w/16, h/8
	for n := range 40 {
		got, _, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		want := image.NewYCbCr(src.base.Rect, src.base.SubsampleRatio)
		copy(want.Y, src.base.Y)
		copy(want.Cb, src.base.Cb)
		copy(want.Cr, src.base.Cr)
		x0, y0 := (n*bw)%(w-bw), h/2-bh/2
		for y := y0; y < y0+bh; y++ {
			for x := x0; x < x0+bw; x++ {
				want.Y[y*want.YStride+x] = 235
			}
		}
		g := got.(*image.YCbCr)
		if !bytes.Equal(g.Y, want.Y) || !bytes.Equal(g.Cb, want.Cb) || !bytes.Equal(g.Cr, want.Cr) {
			t.Fatalf("frame %d differs from the bars with the block at x=%d", n, x0)
		}
	}
}
