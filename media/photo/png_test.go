package photo

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// rawPNG describes a PNG to write byte by byte, for what image/png's
// encoder never writes: every colour type and bit depth, tRNS keys, a
// chosen filter on each row, Adam7.
type rawPNG struct {
	w, h, depth, ctype int
	interlaced         bool
	palette            [][3]byte
	trns               []byte
	// sample returns channel c of pixel (x, y), below 1<<depth.
	sample func(x, y, c int) int
	// filter returns the filter type of row y of pass pass (0 when not interlaced).
	filter func(pass, y int) byte
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

var adam7 = []struct{ x0, y0, dx, dy int }{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// idatStream returns the zlib-compressed, filtered rows.
func (r rawPNG) idatStream() []byte {
	ch := map[int]int{pngGray: 1, pngRGB: 3, pngPalette: 1, pngGrayAlpha: 2, pngRGBA: 4}[r.ctype]
	bpp := max(1, ch*r.depth/8)
	passes := adam7
	if !r.interlaced {
		passes = []struct{ x0, y0, dx, dy int }{{0, 0, 1, 1}} // every pixel
	}
	var raw bytes.Buffer
	for pi, ps := range passes {
		pw := (r.w - ps.x0 + ps.dx - 1) / ps.dx
		ph := (r.h - ps.y0 + ps.dy - 1) / ps.dy
		if pw <= 0 || ph <= 0 {
			continue
		}
		n := (pw*ch*r.depth + 7) / 8
		prev := make([]byte, n)
		for j := range ph {
			row := make([]byte, n)
			bit := 0
			for i := range pw {
				for c := range ch {
					v := r.sample(ps.x0+i*ps.dx, ps.y0+j*ps.dy, c)
					if r.depth == 16 {
						binary.BigEndian.PutUint16(row[bit/8:], uint16(v))
					} else {
						row[bit/8] |= byte(v << (8 - r.depth - bit%8))
					}
					bit += r.depth
				}
			}
			ft := r.filter(pi, j)
			out := make([]byte, n)
			for i := range row {
				var a, b, c int
				if i >= bpp {
					a, c = int(row[i-bpp]), int(prev[i-bpp])
				}
				b = int(prev[i])
				var pred int
				switch ft {
				case 1:
					pred = a
				case 2:
					pred = b
				case 3:
					pred = (a + b) / 2
				case 4:
					p := a + b - c
					pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
					switch {
					case pa <= pb && pa <= pc:
						pred = a
					case pb <= pc:
						pred = b
					default:
						pred = c
					}
				}
				out[i] = row[i] - byte(pred)
			}
			raw.WriteByte(ft)
			raw.Write(out)
			prev = row
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	return z.Bytes()
}

// encode writes the file; the IDAT stream is split into chunks of at most
// split bytes (0: one chunk).
func (r rawPNG) encode(split int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(r.w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(r.h))
	il := byte(0)
	if r.interlaced {
		il = 1
	}
	ihdr = append(ihdr, byte(r.depth), byte(r.ctype), 0, 0, il)
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	if len(r.palette) > 0 {
		var p []byte
		for _, c := range r.palette {
			p = append(p, c[:]...)
		}
		out = append(out, pngChunk("PLTE", p)...)
	}
	if r.trns != nil {
		out = append(out, pngChunk("tRNS", r.trns)...)
	}
	z := r.idatStream()
	for split > 0 && len(z) > split {
		out = append(out, pngChunk("IDAT", z[:split])...)
		z = z[split:]
	}
	out = append(out, pngChunk("IDAT", z)...)
	return append(out, pngChunk("IEND", nil)...)
}

// noiseSample is deterministic noise over a gradient, with some samples
// at the extremes (alpha 0 and full among them).
func noiseSample(depth int) func(x, y, c int) int {
	top := 1<<depth - 1
	return func(x, y, c int) int {
		h := uint32(x*73856093 ^ y*19349663 ^ c*83492791)
		h ^= h >> 13
		h *= 0x5bd1e995
		h ^= h >> 15
		switch h % 7 {
		case 0:
			return 0
		case 1:
			return top
		case 2:
			return (x + y + c*7) * top / 64 % (top + 1)
		}
		return int(h>>3) % (top + 1)
	}
}

// pngCases are every colour type and bit depth, with and without tRNS.
func pngCases() []rawPNG {
	var cs []rawPNG
	filt := func(pass, y int) byte { return byte((y + pass) % 5) }
	add := func(depth, ctype int, trns []byte, pal int) {
		r := rawPNG{w: 37, h: 23, depth: depth, ctype: ctype, trns: trns, sample: noiseSample(depth), filter: filt}
		if ctype == pngPalette {
			for i := range pal {
				r.palette = append(r.palette, [3]byte{byte(i * 37), byte(255 - i*11), byte(i * i)})
			}
		}
		cs = append(cs, r)
	}
	for _, d := range []int{1, 2, 4, 8, 16} {
		add(d, pngGray, nil, 0)
		add(d, pngGray, []byte{0, byte(1<<min(d, 8) - 1)}, 0) // white is transparent
		if d <= 8 {
			n := 1 << d
			add(d, pngPalette, nil, n)
			add(d, pngPalette, []byte{0, 128, 255}, n)
			add(d, pngPalette, nil, max(1, n/2)) // indices past the palette: opaque black
		}
	}
	for _, d := range []int{8, 16} {
		add(d, pngRGB, nil, 0)
		key := []byte{0, 0, 0, 0, 0, 0} // black is transparent
		if d == 16 {
			key = []byte{0xff, 0xff, 0, 0, 0xff, 0xff}
		}
		add(d, pngRGB, key, 0)
		add(d, pngGrayAlpha, nil, 0)
		add(d, pngRGBA, nil, 0)
	}
	return cs
}

func (r rawPNG) String() string {
	il := ""
	if r.interlaced {
		il = "-adam7"
	}
	return fmt.Sprintf("type%d-%dbit-trns%v-pal%d%s", r.ctype, r.depth, r.trns != nil, len(r.palette), il)
}

// viaImagePNG renders data as Prepare did before PNGs were streamed:
// image/png's whole picture, then the same scaler.
func viaImagePNG(t *testing.T, data []byte, s Screen) picture {
	t.Helper()
	hd, err := readHeader(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	hd.png = nil // decodeRaster goes to image/png
	p, err := render(hd, data, s.W, s.H)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// maxDiff compares two pictures of the same size channel by channel (gray
// compared as R=G=B).
func maxDiff(t *testing.T, a, b picture) int {
	t.Helper()
	if a.w != b.w || a.h != b.h {
		t.Fatalf("sizes %dx%d and %dx%d differ", a.w, a.h, b.w, b.h)
	}
	ia, ib := a.image(), b.image()
	d := 0
	for y := range a.h {
		for x := range a.w {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			for _, v := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				d = max(d, abs(int(v[0]>>8)-int(v[1]>>8)))
			}
		}
	}
	return d
}

// TestStreamedPNGMatchesImagePNG: the streamed picture is the one
// image/png + rasterFromImage + the scaler made, for every colour type,
// bit depth and filter, odd sizes, split IDATs and EXIF orientation, at
// full size and scaled by a box factor of 1, 2 and 5.
func TestStreamedPNGMatchesImagePNG(t *testing.T) {
	screens := []Screen{{1920, 1080}, {30, 30}, {16, 9}, {7, 5}}
	for _, c := range pngCases() {
		for i, s := range screens {
			data := c.encode(13 * (i + 1))
			if i%2 == 1 {
				data = withPNGExif(data, 5+i)
			}
			t.Run(fmt.Sprintf("%v/%dx%d", c, s.W, s.H), func(t *testing.T) {
				// image/png must read the test file as written.
				if _, err := png.Decode(bytes.NewReader(data)); err != nil {
					t.Fatalf("image/png: %v", err)
				}
				want := viaImagePNG(t, data, s)
				hd, err := readHeader(data, DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				got, err := render(hd, data, s.W, s.H)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				// Identical but for 16-bit gray, which image/png gives as
				// Gray16 (scaled as RGBA) and the stream as gray.
				tol := 0
				if want.kind != got.kind {
					tol = 1
				}
				if d := maxDiff(t, got, want); d > tol {
					t.Fatalf("streamed and image/png pictures differ by %d levels, want <= %d", d, tol)
				}
			})
		}
	}
}

// TestInterlacedPNG: Adam7 files go to image/png within the decoded-byte
// budget and are refused above it.
func TestInterlacedPNG(t *testing.T) {
	for _, c := range pngCases() {
		c.interlaced = true
		t.Run(c.String(), func(t *testing.T) {
			data := c.encode(0)
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("image/png: %v", err)
			}
			res, err := Prepare(data, Screen{1920, 1080}, DefaultLimits())
			if err != nil || res.W != c.w || res.H != c.h {
				t.Fatalf("Prepare = %dx%d, %v; want %dx%d", res.W, res.H, err, c.w, c.h)
			}
		})
	}
	big := rawPNG{w: 3000, h: 3000, depth: 8, ctype: pngRGBA, interlaced: true,
		sample: func(x, y, c int) int { return 0 }, filter: func(int, int) byte { return 0 }}
	_, err := Prepare(big.encode(0), Screen{1920, 1080}, DefaultLimits())
	const msg = "photo: 3000x3000 interlaced PNG would take 69 MiB to decode: dimensions refused (limit 32 MiB decoded)"
	if !errors.Is(err, ErrDimensions) || err.Error() != msg {
		t.Fatalf("Prepare(3000x3000 interlaced RGBA) error = %v, want %q", err, msg)
	}
}

// TestStreamedPNGTransparentBlack: a fully transparent pixel of any colour
// comes out black.
func TestStreamedPNGTransparentBlack(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for i := range m.Pix {
		m.Pix[i] = 0xff
	}
	for y := range 40 {
		for x := range 20 {
			m.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 0})
		}
	}
	res, err := Prepare(encodeTestPNG(t, m), Screen{40, 40}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(res.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(5, 20).RGBA(); r>>8 > 8 || g>>8 > 8 || b>>8 > 8 {
		t.Fatalf("transparent white at (5, 20) = %d,%d,%d, want black", r>>8, g>>8, b>>8)
	}
	if r, _, _, _ := img.At(35, 20).RGBA(); r>>8 < 247 {
		t.Fatalf("opaque white at (35, 20) = %d, want white", r>>8)
	}
}

// TestStreamedPNGDamage: every kind of damage is ErrCorrupt, never a panic
// or a picture.
func TestStreamedPNGDamage(t *testing.T) {
	good := rawPNG{w: 50, h: 40, depth: 8, ctype: pngRGB, sample: noiseSample(8),
		filter: func(_, y int) byte { return byte(y % 5) }}
	z := good.idatStream()
	build := func(idat ...[]byte) []byte {
		out := good.encode(0)
		end := bytes.Index(out, []byte("IDAT")) - 4
		out = out[:end]
		for _, d := range idat {
			out = append(out, pngChunk("IDAT", d)...)
		}
		return append(out, pngChunk("IEND", nil)...)
	}
	rows := func(r rawPNG, h int) []byte { r.h = h; return r.idatStream() }
	zlibOf := func(b []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	badCRC := good.encode(0)
	i := bytes.Index(badCRC, []byte("IDAT"))
	badCRC[i+10] ^= 0x40 // inside the data
	badFilter := zlibOf(bytes.Repeat(append([]byte{9}, make([]byte, 150)...), 40))
	noIEND := good.encode(0)
	noIEND = noIEND[:len(noIEND)-12]
	bomb := append(pngHeader(7000, 7000), pngChunk("IDAT", zlibOf(make([]byte, 1000)))...)
	bomb = append(bomb, pngChunk("IEND", nil)...)
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"truncated IDAT", "not enough pixel data", build(z[:len(z)/2])},
		{"bad CRC", "invalid checksum", badCRC},
		{"rows missing", "not enough pixel data: 39 of 40 rows", build(rows(good, 39))},
		{"a row too many", "too much pixel data", build(rows(good, 41))},
		{"bad zlib checksum", "zlib: invalid checksum", build(append(z[:len(z)-4:len(z)-4], 1, 2, 3, 4))},
		{"bad filter", "bad filter type 9", build(badFilter)},
		{"no IEND", "before IEND", noIEND},
		{"not zlib", "zlib: invalid header", build([]byte("hello, world"))},
		{"huge size, tiny payload", "not enough pixel data: 0 of 7000 rows", bomb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range []Screen{{1920, 1080}, {10, 10}} {
				res, err := Prepare(tt.data, s, DefaultLimits())
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) || res.JPEG != nil {
					t.Fatalf("Prepare(%s) = %d bytes, %v; want ErrCorrupt saying %q", tt.name, len(res.JPEG), err, tt.want)
				}
			}
			if _, err := FitInline(tt.data, 1<<20, 100); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("FitInline(%s) error = %v, want ErrCorrupt", tt.name, err)
			}
		})
	}
	// Split across many chunks, with trailing empty IDATs, it is still good.
	if _, err := Prepare(build(z[:7], z[7:100], z[100:], nil), Screen{10, 10}, DefaultLimits()); err != nil {
		t.Fatalf("Prepare(split IDAT) error: %v", err)
	}
}

// TestWebPBudget: a WebP is decoded whole; its decoded size is budgeted.
func TestWebPBudget(t *testing.T) {
	lossy := readTestdata(t, "quadrants-lossy.webp")
	lossless := readTestdata(t, "quadrants-lossless.webp")
	for _, tt := range []struct {
		data []byte
		lim  int64
		msg  string
	}{
		{lossy, 3000, "photo: 64x32 lossy WebP would take 1 MiB to decode: dimensions refused (limit 0 MiB decoded)"},
		{lossless, 16000, "photo: 64x32 lossless WebP would take 1 MiB to decode: dimensions refused (limit 0 MiB decoded)"},
	} {
		_, err := Prepare(tt.data, Screen{100, 100}, Limits{MaxDecodedBytes: tt.lim})
		if !errors.Is(err, ErrDimensions) || err.Error() != tt.msg {
			t.Errorf("Prepare error = %v, want %q", err, tt.msg)
		}
		if _, err := Prepare(tt.data, Screen{100, 100}, Limits{MaxDecodedBytes: 20000}); err != nil {
			t.Errorf("Prepare within the budget: %v", err)
		}
	}
}

// TestJPEGBudget: a progressive JPEG keeps every coefficient and is
// budgeted; a baseline JPEG that libjpeg-turbo declines is not handed to
// image/jpeg whole over the budget.
func TestJPEGBudget(t *testing.T) {
	prog := readTestdata(t, "progressive.jpg")
	_, err := Prepare(prog, Screen{100, 100}, Limits{MaxDecodedBytes: 1000})
	if !errors.Is(err, ErrDimensions) || !strings.Contains(err.Error(), "progressive JPEG would take") {
		t.Fatalf("Prepare(progressive, 1000 B budget) error = %v, want ErrDimensions for a progressive JPEG", err)
	}
	if _, err := Prepare(prog, Screen{100, 100}, DefaultLimits()); err != nil {
		t.Fatalf("Prepare(progressive) error: %v", err)
	}
	photo := GenerateTestJPEG(640, 480, 85)
	lim := Limits{MaxDecodedBytes: 100_000}
	if Accelerated {
		if _, err := Prepare(photo, Screen{100, 100}, lim); err != nil {
			t.Fatalf("Prepare(baseline, scaled by libjpeg-turbo) error: %v", err)
		}
		_, err := Prepare(photo[:len(photo)*2/3], Screen{100, 100}, lim)
		if !errors.Is(err, ErrDimensions) || !strings.Contains(err.Error(), "JPEG that libjpeg-turbo declined would take") {
			t.Fatalf("Prepare(truncated baseline, over budget whole) error = %v, want ErrDimensions", err)
		}
		return
	}
	_, err = Prepare(photo, Screen{100, 100}, lim)
	const msg = "photo: 640x480 JPEG would take 1 MiB to decode: dimensions refused (limit 0 MiB decoded)"
	if !errors.Is(err, ErrDimensions) || err.Error() != msg {
		t.Fatalf("Prepare(baseline without libjpeg-turbo) error = %v, want %q", err, msg)
	}
}
