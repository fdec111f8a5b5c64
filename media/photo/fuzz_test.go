package photo

import (
	"bytes"
	"errors"
	"image/jpeg"
	"testing"
)

// FuzzPrepare feeds Prepare arbitrary bytes. Seeds are in
// testdata/fuzz/FuzzPrepare: a small JPEG (plain, with EXIF, progressive,
// 4:4:4, gray), PNG (plain, with eXIf, paletted, every colour type and bit
// depth, tRNS keys, split IDAT, Adam7, a cut IDAT, a row too many), WebP
// (lossy, lossless, extended with EXIF), a truncated JPEG, a PNG bomb header
// and garbage. Prepare must never panic, must refuse only with one of the
// sentinel errors, and must never succeed without a decodable copy inside the
// screen. A PNG is also decoded both ways (streamed, and by image/png): the
// stream may be stricter, but never accepts what image/png refuses, and the
// two pictures agree.
func FuzzPrepare(f *testing.F) {
	screen := Screen{W: 320, H: 240}
	// Smaller limits than the device's keep each run fast; the checks are the same.
	lim := Limits{MaxPixels: 4_000_000, MaxSide: 4096, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		if sniff(data) == "png" {
			comparePNGDecoders(t, data, screen, lim)
		}
		res, err := Prepare(data, screen, lim)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDimensions) &&
				!errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Prepare error %q wraps no sentinel error", err)
			}
			if res.JPEG != nil {
				t.Fatalf("Prepare returned %d bytes with error %v", len(res.JPEG), err)
			}
			return
		}
		if len(res.JPEG) == 0 {
			t.Fatal("Prepare = empty JPEG, nil error")
		}
		if res.W < 1 || res.H < 1 || res.W > screen.W || res.H > screen.H {
			t.Fatalf("Prepare = %dx%d, want within 1x1..%dx%d", res.W, res.H, screen.W, screen.H)
		}
		if res.Orientation < 1 || res.Orientation > 8 {
			t.Fatalf("Prepare orientation = %d, want 1..8", res.Orientation)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.JPEG))
		if err != nil || cfg.Width != res.W || cfg.Height != res.H {
			t.Fatalf("screen copy header = %dx%d, %v; want %dx%d", cfg.Width, cfg.Height, err, res.W, res.H)
		}
	})
}

// comparePNGDecoders renders a PNG streamed and through image/png.
func comparePNGDecoders(t *testing.T, data []byte, screen Screen, lim Limits) {
	hd, err := readHeader(data, lim.withDefaults())
	if err != nil || hd.png.interlaced {
		return
	}
	got, gerr := render(hd, data, screen.W, screen.H)
	hd.png = nil // decodeRaster goes to image/png
	want, werr := render(hd, data, screen.W, screen.H)
	switch {
	case gerr == nil && werr != nil:
		t.Fatalf("streamed PNG decoded; image/png refused it: %v", werr)
	case gerr != nil && !errors.Is(gerr, ErrCorrupt):
		t.Fatalf("streamed PNG error %v, want ErrCorrupt", gerr)
	case gerr == nil:
		if d := maxDiff(t, got, want); d > 1 {
			t.Fatalf("streamed and image/png pictures differ by %d levels", d)
		}
	}
}
