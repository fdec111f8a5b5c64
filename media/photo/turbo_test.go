package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// TestDecodersAgree: libjpeg-turbo's scaled decoding (cgo builds) and Go's
// full-size decoding give the same screen copy, within rounding; and
// libjpeg-turbo really is used where it should be.
func TestDecodersAgree(t *testing.T) {
	if !Accelerated {
		t.Skip("built without cgo: only Go's decoder is present")
	}
	tests := []struct {
		name       string
		data       []byte
		w, h       int // source
		dw, dh     int // target
		turboScale int // expected decoded width
	}{
		{"4:2:0 to a quarter", GenerateTestJPEG(1600, 1200, 90), 1600, 1200, 400, 300, 400},
		{"4:2:0 to 0.3", GenerateTestJPEG(1600, 1200, 90), 1600, 1200, 480, 360, 600}, // 3/8
		{"quadrants", encodeTestJPEG(t, quadrants(640, 480)), 640, 480, 300, 225, 320},
		{"4:4:4", readTestdata(t, "quadrants-444.jpg"), 64, 32, 64, 32, 64},
		{"4:2:2", readTestdata(t, "quadrants-422.jpg"), 64, 32, 30, 15, 32},
		{"4:4:0", readTestdata(t, "quadrants-440.jpg"), 64, 32, 30, 15, 32},
		{"4:1:1", readTestdata(t, "quadrants-411.jpg"), 64, 32, 64, 32, 64},
		{"gray", mustGray(t), 640, 480, 100, 75, 160},
		{"no scaling", GenerateTestJPEG(300, 200, 90), 300, 200, 300, 200, 300},
		{"progressive", readTestdata(t, "progressive.jpg"), 200, 100, 50, 25, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, ok := turboDecode(tt.data, tt.w, tt.h, tt.dw, tt.dh)
			if !ok {
				t.Fatalf("turboDecode(%s) declined, want it decoded", tt.name)
			}
			if tr.w != tt.turboScale {
				t.Fatalf("turboDecode(%s) decoded %d wide, want %d", tt.name, tr.w, tt.turboScale)
			}
			img, err := jpeg.Decode(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			a := tr.scale(tt.dw, tt.dh)
			b := rasterFromImage(img).scale(tt.dw, tt.dh)
			if a.kind != b.kind || len(a.p) != len(b.p) {
				t.Fatalf("turbo kind %d planes %d, Go kind %d planes %d", a.kind, len(a.p), b.kind, len(b.p))
			}
			for i := range a.p {
				var sum float64
				for j := range a.p[i].pix {
					d := float64(a.p[i].pix[j]) - float64(b.p[i].pix[j])
					sum += d * d
				}
				if rms := math.Sqrt(sum / float64(len(a.p[i].pix))); rms > 3 {
					t.Errorf("plane %d: turbo and Go differ by %.2f RMS, want <= 3", i, rms)
				}
			}
		})
	}
}

func mustGray(t *testing.T) []byte {
	img, err := jpeg.Decode(bytes.NewReader(GenerateTestJPEG(640, 480, 90)))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return encodeTestJPEG(t, g)
}

func TestTurboDeclinesDamage(t *testing.T) {
	if !Accelerated {
		t.Skip("built without cgo")
	}
	data := GenerateTestJPEG(640, 480, 90)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"truncated", data[:len(data)*2/3]},
		{"header only", data[:700]},
		{"wrong size", data}, // the caller's header disagrees
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := 640
			if tt.name == "wrong size" {
				w = 641
			}
			if _, ok := turboDecode(tt.data, w, 480, 320, 240); ok {
				t.Fatalf("turboDecode(%s) = ok, want declined", tt.name)
			}
		})
	}
}
