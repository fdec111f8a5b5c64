package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
)

// maxPixels bounds what loadPhoto decodes. Photos arrive screen-sized, so
// anything far bigger is a mistake and would cost hundreds of megabytes.
const maxPixels = 40 << 20

// photo is a decoded slide image and its letterbox fill.
type photo struct {
	img image.Image
	// fill is the photo shrunk to a few dozen pixels, blurred and darkened;
	// stretched smoothly behind the photo it fills the letterbox bars.
	fill image.Image
}

// loadPhoto decodes the screen-sized JPEG at path.
func loadPhoto(path string) (*photo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open photo: %w", err)
	}
	defer f.Close()
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("read photo header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("photo is %dx%d: too large for the screen", cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind photo: %w", err)
	}
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode photo: %w", err)
	}
	return &photo{img: img, fill: blurredFill(img, 32)}, nil
}

// blurredFill shrinks img to width w by averaging a grid of samples per
// pixel, blurs it twice with a 3x3 box and darkens it.
func blurredFill(img image.Image, w int) *image.NRGBA {
	b := img.Bounds()
	h := max(2, (w*b.Dy()+b.Dx()/2)/b.Dx())
	const samples = 6
	px := make([][3]float64, w*h)
	for y := range h {
		for x := range w {
			var sum [3]float64
			for sy := range samples {
				for sx := range samples {
					ix := b.Min.X + ((2*x*samples+2*sx+1)*b.Dx())/(2*w*samples)
					iy := b.Min.Y + ((2*y*samples+2*sy+1)*b.Dy())/(2*h*samples)
					r, g, bl, _ := img.At(ix, iy).RGBA()
					sum[0] += float64(r >> 8)
					sum[1] += float64(g >> 8)
					sum[2] += float64(bl >> 8)
				}
			}
			for c := range sum {
				px[y*w+x][c] = sum[c] / (samples * samples)
			}
		}
	}
	for range 2 {
		px = boxBlur(px, w, h)
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, p := range px {
		out.Set(i%w, i/w, color.NRGBA{
			R: uint8(p[0] * fillDarken), G: uint8(p[1] * fillDarken), B: uint8(p[2] * fillDarken), A: 0xFF,
		})
	}
	return out
}

func boxBlur(px [][3]float64, w, h int) [][3]float64 {
	out := make([][3]float64, len(px))
	for y := range h {
		for x := range w {
			var sum [3]float64
			n := 0.0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					for c := range sum {
						sum[c] += px[yy*w+xx][c]
					}
					n++
				}
			}
			for c := range sum {
				out[y*w+x][c] = sum[c] / n
			}
		}
	}
	return out
}
