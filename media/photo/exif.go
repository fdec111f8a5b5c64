package photo

import (
	"bytes"
	"encoding/binary"
)

// Cameras store pixels as the sensor saw them and record in the EXIF
// Orientation tag (0x0112) how to turn them upright; Go's decoders ignore the
// tag, so a phone's portrait photo would come out lying on its side. These
// small readers find that one tag and nothing else: the rest of EXIF (GPS,
// thumbnails, maker notes) is never parsed, and the screen copy, being
// re-encoded, carries none of it.

const tagOrientation = 0x0112

// exifOrientation returns the EXIF orientation (1..8) of a photo in the given
// format, or 1 when it has none or an invalid one.
func exifOrientation(format string, data []byte) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegExif(data)
	case "png":
		tiff = pngExif(data)
	case "webp":
		tiff = webpExif(data)
	}
	if tiff == nil {
		return 1
	}
	return tiffOrientation(tiff)
}

var exifHeader = []byte("Exif\x00\x00")

// jpegExif returns the TIFF structure from the first APP1 "Exif" segment that
// comes before the image data.
func jpegExif(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return nil
		}
		m := d[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7): // no length
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, exifHeader) {
			return seg[len(exifHeader):]
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the payload of the eXIf chunk (PNG 1.5 extension).
func pngExif(d []byte) []byte {
	i := 8 // signature
	for i+8 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return nil
		}
		switch typ {
		case "eXIf":
			return bytes.TrimPrefix(d[i+8:i+8+n], exifHeader)
		case "IEND":
			return nil
		}
		i += 12 + n // length, type, data, CRC
	}
	return nil
}

// webpExif returns the payload of the EXIF chunk of an extended (VP8X) WebP.
func webpExif(d []byte) []byte {
	i := 12 // "RIFF", size, "WEBP"
	for i+8 <= len(d) {
		typ := string(d[i : i+4])
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		if typ == "EXIF" {
			return bytes.TrimPrefix(d[i+8:i+8+n], exifHeader)
		}
		i += 8 + n + n&1 // chunks are padded to an even length
	}
	return nil
}

// tiffOrientation reads the Orientation tag from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for e := off + 2; n > 0 && e+12 <= int64(len(t)); n, e = n-1, e+12 {
		if bo.Uint16(t[e:]) != tagOrientation {
			continue
		}
		var v uint32
		switch bo.Uint16(t[e+2:]) { // field type
		case 3: // SHORT, the type the standard prescribes
			v = uint32(bo.Uint16(t[e+8:]))
		case 4: // LONG, written by a few tools
			v = bo.Uint32(t[e+8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}
