package photo

import (
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A PNG reader that streams: Go's image/png holds the whole picture at its
// own depth (a 7000×7000 16-bit RGBA PNG is 392 MB, from a 508 KB file),
// where the screen copy needs a few rows at a time. This one walks the
// chunks itself (checking every CRC and the chunk order as image/png does),
// inflates the IDAT stream with compress/zlib, unfilters one row at a time
// and converts it to the 8-bit planes the resampler reads, exactly as
// rasterFromImage would convert image/png's picture: gray stays gray (16-bit
// gray keeps its high byte), everything else becomes premultiplied RGBA, so
// transparent pixels come out black. The resampler pulls rows in order
// (boxReduce and its ring both do), so nothing at full size is ever held:
// two filtered rows, one converted row and the zlib window.
//
// Interlaced (Adam7) PNGs are not streamed: their last pass holds every other
// row, so the rows cannot be finished in order. They go to image/png within
// Limits.MaxDecodedBytes.

// PNG colour types.
const (
	pngGray      = 0
	pngRGB       = 2
	pngPalette   = 3
	pngGrayAlpha = 4
	pngRGBA      = 6
)

// pngInfo is what a PNG's chunks say, read before any pixel is inflated.
type pngInfo struct {
	w, h       int
	depth      int // bits per sample: 1, 2, 4, 8 or 16
	ctype      int
	interlaced bool
	trns       bool         // a gray or RGB colour key (tRNS) is set
	key        [6]byte      // the tRNS chunk of a gray (2 bytes) or RGB (6 bytes) PNG
	palette    [256][4]byte // premultiplied RGBA of every index; opaque black past the PLTE
	idat       [][]byte     // the data of the first run of consecutive IDAT chunks
}

// gray reports whether the picture is read as one gray plane.
func (p *pngInfo) gray() bool { return p.ctype == pngGray && !p.trns }

// channels is the number of samples a pixel has in the file.
func (p *pngInfo) channels() int {
	switch p.ctype {
	case pngRGB:
		return 3
	case pngGrayAlpha:
		return 2
	case pngRGBA:
		return 4
	}
	return 1
}

// rowBytes is the length of one unfiltered row (without its filter byte).
func (p *pngInfo) rowBytes() int { return (p.w*p.channels()*p.depth + 7) / 8 }

// goBytesPerPixel is what image/png allocates per pixel for this file.
func (p *pngInfo) goBytesPerPixel() int64 {
	switch {
	case p.ctype == pngPalette:
		return 1
	case p.depth == 16 && p.ctype == pngGray && !p.trns:
		return 2
	case p.depth == 16:
		return 8
	case p.ctype == pngGray && !p.trns:
		return 1
	}
	return 4
}

// premul8 is the 8-bit premultiplied value of sample v at alpha a, as
// image/draw computes it from an NRGBA pixel.
func premul8(v, a byte) byte { return byte(uint32(v) * uint32(a) * 0x101 / 0xff >> 8) }

// premul16 is the same for 16-bit samples (an NRGBA64 pixel).
func premul16(v, a uint32) byte { return byte(v * a / 0xffff >> 8) }

func pngCorrupt(format string, args ...any) error {
	return fmt.Errorf("photo: png data: %w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// scanPNG reads every chunk of a PNG up to IEND: order, lengths and CRCs,
// IHDR, PLTE and tRNS, and where the IDAT data lies. image/png.DecodeConfig
// has already accepted the IHDR; this repeats only what it needs.
func scanPNG(data []byte) (info *pngInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, pngCorrupt("reader panicked: %v", p)
		}
	}()
	const (
		start = iota
		seenIHDR
		seenPLTE
		seenTRNS
		seenIDAT
	)
	p := &pngInfo{}
	for i := range p.palette {
		p.palette[i] = [4]byte{0, 0, 0, 0xff}
	}
	np := 0 // palette entries in PLTE
	stage := start
	idatRun := false // the last chunk was part of the first IDAT run
	for off := 8; ; {
		if len(data)-off < 12 {
			return nil, pngCorrupt("cut short at byte %d, before IEND", off)
		}
		n := binary.BigEndian.Uint32(data[off:])
		typ := string(data[off+4 : off+8])
		if n > 0x7fffffff || int64(n) > int64(len(data)-off-12) {
			return nil, pngCorrupt("chunk %q at byte %d: length %d runs past the end", typ, off, n)
		}
		body := data[off+8 : off+8+int(n)]
		if crc32.ChecksumIEEE(data[off+4:off+8+int(n)]) != binary.BigEndian.Uint32(data[off+8+int(n):]) {
			return nil, pngCorrupt("chunk %q at byte %d: invalid checksum", typ, off)
		}
		off += 12 + int(n)
		order := func(ok bool) error {
			if !ok {
				return pngCorrupt("chunk %q out of order", typ)
			}
			return nil
		}
		wasRun := idatRun
		idatRun = false
		switch typ {
		case "IHDR":
			if err := order(stage == start && n == 13); err != nil {
				return nil, err
			}
			stage = seenIHDR
			p.w, p.h = int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:]))
			p.depth, p.ctype, p.interlaced = int(body[8]), int(body[9]), body[12] != 0
		case "PLTE":
			if err := order(stage == seenIHDR); err != nil {
				return nil, err
			}
			stage = seenPLTE
			np = int(n / 3)
			if n%3 != 0 || np == 0 || np > 256 || np > 1<<p.depth {
				return nil, pngCorrupt("bad PLTE length %d", n)
			}
			switch p.ctype {
			case pngPalette:
				for i := range np {
					p.palette[i] = [4]byte{body[3*i], body[3*i+1], body[3*i+2], 0xff}
				}
			case pngRGB, pngRGBA: // optional and ignored, as image/png does
			default:
				return nil, pngCorrupt("PLTE in a PNG of colour type %d", p.ctype)
			}
		case "tRNS":
			switch p.ctype {
			case pngPalette:
				if err := order(stage == seenPLTE); err != nil {
					return nil, err
				}
				if n > 256 {
					return nil, pngCorrupt("bad tRNS length %d", n)
				}
				for i, a := range body {
					c := p.palette[i]
					p.palette[i] = [4]byte{premul8(c[0], a), premul8(c[1], a), premul8(c[2], a), a}
				}
			case pngGray, pngRGB:
				if err := order(stage == seenIHDR || (p.ctype == pngRGB && stage == seenPLTE)); err != nil {
					return nil, err
				}
				if int(n) != 2*p.channels() {
					return nil, pngCorrupt("bad tRNS length %d", n)
				}
				copy(p.key[:], body)
				p.trns = true
			default:
				return nil, pngCorrupt("tRNS in a PNG of colour type %d", p.ctype)
			}
			stage = seenTRNS
		case "IDAT":
			if err := order(stage >= seenIHDR && (stage > seenIHDR || p.ctype != pngPalette)); err != nil {
				return nil, err
			}
			if stage == seenIDAT && !wasRun {
				break // trailing IDAT chunks after others are ignored, as image/png does
			}
			stage, idatRun = seenIDAT, true
			p.idat = append(p.idat, body)
		case "IEND":
			if err := order(stage == seenIDAT); err != nil {
				return nil, err
			}
			if n != 0 {
				return nil, pngCorrupt("bad IEND length %d", n)
			}
			return p, nil
		}
	}
}

