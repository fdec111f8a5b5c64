package photo

import (
	"fmt"
	"testing"
)

func TestResampleFlat(t *testing.T) {
	// A flat plane stays flat at any scale: the weights sum to exactly one.
	for _, sz := range [][4]int{{100, 60, 37, 23}, {37, 23, 100, 60}, {5, 5, 5, 5}, {1, 1, 9, 3}, {640, 480, 1, 1}} {
		for _, bpp := range []int{1, 4} {
			t.Run(fmt.Sprintf("%v/%d", sz, bpp), func(t *testing.T) {
				sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
				p := plane{pix: make([]byte, sw*sh*bpp), w: sw, h: sh, bpp: bpp, stride: sw * bpp}
				for i := range p.pix {
					p.pix[i] = 173
				}
				out := resample(p.source(float64(sw), float64(sh)), dw, dh, float64(dw), float64(dh))
				if out.w != dw || out.h != dh || len(out.pix) != dw*dh*bpp {
					t.Fatalf("resample to %dx%d = %dx%d (%d bytes)", dw, dh, out.w, out.h, len(out.pix))
				}
				for i, v := range out.pix {
					if v != 173 {
						t.Fatalf("resample(flat 173)[%d] = %d, want 173", i, v)
					}
				}
			})
		}
	}
}

func TestResampleRamp(t *testing.T) {
	// A linear ramp halved stays the same ramp, sampled at pixel centres.
	const sw, dw = 256, 128
	p := plane{pix: make([]byte, sw), w: sw, h: 1, bpp: 1, stride: sw}
	for i := range p.pix {
		p.pix[i] = byte(i)
	}
	out := resample(p.source(sw, 1), dw, 1, dw, 1)
	for i := 4; i < dw-4; i++ { // away from the edges
		if want := 2*i + 0; int(out.pix[i]) < want || int(out.pix[i]) > want+1 {
			t.Fatalf("resample(ramp)[%d] = %d, want %d or %d", i, out.pix[i], want, want+1)
		}
	}
}

func TestOrientPlane(t *testing.T) {
	// 3×2 plane:  a b c
	//             d e f
	p := plane{pix: []byte("abcdef"), w: 3, h: 2, bpp: 1, stride: 3}
	tests := []struct {
		o    int
		want string
		w, h int
	}{
		{1, "abcdef", 3, 2},
		{2, "cbafed", 3, 2},
		{3, "fedcba", 3, 2},
		{4, "defabc", 3, 2},
		{5, "adbecf", 2, 3},
		{6, "daebfc", 2, 3},
		{7, "fcebda", 2, 3},
		{8, "cfbead", 2, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.o), func(t *testing.T) {
			q := orientPlane(p, tt.o)
			if string(q.pix) != tt.want || q.w != tt.w || q.h != tt.h {
				t.Fatalf("orientPlane(abc/def, %d) = %q %dx%d, want %q %dx%d", tt.o, q.pix, q.w, q.h, tt.want, tt.w, tt.h)
			}
		})
	}
}

// BenchmarkResample scales the planes of a 2250×1500 4:2:0 picture (24 MP
// decoded at 3/8) to 1620×1080: the scaling step of BenchmarkPrepare24MP.
func BenchmarkResample(b *testing.B) {
	mk := func(w, h int) plane {
		p := plane{pix: make([]byte, w*h), w: w, h: h, bpp: 1, stride: w}
		for i := range p.pix {
			p.pix[i] = byte(i*7 + i/w*3)
		}
		return p
	}
	r := ycbcrRaster(2250, 1500, 2, 2, mk(2250, 1500), mk(1125, 750), mk(1125, 750))
	b.ReportAllocs()
	for b.Loop() {
		r.scale(1620, 1080)
	}
}
