package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"
	"testing"
)

// upright gives, for each EXIF orientation, the quadrant colours (top-left,
// top-right, bottom-left, bottom-right) that the upright copy must show when
// the stored picture is red, green / blue, white. Worked out by hand from the
// EXIF definitions, not from the code under test.
var upright = map[int][4]color.RGBA{
	1: {red, green, blue, white},
	2: {green, red, white, blue}, // mirrored left-right
	3: {white, blue, green, red}, // rotated 180°
	4: {blue, white, red, green}, // mirrored top-bottom
	5: {red, blue, green, white}, // transposed
	6: {blue, red, white, green}, // rotated 90° clockwise: the left column becomes the top row
	7: {white, green, blue, red}, // transversed
	8: {green, white, red, blue}, // rotated 90° counter-clockwise
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPrepareOrientation(t *testing.T) {
	const w, h = 64, 32 // stored landscape, so that a quarter turn shows
	jpg := encodeTestJPEG(t, quadrants(w, h))
	pngb := encodeTestPNG(t, quadrants(w, h))
	formats := []struct {
		name   string
		format string
		make   func(o int) []byte
	}{
		{"jpeg-II", "jpeg", func(o int) []byte { return withJPEGExif(jpg, o, binary.LittleEndian) }},
		{"jpeg-MM", "jpeg", func(o int) []byte { return withJPEGExif(jpg, o, binary.BigEndian) }},
		{"jpeg-444", "jpeg", func(o int) []byte { return withJPEGExif(readTestdata(t, "quadrants-444.jpg"), o, binary.BigEndian) }},
		{"jpeg-422", "jpeg", func(o int) []byte { return withJPEGExif(readTestdata(t, "quadrants-422.jpg"), o, binary.BigEndian) }},
		{"jpeg-440", "jpeg", func(o int) []byte { return withJPEGExif(readTestdata(t, "quadrants-440.jpg"), o, binary.BigEndian) }},
		{"jpeg-411", "jpeg", func(o int) []byte { return withJPEGExif(readTestdata(t, "quadrants-411.jpg"), o, binary.BigEndian) }},
		{"png-eXIf", "png", func(o int) []byte { return withPNGExif(pngb, o) }},
		{"webp-lossless", "webp", func(o int) []byte {
			return withWebPExif(t, readTestdata(t, "quadrants-lossless.webp"), w, h, o)
		}},
		{"webp-lossy", "webp", func(o int) []byte {
			return withWebPExif(t, readTestdata(t, "quadrants-lossy.webp"), w, h, o)
		}},
	}
	screens := []Screen{{1920, 1080}, {40, 40}}
	for _, f := range formats {
		for o := 1; o <= 8; o++ {
			for _, s := range screens {
				t.Run(fmt.Sprintf("%s/%d/%dx%d", f.name, o, s.W, s.H), func(t *testing.T) {
					data := f.make(o)
					res, err := Prepare(data, s, DefaultLimits())
					if err != nil {
						t.Fatalf("Prepare(orientation %d) error: %v", o, err)
					}
					wantW, wantH := w, h
					if o >= 5 {
						wantW, wantH = h, w
					}
					wantW, wantH = fit(wantW, wantH, s.W, s.H)
					if res.W != wantW || res.H != wantH || res.Orientation != o || res.Format != f.format ||
						res.SrcW != w || res.SrcH != h {
						t.Fatalf("Prepare(orientation %d) = %dx%d from %dx%d %s orientation %d, want %dx%d from %dx%d %s orientation %d",
							o, res.W, res.H, res.SrcW, res.SrcH, res.Format, res.Orientation, wantW, wantH, w, h, f.format, o)
					}
					img, err := jpeg.Decode(bytes.NewReader(res.JPEG))
					if err != nil {
						t.Fatalf("decode the screen copy: %v", err)
					}
					if b := img.Bounds(); b.Dx() != res.W || b.Dy() != res.H {
						t.Fatalf("screen copy is %v, Result says %dx%d", b, res.W, res.H)
					}
					got, want := quadrantColours(img), upright[o]
					for i := range got {
						if !near(got[i], want[i], 48) {
							t.Fatalf("Prepare(orientation %d) quadrants = %v, want %v (%v, want %v)", o,
								names(got), names(want), got, want)
						}
					}
				})
			}
		}
	}
}

func names(cs [4]color.RGBA) string {
	var s []string
	for _, c := range cs {
		s = append(s, colourName(c))
	}
	return strings.Join(s, ",")
}

func TestPrepareSizes(t *testing.T) {
	hd := Screen{1920, 1080}
	tests := []struct {
		name       string
		w, h       int
		screen     Screen
		wantW, wan int
	}{
		{"landscape", 3000, 2000, hd, 1620, 1080},
		{"portrait", 2000, 3000, hd, 720, 1080},
		{"wider than screen", 4000, 1000, hd, 1920, 480},
		{"small stays small", 1000, 500, hd, 1000, 500},
		{"exact fit", 1920, 1080, hd, 1920, 1080},
		{"one pixel", 1, 1, hd, 1, 1},
		{"sliver wide", 3000, 10, hd, 1920, 6},
		{"sliver tall", 10, 3000, hd, 4, 1080},
		{"portrait screen", 3000, 2000, Screen{1080, 1920}, 1080, 720},
		{"odd sizes", 1001, 777, Screen{333, 333}, 333, 258},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := GenerateTestJPEG(tt.w, tt.h, 80)
			res, err := Prepare(data, tt.screen, Limits{})
			if err != nil {
				t.Fatalf("Prepare(%dx%d) error: %v", tt.w, tt.h, err)
			}
			if res.W != tt.wantW || res.H != tt.wan {
				t.Fatalf("Prepare(%dx%d into %v) = %dx%d, want %dx%d", tt.w, tt.h, tt.screen, res.W, res.H, tt.wantW, tt.wan)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.JPEG))
			if err != nil || cfg.Width != res.W || cfg.Height != res.H {
				t.Fatalf("screen copy header = %dx%d, %v; want %dx%d", cfg.Width, cfg.Height, err, res.W, res.H)
			}
		})
	}
}

