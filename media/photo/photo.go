package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Quality is the JPEG quality of the screen copy: high enough that a
// full-screen photo shows no blocking, small enough (a few hundred kB at
// 1920×1080) to keep many in the store.
const Quality = 88

// Screen is the size of the display the copy is made for.
type Screen struct{ W, H int }

// Limits bound what is accepted. A zero (or negative) field takes its value
// from DefaultLimits.
type Limits struct {
	MaxPixels int64 // width × height as declared in the header
	MaxSide   int   // the longer of width and height
	MaxBytes  int64 // length of the file
	// MaxDecodedBytes bounds the memory a decoder holds for the whole
	// picture at once, counted from what the header declares (size, bit
	// depth, colour type, format, progressive or not) as budget.go explains:
	// an interlaced PNG, a WebP, a progressive JPEG. A non-interlaced PNG
	// (streamed) and a baseline JPEG (scaled by libjpeg-turbo) hold little.
	MaxDecodedBytes int64
}

// DefaultLimits are generous for any camera (a 50 MP phone photo passes) and
// refuse what would not fit in a small device's memory once decoded.
func DefaultLimits() Limits {
	return Limits{MaxPixels: 50_000_000, MaxSide: 16384, MaxBytes: 64 << 20, MaxDecodedBytes: 32 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = d.MaxSide
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	return l
}

// Result is a screen copy.
type Result struct {
	JPEG        []byte // the screen copy, JPEG at Quality
	W, H        int    // size of the screen copy
	SrcW, SrcH  int    // size of the original as decoded (before orientation)
	Format      string // format of the original: "jpeg", "png", "webp"
	Orientation int    // EXIF orientation applied (1..8; 1 when none)
}

// Prepare checks, decodes, orients and scales a photo to fit inside screen
// (aspect kept, never stretched, never upscaled), returning it re-encoded as
// JPEG. A photo already small enough keeps its size but is still re-encoded,
// so the copy never carries the original's metadata.
func Prepare(data []byte, screen Screen, lim Limits) (Result, error) {
	if screen.W <= 0 || screen.H <= 0 {
		return Result{}, fmt.Errorf("photo: screen %dx%d: width and height must be positive", screen.W, screen.H)
	}
	hd, err := readHeader(data, lim.withDefaults())
	if err != nil {
		return Result{}, err
	}
	pic, err := render(hd, data, screen.W, screen.H)
	if err != nil {
		return Result{}, err
	}
	out, err := encodeJPEG(pic, Quality)
	if err != nil {
		return Result{}, err
	}
	return Result{JPEG: out, W: pic.w, H: pic.h, SrcW: hd.w, SrcH: hd.h,
		Format: hd.format, Orientation: hd.orientation}, nil
}

// FitInline is for the sender's side (hearthctl): if data is already
// <= maxBytes and decodable it is returned as is; otherwise the photo is
// oriented, scaled to at most maxSide on its longest side and re-encoded as
// JPEG, lowering quality until it fits maxBytes. When even the lowest quality
// tried does not fit, the photo is made smaller, down to 64 px, before
// giving up with ErrTooLarge. DefaultLimits bound what is accepted.
func FitInline(data []byte, maxBytes int, maxSide int) ([]byte, error) {
	if maxBytes <= 0 || maxSide <= 0 {
		return nil, fmt.Errorf("photo: fit inline: maxBytes %d and maxSide %d must be positive", maxBytes, maxSide)
	}
	hd, err := readHeader(data, DefaultLimits())
	if err != nil {
		return nil, err
	}
	if len(data) <= maxBytes {
		// Decoding at the smallest size still reads all of the data.
		r, err := decodeRaster(hd, data, 1, 1)
		if err == nil && r.finish != nil {
			err = r.finish()
		}
		if err != nil {
			return nil, err
		}
		return data, nil
	}
	pic, err := render(hd, data, maxSide, maxSide)
	if err != nil {
		return nil, err
	}
	const minQuality, minSide = 30, 64
	for {
		out, err := encodeJPEG(pic, Quality)
		if err != nil {
			return nil, err
		}
		if len(out) <= maxBytes {
			return out, nil
		}
		// The highest quality that fits, by binary search; when none does,
		// the search ends having tried minQuality.
		var best []byte
		atMin := len(out)
		for lo, hi := minQuality, Quality-1; lo <= hi; {
			q := (lo + hi) / 2
			out, err := encodeJPEG(pic, q)
			if err != nil {
				return nil, err
			}
			if len(out) <= maxBytes {
				best, lo = out, q+1
			} else {
				atMin, hi = len(out), q-1
			}
		}
		if best != nil {
			return best, nil
		}
		if max(pic.w, pic.h) <= minSide {
			return nil, fmt.Errorf("photo: %dx%d at quality %d is %d bytes: %w (limit %d bytes)",
				pic.w, pic.h, minQuality, atMin, ErrTooLarge, maxBytes)
		}
		pic = pic.raster().scale(max(pic.w*3/4, 1), max(pic.h*3/4, 1))
	}
}

// header is what is known before any pixel is decoded.
type header struct {
	format      string
	w, h        int
	orientation int
	png         *pngInfo // a PNG's chunks, read before decoding
	// goTooBig, when set, refuses a JPEG that libjpeg-turbo was counted on
	// to decode at a reduced size but declined: image/jpeg would decode it
	// whole, over the budget.
	goTooBig error
}

// sniff names the format from the file's signature.
func sniff(d []byte) string {
	switch {
	case len(d) >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF:
		return "jpeg"
	case bytes.HasPrefix(d, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case len(d) >= 12 && string(d[:4]) == "RIFF" && string(d[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// readHeader refuses, from the header alone, whatever is too big or not a
// photo. It must run before any decoding: a decoder allocates for the size
// the header declares.
func readHeader(data []byte, lim Limits) (header, error) {
	if int64(len(data)) > lim.MaxBytes {
		return header{}, fmt.Errorf("photo: %d bytes: %w (limit %d bytes)", len(data), ErrTooLarge, lim.MaxBytes)
	}
	hd := header{format: sniff(data)}
	var decodeConfig func(io.Reader) (image.Config, error)
	switch hd.format {
	case "jpeg":
		decodeConfig = jpeg.DecodeConfig
	case "png":
		decodeConfig = png.DecodeConfig
	case "webp":
		decodeConfig = webp.DecodeConfig
	default:
		if len(data) == 0 {
			return header{}, fmt.Errorf("photo: empty file: %w", ErrFormat)
		}
		return header{}, fmt.Errorf("photo: file starting % x: %w", data[:min(len(data), 8)], ErrFormat)
	}
	if hd.format == "png" && len(data) >= 24 && string(data[12:16]) == "IHDR" {
		// Go's decoder calls a zero or negative size malformed; it is a size
		// we refuse, and saying so is clearer.
		w, h := int64(binary.BigEndian.Uint32(data[16:])), int64(binary.BigEndian.Uint32(data[20:]))
		if err := checkDimensions(w, h, lim); err != nil {
			return header{}, err
		}
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return header{}, decodeError(hd.format, "header", err)
	}
	if err := checkDimensions(int64(cfg.Width), int64(cfg.Height), lim); err != nil {
		return header{}, err
	}
	hd.w, hd.h = cfg.Width, cfg.Height
	if hd.format == "png" {
		if hd.png, err = scanPNG(data); err != nil {
			return header{}, err
		}
		if hd.png.w != hd.w || hd.png.h != hd.h {
			return header{}, pngCorrupt("IHDR says %dx%d, image/png read %dx%d", hd.png.w, hd.png.h, hd.w, hd.h)
		}
	}
	if err := budget(&hd, data, lim.MaxDecodedBytes); err != nil {
		return header{}, err
	}
	hd.orientation = exifOrientation(hd.format, data)
	return hd, nil
}

func checkDimensions(w, h int64, lim Limits) error {
	if w <= 0 || h <= 0 || w > int64(lim.MaxSide) || h > int64(lim.MaxSide) || w*h > lim.MaxPixels {
		return fmt.Errorf("photo: %dx%d pixels: %w (limit %s, %d px a side)",
			w, h, ErrDimensions, megapixels(lim.MaxPixels), lim.MaxSide)
	}
	return nil
}

func megapixels(n int64) string {
	if n%1_000_000 == 0 {
		return fmt.Sprintf("%d MP", n/1_000_000)
	}
	return fmt.Sprintf("%d pixels", n)
}

// decodeError classifies a decoder's error: a feature the decoder lacks is a
// format we do not support; anything else is damage.
func decodeError(format, what string, err error) error {
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	if errors.As(err, &ju) || errors.As(err, &pu) {
		return fmt.Errorf("photo: %s %s: %w: %v", format, what, ErrFormat, err)
	}
	return fmt.Errorf("photo: %s %s: %w: %v", format, what, ErrCorrupt, err)
}

// fit returns the largest size with w:h's aspect that fits in bw×bh, or
// w×h itself when it already fits.
func fit(w, h, bw, bh int) (int, int) {
	if w <= bw && h <= bh {
		return w, h
	}
	// Scale by the tighter of bw/w and bh/h; that side becomes exactly the box.
	if int64(bw)*int64(h) <= int64(bh)*int64(w) {
		return bw, max(1, int((int64(h)*int64(bw)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(bh)+int64(h)/2)/int64(h))), bh
}

// render decodes the photo and returns it upright, fitted inside bw×bh.
func render(hd header, data []byte, bw, bh int) (picture, error) {
	o := hd.orientation
	ow, oh := hd.w, hd.h // upright size
	if o >= 5 {
		ow, oh = oh, ow
	}
	tw, th := fit(ow, oh, bw, bh)
	dw, dh := tw, th // the same size before orientation
	if o >= 5 {
		dw, dh = dh, dw
	}
	r, err := decodeRaster(hd, data, dw, dh)
	if err != nil {
		return picture{}, err
	}
	p := r.scale(dw, dh)
	if r.finish != nil {
		if err := r.finish(); err != nil {
			return picture{}, err
		}
	}
	return p.orient(o), nil
}

// decodeRaster decodes the pixels. For a JPEG, libjpeg-turbo (when built in)
// decodes straight to the smallest DCT scale that is still at least dw×dh;
// any JPEG it declines goes to Go's decoder, which has the last word.
func decodeRaster(hd header, data []byte, dw, dh int) (raster, error) {
	if hd.format == "jpeg" {
		if r, ok := turboDecode(data, hd.w, hd.h, dw, dh); ok {
			return r, nil
		}
		if hd.goTooBig != nil {
			return raster{}, hd.goTooBig
		}
	}
	if hd.png != nil && !hd.png.interlaced {
		return streamPNG(hd.png), nil
	}
	img, err := goDecode(hd.format, data)
	if err != nil {
		return raster{}, decodeError(hd.format, "data", err)
	}
	if b := img.Bounds(); b.Dx() != hd.w || b.Dy() != hd.h {
		return raster{}, fmt.Errorf("photo: %s decoded as %dx%d, header said %dx%d: %w",
			hd.format, b.Dx(), b.Dy(), hd.w, hd.h, ErrCorrupt)
	}
	return rasterFromImage(img), nil
}

// goDecode runs a standard decoder on untrusted bytes; should one panic on a
// malformed file, that is reported as damage, not a crash of the daemon.
func goDecode(format string, data []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.Decode(r)
	case "png":
		return png.Decode(r)
	default:
		return webp.Decode(r)
	}
}

// encodeGo is the pure-Go encoder.
func encodeGo(p picture, quality int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(p.w * p.h / 4)
	if err := jpeg.Encode(&buf, p.image(), &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("photo: encode %dx%d: %w", p.w, p.h, err)
	}
	return buf.Bytes(), nil
}
