//go:build cgo

package photo

// Go's image/jpeg decodes every pixel at full size: 370-540 ms for a 24 MP
// photo here, before any scaling. libjpeg-turbo can decode in the DCT domain
// at 1/8 .. 8/8 of the size, doing a fraction of the work, and skips the
// colour conversion when asked for YCbCr planes. Built with cgo only; without
// cgo (turbo_nocgo.go) every JPEG goes to Go's decoder.

/*
#cgo pkg-config: libturbojpeg
#include <turbojpeg.h>

// Plane pointers are passed one by one: an array of Go pointers may not be
// handed to C.
static int hearth_decode_planes(tjhandle h, const unsigned char *buf, unsigned long n,
		unsigned char *y, unsigned char *u, unsigned char *v,
		int sy, int su, int width, int height, int flags) {
	unsigned char *planes[3] = {y, u, v};
	int strides[3] = {sy, su, su};
	return tjDecompressToYUVPlanes(h, buf, n, planes, width, strides, height, flags);
}

static int hearth_encode_planes(tjhandle h, const unsigned char *y, const unsigned char *u,
		const unsigned char *v, int sy, int su, int width, int height, int subsamp,
		unsigned char **out, unsigned long *outSize, int quality) {
	const unsigned char *planes[3] = {y, u, v};
	int strides[3] = {sy, su, su};
	return tjCompressFromYUVPlanes(h, planes, width, strides, height, subsamp, out, outSize, quality, 0);
}
*/
import "C"

import "unsafe"

// Accelerated reports whether JPEGs are decoded and encoded by libjpeg-turbo
// (a cgo build) rather than by Go's image/jpeg.
const Accelerated = true

// turboDecode decodes a JPEG at the smallest DCT scale that is at least
// dw×dh. It declines (false) whatever it cannot do exactly as Go would: a
// header that disagrees with Go's reading of w×h, CMYK, an unusual
// subsampling, any warning (a truncated file, stray bytes) or error, and an
// absurd number of progressive scans.
func turboDecode(data []byte, w, h, dw, dh int) (raster, bool) {
	if len(data) == 0 {
		return raster{}, false
	}
	hd := C.tjInitDecompress()
	if hd == nil {
		return raster{}, false
	}
	defer C.tjDestroy(hd)
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	n := C.ulong(len(data))
	var jw, jh, subsamp, cs C.int
	if C.tjDecompressHeader3(hd, buf, n, &jw, &jh, &subsamp, &cs) != 0 ||
		int(jw) != w || int(jh) != h || cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		return raster{}, false
	}
	var hs, vs int
	switch subsamp {
	case C.TJSAMP_444:
		hs, vs = 1, 1
	case C.TJSAMP_422:
		hs, vs = 2, 1
	case C.TJSAMP_420:
		hs, vs = 2, 2
	case C.TJSAMP_440:
		hs, vs = 1, 2
	case C.TJSAMP_411:
		hs, vs = 4, 1
	case C.TJSAMP_GRAY:
	default:
		return raster{}, false
	}

	// The smallest scale factor (at most 1) that still covers dw×dh.
	sw, sh := w, h
	var nf C.int
	if sf := C.tjGetScalingFactors(&nf); sf != nil {
		for _, f := range unsafe.Slice(sf, int(nf)) {
			num, den := int(f.num), int(f.denom)
			if num <= 0 || num > den {
				continue
			}
			fw, fh := (w*num+den-1)/den, (h*num+den-1)/den
			if fw >= dw && fh >= dh && fw < sw {
				sw, sh = fw, fh
			}
		}
	}

	y := plane{w: sw, h: sh, bpp: 1, stride: sw}
	y.pix = make([]byte, y.stride*y.h)
	var u, v plane
	up, vp := (*C.uchar)(nil), (*C.uchar)(nil)
	if subsamp != C.TJSAMP_GRAY {
		cw := int(C.tjPlaneWidth(1, C.int(sw), subsamp))
		ch := int(C.tjPlaneHeight(1, C.int(sh), subsamp))
		if cw <= 0 || ch <= 0 {
			return raster{}, false
		}
		u = plane{pix: make([]byte, cw*ch), w: cw, h: ch, bpp: 1, stride: cw}
		v = plane{pix: make([]byte, cw*ch), w: cw, h: ch, bpp: 1, stride: cw}
		up, vp = (*C.uchar)(unsafe.Pointer(&u.pix[0])), (*C.uchar)(unsafe.Pointer(&v.pix[0]))
	}
	flags := C.int(C.TJFLAG_STOPONWARNING | C.TJFLAG_LIMITSCANS)
	if C.hearth_decode_planes(hd, buf, n, (*C.uchar)(unsafe.Pointer(&y.pix[0])), up, vp,
		C.int(y.stride), C.int(u.stride), C.int(sw), C.int(sh), flags) != 0 {
		return raster{}, false
	}
	if subsamp == C.TJSAMP_GRAY {
		return raster{kind: kindGray, w: sw, h: sh,
			src: []source{y.source(float64(sw), float64(sh))}}, true
	}
	return ycbcrRaster(sw, sh, hs, vs, y, u, v), true
}

// encodeJPEG encodes the picture with libjpeg-turbo, or with Go's encoder
// should libjpeg-turbo fail.
func encodeJPEG(p picture, quality int) ([]byte, error) {
	hd := C.tjInitCompress()
	if hd == nil {
		return encodeGo(p, quality)
	}
	defer C.tjDestroy(hd)
	var out *C.uchar
	var size C.ulong
	ptr := func(b []byte) *C.uchar { return (*C.uchar)(unsafe.Pointer(&b[0])) }
	var rc C.int
	switch p.kind {
	case kindYCbCr:
		rc = C.hearth_encode_planes(hd, ptr(p.p[0].pix), ptr(p.p[1].pix), ptr(p.p[2].pix),
			C.int(p.p[0].stride), C.int(p.p[1].stride), C.int(p.w), C.int(p.h),
			C.TJSAMP_420, &out, &size, C.int(quality))
	case kindGray:
		rc = C.hearth_encode_planes(hd, ptr(p.p[0].pix), nil, nil,
			C.int(p.p[0].stride), 0, C.int(p.w), C.int(p.h),
			C.TJSAMP_GRAY, &out, &size, C.int(quality))
	default:
		rc = C.tjCompress2(hd, ptr(p.p[0].pix), C.int(p.w), C.int(p.p[0].stride), C.int(p.h),
			C.TJPF_RGBX, &out, &size, C.TJSAMP_420, C.int(quality), 0)
	}
	if out != nil {
		defer C.tjFree(out)
	}
	if rc != 0 || out == nil || size == 0 {
		return encodeGo(p, quality)
	}
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}