// TestPrepareKeepsPicture checks that scaling keeps what the picture looks
// like: the copy, scaled back up, is close to a straightforward box average
// of the original.
func TestPrepareKeepsPicture(t *testing.T) {
	for _, tt := range []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"jpeg", func(t *testing.T) []byte { return GenerateTestJPEG(1200, 800, 92) }},
		{"png", func(t *testing.T) []byte {
			img, err := jpeg.Decode(bytes.NewReader(GenerateTestJPEG(1200, 800, 92)))
			if err != nil {
				t.Fatal(err)
			}
			rgba := image.NewNRGBA(img.Bounds())
			for y := 0; y < 800; y++ {
				for x := 0; x < 1200; x++ {
					rgba.Set(x, y, img.At(x, y))
				}
			}
			return encodeTestPNG(t, rgba)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			orig, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Prepare(data, Screen{300, 300}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if res.W != 300 || res.H != 200 {
				t.Fatalf("Prepare = %dx%d, want 300x200", res.W, res.H)
			}
			small, err := jpeg.Decode(bytes.NewReader(res.JPEG))
			if err != nil {
				t.Fatal(err)
			}
			// Compare 4×4 box averages of the original with the copy, in luma.
			var sum, n float64
			for y := 4; y < 196; y += 3 {
				for x := 4; x < 296; x += 3 {
					var want float64
					for j := 0; j < 4; j++ {
						for i := 0; i < 4; i++ {
							want += luma(orig.At(4*x+i, 4*y+j))
						}
					}
					want /= 16
					d := luma(small.At(x, y)) - want
					sum += d * d
					n++
				}
			}
			if rms := sqrt(sum / n); rms > 6 {
				t.Fatalf("Prepare: copy differs from the original's box average by %.1f levels RMS, want <= 6", rms)
			}
		})
	}
}

func luma(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 50 && z > 0; i++ {
		z = (z + x/z) / 2
	}
	return z
}

// pngHeader is the start of a PNG declaring w×h: enough for DecodeConfig.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, 13)
	ihdr = append(ihdr, "IHDR"...)
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	ihdr = binary.BigEndian.AppendUint32(ihdr, crc32.ChecksumIEEE(ihdr[4:]))
	return append(b, ihdr...)
}

