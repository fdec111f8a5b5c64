package photo

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// The four quadrant colours of the test pattern, top-left, top-right,
// bottom-left, bottom-right as stored.
var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// quadrants makes a w×h image with a distinct colour in each quadrant, so
// that every flip and turn of it looks different.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := red
			switch {
			case x >= w/2 && y < h/2:
				c = green
			case x < w/2 && y >= h/2:
				c = blue
			case x >= w/2 && y >= h/2:
				c = white
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func encodeTestJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeTestPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exifTIFF is a minimal TIFF structure whose IFD0 holds only an
// Orientation tag (SHORT), in either byte order.
func exifTIFF(orientation int, bo binary.ByteOrder) []byte {
	t := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(t, "II*\x00")
	} else {
		copy(t, "MM\x00*")
	}
	bo.PutUint32(t[4:], 8)
	bo.PutUint16(t[8:], 1)       // one entry
	bo.PutUint16(t[10:], 0x0112) // Orientation
	bo.PutUint16(t[12:], 3)      // SHORT
	bo.PutUint32(t[14:], 1)      // count
	bo.PutUint16(t[18:], uint16(orientation))
	return t // next-IFD offset 0
}

// withJPEGExif inserts an APP1 Exif segment right after the SOI marker.
func withJPEGExif(jpg []byte, orientation int, bo binary.ByteOrder) []byte {
	payload := append([]byte("Exif\x00\x00"), exifTIFF(orientation, bo)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// withPNGExif inserts an eXIf chunk right after IHDR.
func withPNGExif(p []byte, orientation int) []byte {
	ihdrEnd := 8 + 8 + 13 + 4
	data := exifTIFF(orientation, binary.BigEndian)
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "eXIf")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...)
}

// withWebPExif wraps a simple (VP8 or VP8L) WebP file of a w×h picture in
// the extended format with an EXIF chunk.
func withWebPExif(t testing.TB, simple []byte, w, h, orientation int) []byte {
	t.Helper()
	if string(simple[12:15]) != "VP8" {
		t.Fatalf("not a simple WebP: %q", simple[12:16])
	}
	chunk := func(fourcc string, data []byte) []byte {
		c := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 // EXIF present
	put24 := func(b []byte, v int) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(vp8x[4:], w-1)
	put24(vp8x[7:], h-1)
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", vp8x)...)
	body = append(body, simple[12:]...) // the image chunk as it was
	body = append(body, chunk("EXIF", exifTIFF(orientation, binary.LittleEndian))...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

// quadrantColours samples the centres of the four quadrants of img.
func quadrantColours(img image.Image) [4]color.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	at := func(x, y int) color.RGBA {
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
	}
	return [4]color.RGBA{at(w/4, h/4), at(3*w/4, h/4), at(w/4, 3*h/4), at(3*w/4, 3*h/4)}
}

// near reports whether two colours differ by at most tol in every channel.
func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { v := int(x) - int(y); return v <= tol && v >= -tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func colourName(c color.RGBA) string {
	for _, n := range []struct {
		c    color.RGBA
		name string
	}{{red, "red"}, {green, "green"}, {blue, "blue"}, {white, "white"}} {
		if near(c, n.c, 40) {
			return n.name
		}
	}
	return "other"
}
