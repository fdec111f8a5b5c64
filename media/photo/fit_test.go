package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"testing"
)

func TestFitInline(t *testing.T) {
	big := GenerateTestJPEG(3000, 2000, 95)
	small := GenerateTestJPEG(200, 100, 80)
	tests := []struct {
		name           string
		data           []byte
		maxBytes, side int
		same           bool // returned as is
		wantW, wantH   int
		wantErr        error
	}{
		{"small enough", small, 100_000, 64, true, 200, 100, nil},
		{"small png stays png", encodeTestPNG(t, quadrants(64, 32)), 100_000, 1280, true, 64, 32, nil},
		{"scaled to side", big, 400_000, 1280, false, 1280, 853, nil},
		{"quality lowered", big, 60_000, 1280, false, 1280, 853, nil},
		{"shrunk when quality is not enough", big, 8_000, 1280, false, 0, 0, nil},
		{"oriented", withJPEGExif(big, 6, binary.BigEndian), 400_000, 1280, false, 853, 1280, nil},
		{"impossible", big, 100, 1280, false, 0, 0, ErrTooLarge},
		{"truncated small", small[:len(small)/2], 100_000, 1280, false, 0, 0, ErrCorrupt},
		{"truncated big", big[:len(big)/2], 100_000, 1280, false, 0, 0, ErrCorrupt},
		{"bomb", pngHeader(100000, 100000), 100_000, 1280, false, 0, 0, ErrDimensions},
		{"garbage", []byte("not a photo at all"), 100_000, 1280, false, 0, 0, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := FitInline(tt.data, tt.maxBytes, tt.side)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || out != nil {
					t.Fatalf("FitInline(%s) = %d bytes, %v; want %v", tt.name, len(out), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FitInline(%s) error: %v", tt.name, err)
			}
			if len(out) > tt.maxBytes {
				t.Fatalf("FitInline(%s) = %d bytes, want <= %d", tt.name, len(out), tt.maxBytes)
			}
			if tt.same {
				if !bytes.Equal(out, tt.data) {
					t.Fatalf("FitInline(%s) re-encoded, want the input as is", tt.name)
				}
				return
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("FitInline(%s) gave an undecodable JPEG: %v", tt.name, err)
			}
			if tt.wantW != 0 && (cfg.Width != tt.wantW || cfg.Height != tt.wantH) {
				t.Fatalf("FitInline(%s) = %dx%d, want %dx%d", tt.name, cfg.Width, cfg.Height, tt.wantW, tt.wantH)
			}
			if max(cfg.Width, cfg.Height) > tt.side {
				t.Fatalf("FitInline(%s) = %dx%d, want at most %d a side", tt.name, cfg.Width, cfg.Height, tt.side)
			}
		})
	}
}

func TestFitInlineBadArguments(t *testing.T) {
	for _, a := range [][2]int{{0, 100}, {100, 0}, {-1, 100}} {
		if _, err := FitInline(GenerateTestJPEG(8, 8, 80), a[0], a[1]); err == nil {
			t.Errorf("FitInline(maxBytes %d, maxSide %d) error = nil, want an error", a[0], a[1])
		}
	}
}
