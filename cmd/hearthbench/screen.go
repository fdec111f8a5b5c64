package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/bits"
)

// decodeXWD decodes an XWD image of a TrueColor screen (ZPixmap, 16, 24 or
// 32 bits per pixel), as xwd writes it and as Xvfb keeps its framebuffer
// with -fbdir. The header is big-endian CARD32s; the pixels are in the byte
// order the header names. With step > 1 it keeps every step-th pixel of
// every step-th row.
func decodeXWD(b []byte, step int) (*image.RGBA, error) {
	const fields = 25
	if len(b) < fields*4 {
		return nil, errors.New("xwd: short header")
	}
	h := make([]uint32, fields)
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	var (
		headerSize   = h[0]
		version      = h[1]
		format       = h[2]
		width        = int(h[4])
		height       = int(h[5])
		byteOrder    = h[7]
		bitsPerPixel = int(h[11])
		bytesPerLine = int(h[12])
		visualClass  = h[13]
		masks        = [3]uint32{h[14], h[15], h[16]}
		ncolors      = int(h[19])
	)
	switch {
	case version != 7:
		return nil, fmt.Errorf("xwd: file version %d, want 7", version)
	case format != 2:
		return nil, fmt.Errorf("xwd: pixmap format %d, want ZPixmap (2)", format)
	case visualClass != 4 && visualClass != 5: // TrueColor, DirectColor
		return nil, fmt.Errorf("xwd: visual class %d, want TrueColor", visualClass)
	case bitsPerPixel != 16 && bitsPerPixel != 24 && bitsPerPixel != 32:
		return nil, fmt.Errorf("xwd: %d bits per pixel", bitsPerPixel)
	case width <= 0 || height <= 0 || width > 1<<15 || height > 1<<15:
		return nil, fmt.Errorf("xwd: size %dx%d", width, height)
	case bytesPerLine < width*bitsPerPixel/8:
		return nil, fmt.Errorf("xwd: %d bytes per line for %d pixels", bytesPerLine, width)
	}
	off := int(headerSize) + ncolors*12
	if off < 0 || len(b) < off+bytesPerLine*height {
		return nil, fmt.Errorf("xwd: %d bytes, want %d", len(b), off+bytesPerLine*height)
	}
	var shift, scale [3]int
	for i, m := range masks {
		if m == 0 {
			return nil, errors.New("xwd: empty colour mask")
		}
		shift[i] = bits.TrailingZeros32(m)
		scale[i] = bits.OnesCount32(m)
	}
	step = max(step, 1)
	bpp := bitsPerPixel / 8
	img := image.NewRGBA(image.Rect(0, 0, (width+step-1)/step, (height+step-1)/step))
	px := b[off:]
	for y := 0; y < height; y += step {
		row := px[y*bytesPerLine:]
		o := (y / step) * img.Stride
		for x := 0; x < width; x += step {
			var v uint32
			p := row[x*bpp : x*bpp+bpp]
			for i := range bpp {
				if byteOrder == 0 { // LSBFirst
					v |= uint32(p[i]) << (8 * i)
				} else {
					v = v<<8 | uint32(p[i])
				}
			}
			for c := range 3 {
				ch := (v & masks[c]) >> shift[c]
				if scale[c] != 8 {
					ch = ch * 255 / (1<<scale[c] - 1)
				}
				img.Pix[o+c] = uint8(ch)
			}
			img.Pix[o+3] = 255
			o += 4
		}
	}
	return img, nil
}

// share is the fraction of img's pixels within tol of c in every channel.
func share(img *image.RGBA, c color.RGBA, tol int) float64 {
	hit, all := 0, 0
	for i := 0; i+3 < len(img.Pix); i += 4 {
		p := img.Pix[i : i+3]
		if near(p[0], c.R, tol) && near(p[1], c.G, tol) && near(p[2], c.B, tol) {
			hit++
		}
		all++
	}
	if all == 0 {
		return 0
	}
	return float64(hit) / float64(all)
}

func near(a, b uint8, tol int) bool {
	d := int(a) - int(b)
	return d <= tol && d >= -tol
}

// Thresholds for "this photo is on screen": most of the screen within
// colourTol of the photo's base colour. The photos vary by up to ±14 around
// it (see makePhoto); clock and caption cover the rest.
const (
	colourTol   = 30
	showingFrac = 0.5
)

// showing returns the index of the palette colour that covers most of img
// when it covers at least showingFrac, else -1 (empty screen, a message
// card, or the middle of a crossfade).
func showing(img *image.RGBA, palette []color.RGBA) int {
	best, bestShare := -1, 0.0
	for i, c := range palette {
		if s := share(img, c, colourTol); s > bestShare {
			best, bestShare = i, s
		}
	}
	if bestShare < showingFrac {
		return -1
	}
	return best
}
