package photo

import (
	"image"
	"image/draw"
)

type kind int

const (
	kindYCbCr kind = iota // planes Y, Cb, Cr (chroma possibly subsampled)
	kindGray              // one plane of luma
	kindRGBA              // one plane of premultiplied RGBA, 4 bytes a pixel
)

// raster is a decoded picture, w×h pixels, as the planes the scaler reads.
type raster struct {
	kind kind
	w, h int
	src  []source
	// finish, set for a picture decoded while it is read (a streamed PNG),
	// reads what the scaler did not and reports any damage met on the way;
	// until it is nil the scaled picture is not to be trusted.
	finish func() error
}

// picture is a scaled (and later oriented) picture as stored planes:
// YCbCr 4:2:0, gray, or RGBA.
type picture struct {
	kind kind
	w, h int
	p    []plane
}

// ycbcrRaster describes planes of a w×h picture whose chroma is subsampled
// hs times horizontally and vs times vertically.
func ycbcrRaster(w, h, hs, vs int, y, cb, cr plane) raster {
	cw, ch := float64(w)/float64(hs), float64(h)/float64(vs)
	return raster{kind: kindYCbCr, w: w, h: h, src: []source{
		y.source(float64(w), float64(h)), cb.source(cw, ch), cr.source(cw, ch)}}
}

func subsampling(r image.YCbCrSubsampleRatio) (hs, vs int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// rasterFromImage reads a decoded image in place where its layout allows
// (YCbCr, gray, RGBA at the origin) and otherwise converts it row by row to
// premultiplied RGBA, which composes any transparency over black, the
// colour of the screen around the photo.
func rasterFromImage(img image.Image) raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if b.Min == (image.Point{}) {
		switch m := img.(type) {
		case *image.YCbCr:
			if hs, vs, ok := subsampling(m.SubsampleRatio); ok {
				cw, ch := (w+hs-1)/hs, (h+vs-1)/vs
				return ycbcrRaster(w, h, hs, vs,
					plane{pix: m.Y, w: w, h: h, bpp: 1, stride: m.YStride},
					plane{pix: m.Cb, w: cw, h: ch, bpp: 1, stride: m.CStride},
					plane{pix: m.Cr, w: cw, h: ch, bpp: 1, stride: m.CStride})
			}
		case *image.Gray:
			p := plane{pix: m.Pix, w: w, h: h, bpp: 1, stride: m.Stride}
			return raster{kind: kindGray, w: w, h: h, src: []source{p.source(float64(w), float64(h))}}
		case *image.RGBA:
			p := plane{pix: m.Pix, w: w, h: h, bpp: 4, stride: m.Stride}
			return raster{kind: kindRGBA, w: w, h: h, src: []source{p.source(float64(w), float64(h))}}
		}
	}
	row := image.NewRGBA(image.Rect(0, 0, w, 1))
	return raster{kind: kindRGBA, w: w, h: h, src: []source{{
		w: w, h: h, bpp: 4, extW: float64(w), extH: float64(h),
		row: func(y int) []byte {
			draw.Draw(row, row.Rect, img, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
			return row.Pix
		},
	}}}
}

// scale resamples the raster to dw×dh pixels; colour comes out as 4:2:0,
// which is what the JPEG encoder writes anyway.
func (r raster) scale(dw, dh int) picture {
	fw, fh := float64(dw), float64(dh)
	if r.kind != kindYCbCr {
		return picture{kind: r.kind, w: dw, h: dh, p: []plane{resample(r.src[0], dw, dh, fw, fh)}}
	}
	cw, ch := (dw+1)/2, (dh+1)/2
	return picture{kind: kindYCbCr, w: dw, h: dh, p: []plane{
		resample(r.src[0], dw, dh, fw, fh),
		resample(r.src[1], cw, ch, fw/2, fh/2),
		resample(r.src[2], cw, ch, fw/2, fh/2),
	}}
}

// raster lets a picture be scaled again (FitInline shrinking to fit bytes).
func (p picture) raster() raster {
	if p.kind == kindYCbCr {
		return ycbcrRaster(p.w, p.h, 2, 2, p.p[0], p.p[1], p.p[2])
	}
	return raster{kind: p.kind, w: p.w, h: p.h, src: []source{p.p[0].source(float64(p.w), float64(p.h))}}
}

// orient turns the picture upright according to an EXIF orientation.
func (p picture) orient(o int) picture {
	if o <= 1 || o > 8 {
		return p
	}
	q := picture{kind: p.kind, w: p.w, h: p.h, p: make([]plane, len(p.p))}
	if o >= 5 {
		q.w, q.h = p.h, p.w
	}
	for i, pl := range p.p {
		q.p[i] = orientPlane(pl, o)
	}
	return q
}

// image wraps the planes, without copying, as an image for the encoder.
func (p picture) image() image.Image {
	r := image.Rect(0, 0, p.w, p.h)
	switch p.kind {
	case kindYCbCr:
		return &image.YCbCr{Y: p.p[0].pix, Cb: p.p[1].pix, Cr: p.p[2].pix,
			YStride: p.p[0].stride, CStride: p.p[1].stride,
			SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: r}
	case kindGray:
		return &image.Gray{Pix: p.p[0].pix, Stride: p.p[0].stride, Rect: r}
	}
	return &image.RGBA{Pix: p.p[0].pix, Stride: p.p[0].stride, Rect: r}
}
