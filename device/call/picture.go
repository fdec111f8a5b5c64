package call

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	gosync "sync"

	"golang.org/x/image/draw"

	"github.com/hearth-home/hearth/sync/proto"
)

// Bounds on a caller's picture (AllowedCaller.Picture). The allowlist is
// signed by the organisation, but a mistake there must not stall a call:
// the size is checked before decoding (a small JPEG can claim a huge
// picture), and what is kept is screen-sized.
const (
	maxPictureBytes = 1 << 20
	maxPictureSide  = 2048
	// pictureSide is the longest side kept: the call screens show the
	// picture at most about half the screen's height.
	pictureSide = 540
)

// pictures decodes each caller's picture once, and again only when the
// allowlist brings other bytes. Safe from any goroutine.
type pictures struct {
	mu   gosync.Mutex
	byID map[string]picture
}

type picture struct {
	sum [sha256.Size]byte
	img image.Image // nil: none, or it could not be used
}

// of returns caller's picture, nil when there is none or it is bad (a
// bad one is logged once).
func (p *pictures) of(caller proto.AllowedCaller, log *slog.Logger) image.Image {
	if len(caller.Picture) == 0 {
		return nil
	}
	sum := sha256.Sum256(caller.Picture)
	p.mu.Lock()
	defer p.mu.Unlock()
	if have, ok := p.byID[caller.ID]; ok && have.sum == sum {
		return have.img
	}
	img, err := decodePicture(caller.Picture)
	if err != nil {
		log.Warn("call: the caller's picture is not used", "caller", caller.ID, "err", err)
	}
	if p.byID == nil {
		p.byID = map[string]picture{}
	}
	p.byID[caller.ID] = picture{sum: sum, img: img}
	return img
}

// load decodes the pictures of a new allowlist, and forgets those of
// callers no longer on it.
func (p *pictures) load(list proto.Allowlist, log *slog.Logger) {
	keep := map[string]bool{}
	for _, c := range list.Callers {
		keep[c.ID] = true
		p.of(c, log)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.byID {
		if !keep[id] {
			delete(p.byID, id)
		}
	}
}

// decodePicture decodes a caller's JPEG within the bounds and scales it
// down to pictureSide.
func decodePicture(b []byte) (image.Image, error) {
	if len(b) > maxPictureBytes {
		return nil, fmt.Errorf("decode picture: %d bytes, at most %d", len(b), maxPictureBytes)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode picture: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPictureSide || cfg.Height > maxPictureSide {
		return nil, fmt.Errorf("decode picture: %dx%d, at most %d a side", cfg.Width, cfg.Height, maxPictureSide)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode picture: %w", err)
	}
	r := img.Bounds()
	if r.Empty() {
		return nil, errors.New("decode picture: empty")
	}
	long := max(r.Dx(), r.Dy())
	if long <= pictureSide {
		return img, nil
	}
	w, h := max(1, r.Dx()*pictureSide/long), max(1, r.Dy()*pictureSide/long)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(out, out.Bounds(), img, r, draw.Src, nil)
	return out, nil
}