// idatReader presents the IDAT chunks' data as one stream. It is an
// io.ByteReader, so zlib reads no further than the compressed data ends.
type idatReader struct {
	chunks [][]byte
}

func (r *idatReader) Read(b []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

func (r *idatReader) ReadByte() (byte, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	c := r.chunks[0][0]
	r.chunks[0] = r.chunks[0][1:]
	return c, nil
}

// pngStream decodes the rows of a non-interlaced PNG in order.
type pngStream struct {
	p         *pngInfo
	idat      idatReader
	z         io.ReadCloser
	bpp       int    // bytes per pixel for the filters (at least 1)
	cur, prev []byte // filter byte + one row
	out       []byte // the converted row: w×1 (gray) or w×4 (RGBA) bytes
	y         int    // rows decoded so far
	err       error
}

// streamPNG returns the picture as a raster whose rows are decoded as the
// scaler asks for them; raster.finish reports damage found on the way.
func streamPNG(p *pngInfo) raster {
	s := &pngStream{p: p, idat: idatReader{chunks: append([][]byte(nil), p.idat...)},
		bpp: max(1, p.channels()*p.depth/8)}
	n := p.rowBytes() + 1
	s.cur, s.prev = make([]byte, n), make([]byte, n)
	k, bpp := kindRGBA, 4
	if p.gray() {
		k, bpp = kindGray, 1
	}
	s.out = make([]byte, p.w*bpp)
	src := source{w: p.w, h: p.h, bpp: bpp, extW: float64(p.w), extH: float64(p.h), row: s.row}
	return raster{kind: k, w: p.w, h: p.h, src: []source{src}, finish: s.finish}
}

// row returns row y (rows are asked for in increasing order). After an
// error it returns black rows; finish reports the error.
func (s *pngStream) row(y int) []byte {
	if y < s.y-1 && s.err == nil {
		s.err = fmt.Errorf("photo: png row %d asked for after row %d", y, s.y-1)
	}
	for s.err == nil && s.y <= y && s.y < s.p.h {
		s.err = s.next()
	}
	if s.err != nil {
		clear(s.out)
	}
	return s.out
}

// finish decodes any rows not asked for and checks that the compressed
// data ends where the picture does.
func (s *pngStream) finish() error {
	for s.err == nil && s.y < s.p.h {
		s.err = s.next()
	}
	if s.err == nil {
		s.err = s.end()
	}
	if s.z != nil {
		s.z.Close()
	}
	return s.err
}

func (s *pngStream) end() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = pngCorrupt("reader panicked: %v", p)
		}
	}()
	var b [1]byte
	n, err := io.ReadFull(s.z, b[:])
	if n != 0 || len(s.idat.chunks) > 0 && len(s.idat.chunks[0]) > 0 {
		return pngCorrupt("too much pixel data")
	}
	if err != io.EOF {
		return pngCorrupt("%v", err)
	}
	return nil
}

