package photo

import (
	"encoding/binary"
	"fmt"
)

// The decoded-byte budget. The pixel limit alone does not bound memory: a
// decoder that holds the whole picture holds it at its own depth, and some
// hold more than the picture. From the header, before any decoding, each
// photo is counted at what its decoder will hold at once, measured on
// 33-50 MP files (Limits.MaxDecodedBytes; the package doc has the figures):
//
//   - PNG, not interlaced: streamed (png.go), a few rows: never refused.
//   - PNG, interlaced: image/png's picture at its depth (1, 2, 4 or 8 bytes
//     a pixel) and its seven passes, as large again.
//   - WebP: decoded whole by golang.org/x/image/webp. Lossy: 4:2:0 YCbCr,
//     1.5 bytes a pixel (2.5 with alpha), plus a copy of the compressed
//     data. Lossless: NRGBA, 4 bytes a pixel, and as much again while a
//     colour-indexing transform expands it.
//   - JPEG, baseline: libjpeg-turbo (cgo) decodes it scaled in the DCT
//     domain: not counted. Should it decline the file (damage it warns
//     about), image/jpeg would decode it whole, and that is refused over
//     the budget then (goTooBig). Without cgo, or for a layout
//     libjpeg-turbo does not take (CMYK), the whole picture is counted.
//   - JPEG, progressive: every DCT coefficient is kept until the last scan,
//     2 bytes each in libjpeg-turbo (3 bytes a pixel for 4:2:0), 4 bytes in
//     image/jpeg, which also holds the picture.
func budget(hd *header, data []byte, limit int64) error {
	n, what := decodedBytes(hd, data)
	if n > limit {
		return decodeBudgetError(hd, what, n, limit)
	}
	if hd.format == "jpeg" && Accelerated {
		if j, ok := scanJPEG(data); ok && !j.progressive {
			if full := j.goBytes(); full > limit {
				hd.goTooBig = decodeBudgetError(hd, "JPEG that libjpeg-turbo declined", full, limit)
			}
		}
	}
	return nil
}

func decodeBudgetError(hd *header, what string, n, limit int64) error {
	mib := func(b int64) int64 { return (b + 1<<20 - 1) >> 20 }
	return fmt.Errorf("photo: %dx%d %s would take %d MiB to decode: %w (limit %d MiB decoded)",
		hd.w, hd.h, what, mib(n), ErrDimensions, limit>>20)
}

// decodedBytes is the memory that decoding the photo would hold for the
// whole picture at once, from its header, and what kind of file it is.
func decodedBytes(hd *header, data []byte) (int64, string) {
	px := int64(hd.w) * int64(hd.h)
	switch hd.format {
	case "png":
		p := hd.png
		if !p.interlaced {
			// Streamed: two filtered rows and one converted row.
			return 2*int64(p.rowBytes()+1) + 4*int64(p.w), "PNG"
		}
		return 2 * px * p.goBytesPerPixel(), "interlaced PNG"
	case "webp":
		chroma := int64((hd.w+1)/2) * int64((hd.h+1)/2)
		switch webpKind(data) {
		case "VP8L":
			return 8 * px, "lossless WebP"
		case "VP8+ALPH":
			return 2*px + 2*chroma + int64(len(data)), "lossy WebP with alpha"
		default:
			return px + 2*chroma + int64(len(data)), "lossy WebP"
		}
	case "jpeg":
		j, ok := scanJPEG(data)
		if !ok {
			return 0, "JPEG" // image/jpeg read a header this scan did not: it will say why
		}
		if j.progressive {
			if Accelerated && j.turboTakes() {
				return 2 * j.coefficients(), "progressive JPEG"
			}
			return 4*j.coefficients() + j.goBytes(), "progressive JPEG"
		}
		if Accelerated && j.turboTakes() {
			return 0, "JPEG"
		}
		return j.goBytes(), "JPEG"
	}
	return 0, hd.format
}

