package photo

import (
	"encoding/binary"
	"testing"
)

func TestExifOrientation(t *testing.T) {
	jpg := encodeTestJPEG(t, quadrants(16, 16))
	longTIFF := exifTIFF(0, binary.LittleEndian)
	binary.LittleEndian.PutUint16(longTIFF[12:], 4) // LONG
	binary.LittleEndian.PutUint32(longTIFF[18:], 6)
	app1 := func(payload []byte) []byte {
		seg := []byte{0xFF, 0xE1, 0, 0}
		binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
		return append(seg, payload...)
	}
	insert := func(segs ...[]byte) []byte {
		out := append([]byte{}, jpg[:2]...)
		for _, s := range segs {
			out = append(out, s...)
		}
		return append(out, jpg[2:]...)
	}
	tests := []struct {
		name   string
		format string
		data   []byte
		want   int
	}{
		{"jpeg none", "jpeg", jpg, 1},
		{"jpeg II 6", "jpeg", withJPEGExif(jpg, 6, binary.LittleEndian), 6},
		{"jpeg MM 8", "jpeg", withJPEGExif(jpg, 8, binary.BigEndian), 8},
		{"jpeg zero", "jpeg", withJPEGExif(jpg, 0, binary.BigEndian), 1},
		{"jpeg nine", "jpeg", withJPEGExif(jpg, 9, binary.BigEndian), 1},
		{"jpeg LONG", "jpeg", insert(app1(append([]byte("Exif\x00\x00"), longTIFF...))), 6},
		{"jpeg after XMP", "jpeg", insert(app1([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>")),
			app1(append([]byte("Exif\x00\x00"), exifTIFF(3, binary.LittleEndian)...))), 3},
		{"jpeg truncated TIFF", "jpeg", insert(app1([]byte("Exif\x00\x00II*\x00\x08\x00"))), 1},
		{"jpeg IFD offset past end", "jpeg", insert(app1([]byte("Exif\x00\x00II*\x00\xff\xff\x00\x00"))), 1},
		{"jpeg segment past end", "jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}, 1},
		{"jpeg bad byte order", "jpeg", insert(app1([]byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00"))), 1},
		{"png 6", "png", withPNGExif(encodeTestPNG(t, quadrants(8, 8)), 6), 6},
		{"png none", "png", encodeTestPNG(t, quadrants(8, 8)), 1},
		{"webp 5", "webp", withWebPExif(t, readTestdata(t, "quadrants-lossy.webp"), 64, 32, 5), 5},
		{"webp none", "webp", readTestdata(t, "quadrants-lossy.webp"), 1},
		{"webp chunk past end", "webp", []byte("RIFF\x00\x00\x00\x00WEBPEXIF\xff\xff\xff\x7f"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.format, tt.data); got != tt.want {
				t.Fatalf("exifOrientation(%s) = %d, want %d", tt.name, got, tt.want)
			}
		})
	}
}
