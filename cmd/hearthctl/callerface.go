package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/image/draw"

	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// Files in a caller's folder beside its key (hearthctl caller new): the
// picture and greeting that `hearthctl allow` puts in the caller's
// allowlist entry.
const (
	CallerPictureFile  = "picture.jpg"
	CallerGreetingFile = "greeting.ogg"
)

// pictureSide is the side of the square caller picture hearthctl makes:
// sharp on a call screen across a room, 10-25 KiB as JPEG.
const pictureSide = 256

// callerGreeting: hearthctl caller greeting --caller DIR (FILE | --record 5s [--media real|test])
func (e *env) callerGreeting(args []string) error {
	fs := flag.NewFlagSet("caller greeting", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("caller", "", "the caller's key `folder` (caller new)")
	record := fs.Duration("record", 0, "record this `long` (up to 5s) from the microphone instead of importing a file")
	kind := fs.String("media", "real", "where --record records from: real (the microphone) or test (a tone)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c, err := provisioning.LoadCaller(*dir)
	if err != nil {
		return fmt.Errorf("caller greeting: %w", err)
	}
	var ogg []byte
	switch {
	case len(files) == 1 && *record == 0:
		if ogg, err = os.ReadFile(files[0]); err != nil {
			return fmt.Errorf("caller greeting: %w", err)
		}
		if _, err := proto.ParseGreeting(ogg); err != nil {
			return fmt.Errorf("caller greeting: %s: %w (want Ogg Opus, at most %v and %d KiB: e.g. opusenc --bitrate 32)",
				files[0], err, proto.MaxGreetingLength, proto.MaxGreeting>>10)
		}
	case len(files) == 0 && *record > 0:
		k := media.Kind(*kind)
		if !k.Valid() {
			return fmt.Errorf("caller greeting: --media %q: want real or test", *kind)
		}
		fmt.Fprintf(e.stderr, "recording %v: speak now\n", *record)
		if ogg, err = media.RecordGreeting(media.CaptureOptions{Kind: k}, *record); err != nil {
			return fmt.Errorf("caller greeting: %w", err)
		}
	default:
		return fmt.Errorf("caller greeting: give a file (.ogg, .opus) or --record DURATION")
	}
	g, _ := proto.ParseGreeting(ogg) // checked above or by RecordGreeting
	if err := provisioning.WriteFile(filepath.Join(*dir, CallerGreetingFile), ogg, 0o644); err != nil {
		return fmt.Errorf("caller greeting: %w", err)
	}
	fmt.Fprintf(e.stdout, "greeting of %s for %s (%d bytes) in %s; hearthctl allow sends it\n",
		g.Duration().Round(10*time.Millisecond), c.ID, len(ogg), *dir)
	return nil
}

// callerPicture: hearthctl caller picture --caller DIR FILE
func (e *env) callerPicture(args []string) error {
	fs := flag.NewFlagSet("caller picture", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("caller", "", "the caller's key `folder` (caller new)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("caller picture: give one photo (JPEG, PNG or WebP)")
	}
	c, err := provisioning.LoadCaller(*dir)
	if err != nil {
		return fmt.Errorf("caller picture: %w", err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return fmt.Errorf("caller picture: %w", err)
	}
	pic, err := squarePicture(data)
	if err != nil {
		return fmt.Errorf("caller picture: %s: %w", files[0], err)
	}
	if err := provisioning.WriteFile(filepath.Join(*dir, CallerPictureFile), pic, 0o644); err != nil {
		return fmt.Errorf("caller picture: %w", err)
	}
	fmt.Fprintf(e.stdout, "picture of %s (%dx%d, %d bytes) in %s; hearthctl allow sends it\n",
		c.ID, pictureSide, pictureSide, len(pic), *dir)
	return nil
}

// squarePicture turns a photo into the caller picture: upright (EXIF),
// the middle square cut out, scaled to pictureSide, JPEG within
// proto.MaxPicture.
func squarePicture(data []byte) ([]byte, error) {
	// photo.Prepare checks the header before decoding (bombs) and applies
	// the EXIF orientation; 4 times the side leaves room for panoramas.
	r, err := photo.Prepare(data, photo.Screen{W: 4 * pictureSide, H: 4 * pictureSide}, photo.Limits{})
	if err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(r.JPEG))
	if err != nil {
		return nil, fmt.Errorf("decode prepared photo: %w", err)
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	dst := image.NewRGBA(image.Rect(0, 0, pictureSide, pictureSide))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, crop, draw.Src, nil)
	for q := 90; q >= 30; q -= 10 {
		var out bytes.Buffer
		if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: q}); err != nil {
			return nil, fmt.Errorf("encode picture: %w", err)
		}
		if out.Len() <= proto.MaxPicture {
			return out.Bytes(), proto.CheckPicture(out.Bytes())
		}
	}
	return nil, fmt.Errorf("picture: %w: over %d bytes even at JPEG quality 30", proto.ErrTooLarge, proto.MaxPicture)
}

// callerExtras reads the picture and greeting in a caller's folder, each
// nil when absent, and checks them as a device will.
func callerExtras(dir string) (picture, greeting []byte, err error) {
	read := func(name string, check func([]byte) error) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err == nil {
			err = check(b)
		}
		if err != nil {
			return nil, fmt.Errorf("caller's %s: %w", name, err)
		}
		return b, nil
	}
	if picture, err = read(CallerPictureFile, proto.CheckPicture); err != nil {
		return nil, nil, err
	}
	greeting, err = read(CallerGreetingFile, func(b []byte) error { _, err := proto.ParseGreeting(b); return err })
	return picture, greeting, err
}

// parseInterspersed parses flags before, between and after the positional
// arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}