// webpKind names a WebP file's image chunk: "VP8 " (lossy), "VP8L"
// (lossless) or "VP8+ALPH" (lossy with an alpha chunk, in a VP8X file).
func webpKind(d []byte) string {
	if len(d) < 16 {
		return ""
	}
	if k := string(d[12:16]); k != "VP8X" {
		return k
	}
	alpha := false
	for off := 12; off+8 <= len(d); {
		k := string(d[off : off+4])
		n := int64(binary.LittleEndian.Uint32(d[off+4:]))
		switch k {
		case "ALPH":
			alpha = true
		case "VP8L":
			return k
		case "VP8 ":
			if alpha {
				return "VP8+ALPH"
			}
			return k
		}
		next := int64(off) + 8 + n + n&1
		if next > int64(len(d)) {
			break
		}
		off = int(next)
	}
	return ""
}

// jpegFrame is a JPEG's start-of-frame header.
type jpegFrame struct {
	w, h        int
	progressive bool
	comps       [][2]int // sampling factors (h, v) of each component
}

// scanJPEG finds the first SOF0, SOF1 or SOF2 segment (the frames
// image/jpeg decodes).
func scanJPEG(d []byte) (jpegFrame, bool) {
	for off := 2; off+4 <= len(d); {
		if d[off] != 0xFF {
			return jpegFrame{}, false
		}
		m := d[off+1]
		if m == 0xFF { // fill byte
			off++
			continue
		}
		if m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			off += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(d[off+2:]))
		if n < 2 || off+2+n > len(d) {
			return jpegFrame{}, false
		}
		seg := d[off+4 : off+2+n]
		switch m {
		case 0xC0, 0xC1, 0xC2:
			if len(seg) < 6 {
				return jpegFrame{}, false
			}
			f := jpegFrame{h: int(binary.BigEndian.Uint16(seg[1:])), w: int(binary.BigEndian.Uint16(seg[3:])),
				progressive: m == 0xC2}
			nc := int(seg[5])
			if nc < 1 || len(seg) < 6+3*nc {
				return jpegFrame{}, false
			}
			for i := range nc {
				s := seg[6+3*i+1]
				f.comps = append(f.comps, [2]int{max(1, int(s>>4)), max(1, int(s&15))})
			}
			return f, true
		case 0xDA, 0xD9: // scan or end before any frame
			return jpegFrame{}, false
		}
		off += 2 + n
	}
	return jpegFrame{}, false
}

// mcus is the number of MCUs across and down.
func (f jpegFrame) mcus() (int64, int64) {
	hmax, vmax := 1, 1
	for _, c := range f.comps {
		hmax, vmax = max(hmax, c[0]), max(vmax, c[1])
	}
	return int64((f.w + 8*hmax - 1) / (8 * hmax)), int64((f.h + 8*vmax - 1) / (8 * vmax))
}

// coefficients is the number of DCT coefficients of the frame.
func (f jpegFrame) coefficients() int64 {
	mx, my := f.mcus()
	var n int64
	for _, c := range f.comps {
		n += mx * int64(c[0]) * my * int64(c[1]) * 64
	}
	return n
}

// goBytes is the size of image/jpeg's whole picture: a sample for each
// coefficient, and 4 bytes a pixel for CMYK.
func (f jpegFrame) goBytes() int64 {
	if len(f.comps) == 4 {
		return 4 * int64(f.w) * int64(f.h)
	}
	return f.coefficients()
}

// turboTakes reports whether libjpeg-turbo decodes this layout (turbo.go):
// gray, or YCbCr with chroma at 1×1 and luma at 4:4:4, 4:2:2, 4:2:0, 4:4:0
// or 4:1:1.
func (f jpegFrame) turboTakes() bool {
	switch len(f.comps) {
	case 1:
		return true
	case 3:
		if f.comps[1] != [2]int{1, 1} || f.comps[2] != [2]int{1, 1} {
			return false
		}
		switch f.comps[0] {
		case [2]int{1, 1}, [2]int{2, 1}, [2]int{2, 2}, [2]int{1, 2}, [2]int{4, 1}:
			return true
		}
	}
	return false
}
