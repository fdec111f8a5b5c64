//go:build !cgo

package photo

// Accelerated reports whether JPEGs are decoded and encoded by libjpeg-turbo
// (a cgo build) rather than by Go's image/jpeg.
const Accelerated = false

// turboDecode is libjpeg-turbo's scaled decoding, absent without cgo: every
// JPEG is decoded by Go at full size.
func turboDecode(data []byte, w, h, dw, dh int) (raster, bool) { return raster{}, false }

// encodeJPEG encodes with Go's image/jpeg.
func encodeJPEG(p picture, quality int) ([]byte, error) { return encodeGo(p, quality) }