// next inflates, unfilters and converts the next row.
func (s *pngStream) next() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = pngCorrupt("reader panicked: %v", p)
		}
	}()
	if s.z == nil {
		if s.z, err = zlib.NewReader(&s.idat); err != nil {
			return pngCorrupt("%v", err)
		}
	}
	if _, err := io.ReadFull(s.z, s.cur); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return pngCorrupt("not enough pixel data: %d of %d rows", s.y, s.p.h)
		}
		return pngCorrupt("row %d: %v", s.y, err)
	}
	if err := unfilter(s.cur, s.prev, s.bpp); err != nil {
		return pngCorrupt("row %d: %v", s.y, err)
	}
	s.convert(s.cur[1:])
	s.cur, s.prev = s.prev, s.cur
	s.y++
	return nil
}

// unfilter undoes a row's filter in place; cur[0] is the filter type and
// prev the previous row, unfiltered (zero before the first).
func unfilter(cur, prev []byte, bpp int) error {
	c, p := cur[1:], prev[1:]
	switch cur[0] {
	case 0:
	case 1: // sub
		for i := bpp; i < len(c); i++ {
			c[i] += c[i-bpp]
		}
	case 2: // up
		for i, v := range p {
			c[i] += v
		}
	case 3: // average
		for i := 0; i < bpp; i++ {
			c[i] += p[i] / 2
		}
		for i := bpp; i < len(c); i++ {
			c[i] += byte((int(c[i-bpp]) + int(p[i])) / 2)
		}
	case 4: // Paeth
		for i := 0; i < bpp; i++ {
			c[i] += p[i] // a = c = 0: the predictor is b
		}
		for i := bpp; i < len(c); i++ {
			a, b, cc := int(c[i-bpp]), int(p[i]), int(p[i-bpp])
			pa, pb, pc := b-cc, a-cc, 0
			pc = abs(pa + pb)
			pa, pb = abs(pa), abs(pb)
			switch {
			case pa <= pb && pa <= pc:
				c[i] += byte(a)
			case pb <= pc:
				c[i] += byte(b)
			default:
				c[i] += byte(cc)
			}
		}
	default:
		return fmt.Errorf("bad filter type %d", cur[0])
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// convert turns one unfiltered row into s.out, as rasterFromImage turns
// image/png's picture into planes.
func (s *pngStream) convert(in []byte) {
	p, out, w := s.p, s.out, s.p.w
	be16 := func(i int) uint32 { return uint32(in[i])<<8 | uint32(in[i+1]) }
	switch {
	case p.depth < 8: // gray or palette, packed
		d := uint(p.depth)
		mask := byte(1<<d - 1)
		scale := 0xff / mask
		key := p.key[1] * scale // as image/png scales it (in a byte)
		for x := range w {
			bit := uint(x) * d
			v := in[bit/8] >> (8 - d - bit%8) & mask
			switch {
			case p.ctype == pngPalette:
				copy(out[4*x:4*x+4], p.palette[v][:])
			case !p.trns:
				out[x] = v * scale
			default:
				g, a := v*scale, byte(0xff)
				if g == key {
					g, a = 0, 0 // transparent: black
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
			}
		}
	case p.depth == 8:
		switch p.ctype {
		case pngGray:
			if !p.trns {
				copy(out, in[:w])
				return
			}
			for x, g := range in[:w] {
				a := byte(0xff)
				if g == p.key[1] {
					g, a = 0, 0
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
			}
		case pngRGB:
			for x := range w {
				r, g, b, a := in[3*x], in[3*x+1], in[3*x+2], byte(0xff)
				if p.trns && r == p.key[1] && g == p.key[3] && b == p.key[5] {
					r, g, b, a = 0, 0, 0, 0
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = r, g, b, a
			}
		case pngPalette:
			for x, v := range in[:w] {
				copy(out[4*x:4*x+4], p.palette[v][:])
			}
		case pngGrayAlpha:
			for x := range w {
				g, a := in[2*x], in[2*x+1]
				if a != 0xff {
					g = premul8(g, a)
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
			}
		case pngRGBA:
			for x := range w {
				px := in[4*x : 4*x+4 : 4*x+4]
				o := out[4*x : 4*x+4 : 4*x+4]
				if a := px[3]; a == 0xff {
					copy(o, px)
				} else {
					o[0], o[1], o[2], o[3] = premul8(px[0], a), premul8(px[1], a), premul8(px[2], a), a
				}
			}
		}
	default: // 16 bits a sample: the high byte, premultiplied at 16 bits
		switch p.ctype {
		case pngGray:
			if !p.trns {
				for x := range w {
					out[x] = in[2*x]
				}
				return
			}
			key := uint32(p.key[0])<<8 | uint32(p.key[1])
			for x := range w {
				g, a := in[2*x], byte(0xff)
				if be16(2*x) == key {
					g, a = 0, 0
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
			}
		case pngRGB:
			kr := uint32(p.key[0])<<8 | uint32(p.key[1])
			kg := uint32(p.key[2])<<8 | uint32(p.key[3])
			kb := uint32(p.key[4])<<8 | uint32(p.key[5])
			for x := range w {
				r, g, b, a := in[6*x], in[6*x+2], in[6*x+4], byte(0xff)
				if p.trns && be16(6*x) == kr && be16(6*x+2) == kg && be16(6*x+4) == kb {
					r, g, b, a = 0, 0, 0, 0
				}
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = r, g, b, a
			}
		case pngGrayAlpha:
			for x := range w {
				a := be16(4*x + 2)
				g := premul16(be16(4*x), a)
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, byte(a>>8)
			}
		case pngRGBA:
			for x := range w {
				a := be16(8*x + 6)
				o := out[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = premul16(be16(8*x), a), premul16(be16(8*x+2), a), premul16(be16(8*x+4), a), byte(a>>8)
			}
		}
	}
}
