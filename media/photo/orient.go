package photo

// orientPlane returns a copy of p turned upright for EXIF orientation o
// (2..8). The EXIF values, as the stored image must be changed to be seen
// upright:
//
//	1 as stored          5 transposed (mirrored along the main diagonal)
//	2 mirrored left-right 6 rotated 90° clockwise
//	3 rotated 180°       7 transversed (mirrored along the other diagonal)
//	4 mirrored top-bottom 8 rotated 90° counter-clockwise
//
// Source pixel (x, y) of a W×H plane goes to destination index
// base + x*dx + y*dy (in pixels) of the upright plane.
func orientPlane(p plane, o int) plane {
	W, H := p.w, p.h
	q := plane{w: W, h: H, bpp: p.bpp}
	if o >= 5 {
		q.w, q.h = H, W
	}
	q.stride = q.w * q.bpp
	q.pix = make([]byte, q.stride*q.h)
	D := q.w // destination row length in pixels
	var base, dx, dy int
	switch o {
	case 2:
		base, dx, dy = W-1, -1, D
	case 3:
		base, dx, dy = (H-1)*D+W-1, -1, -D
	case 4:
		base, dx, dy = (H-1)*D, 1, -D
	case 5:
		base, dx, dy = 0, D, 1
	case 6:
		base, dx, dy = H-1, D, -1
	case 7:
		base, dx, dy = (W-1)*D+H-1, -D, -1
	case 8:
		base, dx, dy = (W-1)*D, -D, 1
	default:
		base, dx, dy = 0, 1, D
	}
	bpp := p.bpp
	for y := 0; y < H; y++ {
		src := p.pix[y*p.stride : y*p.stride+W*bpp]
		d := base + y*dy
		if bpp == 1 {
			for _, v := range src {
				q.pix[d] = v
				d += dx
			}
			continue
		}
		for x := 0; x < W; x++ {
			copy(q.pix[d*bpp:d*bpp+bpp], src[x*bpp:x*bpp+bpp])
			d += dx
		}
	}
	return q
}