// jpegWithSize rewrites the size in a JPEG's SOF0 header.
func jpegWithSize(t testing.TB, w, h uint16) []byte {
	t.Helper()
	j := encodeTestJPEG(t, image.NewGray(image.Rect(0, 0, 16, 16)))
	i := bytes.Index(j, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(j[i+5:], h)
	binary.BigEndian.PutUint16(j[i+7:], w)
	return j
}

func TestPrepareRefusals(t *testing.T) {
	photo := GenerateTestJPEG(640, 480, 85)
	pngb := encodeTestPNG(t, quadrants(64, 32))
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		want    error
		message string // the whole message, or a part of it when it ends in "…"
	}{
		{"empty", nil, Limits{}, ErrFormat, "photo: empty file: not a supported photo format (JPEG, PNG, WebP)"},
		{"text", []byte("hello, world"), Limits{}, ErrFormat,
			"photo: file starting 68 65 6c 6c 6f 2c 20 77: not a supported photo format (JPEG, PNG, WebP)"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), Limits{}, ErrFormat, "photo: file starting 47 49 46…"},
		{"png bomb", pngHeader(100000, 100000), Limits{}, ErrDimensions,
			"photo: 100000x100000 pixels: dimensions refused (limit 50 MP, 16384 px a side)"},
		{"png 4G wide", pngHeader(1<<31, 1), Limits{}, ErrDimensions, "photo: 2147483648x1 pixels: dimensions refused…"},
		{"png zero width", pngHeader(0, 10), Limits{}, ErrDimensions, "photo: 0x10 pixels: dimensions refused…"},
		{"png side", pngHeader(20000, 10), Limits{}, ErrDimensions, "photo: 20000x10 pixels…"},
		{"jpeg bomb", jpegWithSize(t, 65535, 65535), Limits{}, ErrDimensions, "photo: 65535x65535 pixels…"},
		{"jpeg zero height", jpegWithSize(t, 16, 0), Limits{}, ErrDimensions, "photo: 16x0 pixels…"},
		{"over pixel limit", photo, Limits{MaxPixels: 300_000}, ErrDimensions,
			"photo: 640x480 pixels: dimensions refused (limit 300000 pixels, 16384 px a side)"},
		{"over side limit", photo, Limits{MaxSide: 600}, ErrDimensions,
			"photo: 640x480 pixels: dimensions refused (limit 50 MP, 600 px a side)"},
		{"over byte limit", photo, Limits{MaxBytes: 1000}, ErrTooLarge,
			fmt.Sprintf("photo: %d bytes: too large (limit 1000 bytes)", len(photo))},
		{"jpeg truncated", photo[:len(photo)/2], Limits{}, ErrCorrupt, "photo: jpeg data: corrupt or truncated: …"},
		{"jpeg header only", photo[:600], Limits{}, ErrCorrupt, "photo: jpeg …"},
		{"jpeg SOI only", []byte{0xFF, 0xD8, 0xFF}, Limits{}, ErrCorrupt, "photo: jpeg header: corrupt or truncated: …"},
		{"png truncated", pngb[:len(pngb)-20], Limits{}, ErrCorrupt, "photo: png data: corrupt or truncated: …"},
		{"png bad crc", append(pngHeader(10, 10)[:29], 0, 0, 0, 0), Limits{}, ErrCorrupt, "photo: png header: …"},
		{"webp truncated", readTestdata(t, "quadrants-lossy.webp")[:60], Limits{}, ErrCorrupt, "photo: webp …"},
		{"riff not webp", []byte("RIFF\x04\x00\x00\x00WAVE"), Limits{}, ErrFormat, "photo: file starting 52 49 46 46…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Prepare(tt.data, Screen{1920, 1080}, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Prepare(%s) error = %v, want %v", tt.name, err, tt.want)
			}
			if res.JPEG != nil {
				t.Fatalf("Prepare(%s) returned %d bytes with its error", tt.name, len(res.JPEG))
			}
			if prefix, ok := strings.CutSuffix(tt.message, "…"); ok {
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Fatalf("Prepare(%s) error = %q, want %q…", tt.name, err, prefix)
				}
			} else if err.Error() != tt.message {
				t.Fatalf("Prepare(%s) error = %q, want %q", tt.name, err, tt.message)
			}
		})
	}
}

func TestPrepareBadScreen(t *testing.T) {
	for _, s := range []Screen{{0, 1080}, {1920, 0}, {-1, -1}} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			if _, err := Prepare(GenerateTestJPEG(8, 8, 80), s, Limits{}); err == nil {
				t.Fatalf("Prepare(screen %v) error = nil, want an error", s)
			}
		})
	}
}

func TestPrepareTinyImages(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {17, 9}} {
		w, h := size[0], size[1]
		for _, f := range []struct {
			name string
			data []byte
		}{
			{"jpeg", encodeTestJPEG(t, quadrants(w, h))},
			{"gray-jpeg", encodeTestJPEG(t, image.NewGray(image.Rect(0, 0, w, h)))},
			{"png", encodeTestPNG(t, quadrants(w, h))},
			{"gray-png", encodeTestPNG(t, image.NewGray16(image.Rect(0, 0, w, h)))},
			{"paletted-png", encodeTestPNG(t, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{red, blue}))},
		} {
			t.Run(fmt.Sprintf("%s/%dx%d", f.name, w, h), func(t *testing.T) {
				for _, s := range []Screen{{1920, 1080}, {1, 1}} {
					res, err := Prepare(f.data, s, Limits{})
					if err != nil {
						t.Fatalf("Prepare(%dx%d into %v) error: %v", w, h, s, err)
					}
					ww, wh := fit(w, h, s.W, s.H)
					if res.W != ww || res.H != wh {
						t.Fatalf("Prepare(%dx%d into %v) = %dx%d, want %dx%d", w, h, s, res.W, res.H, ww, wh)
					}
					if _, err := jpeg.Decode(bytes.NewReader(res.JPEG)); err != nil {
						t.Fatalf("Prepare(%dx%d) gave an undecodable JPEG: %v", w, h, err)
					}
				}
			})
		}
	}
}

// TestTransparentOverBlack: a transparent PNG's clear pixels come out black,
// the colour around the photo on the screen.
func TestTransparentOverBlack(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			a := uint8(255)
			if x < 16 {
				a = 0
			}
			m.SetNRGBA(x, y, color.NRGBA{255, 255, 255, a})
		}
	}
	res, err := Prepare(encodeTestPNG(t, m), Screen{100, 100}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(res.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if got := luma(img.At(4, 16)); got > 10 {
		t.Errorf("transparent pixel luma = %.0f, want black (0)", got)
	}
	if got := luma(img.At(28, 16)); got < 245 {
		t.Errorf("opaque white pixel luma = %.0f, want 255", got)
	}
}

func TestProgressiveJPEG(t *testing.T) {
	data := readTestdata(t, "progressive.jpg")
	res, err := Prepare(data, Screen{100, 100}, Limits{})
	if err != nil {
		t.Fatalf("Prepare(progressive) error: %v", err)
	}
	if res.W != 100 || res.H != 50 {
		t.Fatalf("Prepare(progressive) = %dx%d, want 100x50", res.W, res.H)
	}
}

func TestFit(t *testing.T) {
	tests := []struct{ w, h, bw, bh, ww, wh int }{
		{6000, 4000, 1920, 1080, 1620, 1080},
		{4000, 6000, 1920, 1080, 720, 1080},
		{1920, 1080, 1920, 1080, 1920, 1080},
		{100, 100, 1920, 1080, 100, 100},
		{100000, 1, 1920, 1080, 1920, 1},
		{1, 100000, 1920, 1080, 1, 1080},
		{3, 2, 1, 1, 1, 1},
		{16384, 16384, 1280, 800, 800, 800},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d in %dx%d", tt.w, tt.h, tt.bw, tt.bh), func(t *testing.T) {
			if w, h := fit(tt.w, tt.h, tt.bw, tt.bh); w != tt.ww || h != tt.wh {
				t.Fatalf("fit(%d, %d, %d, %d) = %d, %d, want %d, %d", tt.w, tt.h, tt.bw, tt.bh, w, h, tt.ww, tt.wh)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxPixels: 50_000_000, MaxSide: 16384, MaxBytes: 64 << 20, MaxDecodedBytes: 32 << 20}
	if got := DefaultLimits(); got != want {
		t.Fatalf("DefaultLimits() = %+v, want %+v", got, want)
	}
	if got := (Limits{MaxSide: 100}).withDefaults(); got != (Limits{MaxPixels: 50_000_000, MaxSide: 100, MaxBytes: 64 << 20, MaxDecodedBytes: 32 << 20}) {
		t.Fatalf("Limits{MaxSide: 100}.withDefaults() = %+v, want the other fields from DefaultLimits", got)
	}
}

func TestGenerateTestJPEG(t *testing.T) {
	a, b := GenerateTestJPEG(300, 200, 85), GenerateTestJPEG(300, 200, 85)
	if !bytes.Equal(a, b) {
		t.Fatal("GenerateTestJPEG(300, 200, 85) differs between calls, want deterministic output")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(a))
	if err != nil || cfg.Width != 300 || cfg.Height != 200 {
		t.Fatalf("GenerateTestJPEG(300, 200, 85) = %dx%d, %v; want 300x200", cfg.Width, cfg.Height, err)
	}
	if GenerateTestJPEG(0, 10, 85) != nil {
		t.Fatal("GenerateTestJPEG(0, 10, 85) != nil, want nil")
	}
}
