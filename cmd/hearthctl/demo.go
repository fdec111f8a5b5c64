package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-home/hearth/internal/demoart"
	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// demoItem is one item make demo puts on the screen. Its id is fixed, so
// running the demo again changes the item rather than adding another.
type demoItem struct {
	id, sender, name string // sender: the key folder's name under --keys
	days             int
	photo, text      string // photo: a demo-photos name; text: the caption or message
}

var demoItems = []demoItem{
	{"demo-sunset", "anna", "Anna", 3, "sunset-lake", "Sunset at the lake house"},
	{"demo-meadow", "ella", "Ella", 7, "summer-meadow", "The meadow behind the school"},
	{"demo-visit", "peter", "Peter", 2, "", "I'm coming on Tuesday at two. We'll have coffee and I'll bring the newspaper."},
	{"demo-snow", "anna", "Anna", 5, "winter-morning", "First snow this morning"},
	{"demo-forest", "jonas", "Jonas", 5, "autumn-forest", ""},
	{"demo-lunch", "homecare", "Home care", 1, "", "Lunch is delivered at 12 today."},
}

// demoContent: hearthctl demo-content --device ID --photos DIR [--keys DIR]
// puts make demo's photos and messages on a screen. Each is signed with
// its sender's key when --keys holds a folder for them (caller new), and
// sent unsigned otherwise. An item the broker already holds, unchanged and
// still in its window, is left alone; one that changed or ran out is sent
// again under its id with the next revision. Running it twice adds nothing.
func (e *env) demoContent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo-content", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	device := fs.String("device", "", "device `id`")
	photos := fs.String("photos", "", "the `folder` demo-photos wrote")
	keys := fs.String("keys", "", "a `folder` with one caller folder per sender (anna, ella, peter, jonas, homecare)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !proto.ValidID(*device) || *photos == "" {
		return errors.New("demo-content: --device ID and --photos DIR are required")
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	held, err := conn.Retained(ctx, proto.ContentFilter(*device), 500*time.Millisecond)
	if err != nil {
		return fmt.Errorf("demo-content: %w", err)
	}
	now := e.now().Truncate(time.Second)
	for _, d := range demoItems {
		var who *provisioning.Caller
		if *keys != "" {
			dir := filepath.Join(*keys, d.sender)
			if _, err := os.Stat(filepath.Join(dir, provisioning.CallerKeyFile)); err == nil {
				if who, err = loadSender(dir); err != nil {
					return fmt.Errorf("demo-content: %w", err)
				}
			}
		}
		it := proto.Item{V: proto.Version, ID: d.id, Device: *device, Rev: 1, Kind: proto.KindMessage, From: d.name,
			Text: d.text, Start: now, Created: now, End: now.AddDate(0, 0, d.days)}
		if d.photo != "" {
			data, err := os.ReadFile(filepath.Join(*photos, d.photo+".jpg"))
			if err != nil {
				return fmt.Errorf("demo-content: %w", err)
			}
			if data, err = photo.FitInline(data, proto.MaxInlinePhoto, 3840); err != nil {
				return fmt.Errorf("demo-content: %s: %w", d.photo, err)
			}
			sum := sha256.Sum256(data)
			it.Kind, it.Photo = proto.KindPhoto, &proto.Photo{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		}
		if p, ok := held[proto.ContentTopic(*device, d.id)]; ok {
			cur, err := proto.DecodeItem(*device, proto.ContentTopic(*device, d.id), p)
			if err == nil && demoSame(cur, it, who) && cur.End.After(now) {
				fmt.Fprintf(e.stdout, "kept %s %s on %s\n", cur.Kind, cur.ID, *device)
				continue
			}
			var old struct {
				Rev uint64 `json:"rev"`
			}
			if json.Unmarshal(p, &old) == nil {
				it.Rev = old.Rev + 1
			}
		}
		if err := it.Normalize(); err != nil {
			return fmt.Errorf("demo-content: %w", err)
		}
		if err := e.publishOne(ctx, conn, it, who, "sent"); err != nil {
			return fmt.Errorf("demo-content: %w", err)
		}
	}
	return nil
}

// demoSame reports whether the held item cur is the demo item it, as its
// sender who (nil: unsigned) would send it.
func demoSame(cur, it proto.Item, who *provisioning.Caller) bool {
	if cur.Deleted || cur.Kind != it.Kind || cur.Text != it.Text || (cur.Photo == nil) != (it.Photo == nil) {
		return false
	}
	if it.Photo != nil && cur.Photo.SHA256 != it.Photo.SHA256 {
		return false
	}
	if who == nil {
		return cur.Sender == "" && cur.From == it.From
	}
	return cur.Sender == who.ID
}

// demoPhotos writes a few calm landscape pictures (drawn here, so the
// project ships no photos) for `make demo` and for installers who want to
// see a screen work before the family sends anything.
func (e *env) demoPhotos(args []string) error {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(e.stderr, "usage: hearthctl demo-photos DIR   (demo pictures for make demo)")
		return nil
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("demo-photos: name a directory")
	}
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pics := map[string]image.Image{}
	var names []string
	for i, sc := range demoScenes {
		img := drawScene(1600, 1067, sc)
		if i == 3 {
			img = portraitCrop(img) // a portrait picture shows the letterboxing
		}
		pics[sc.name], names = img, append(names, sc.name)
	}
	// The callers' faces, for hearthctl caller picture.
	for _, f := range demoFaces {
		pics[f.name], names = demoart.Person(600, 600, f.wall, f.shirt), append(names, f.name)
	}
	for _, name := range names {
		img := pics[name]
		path := filepath.Join(dir, name+".jpg")
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, path)
	}
	return nil
}

// demoFaces are the demo callers' pictures: Anna and Nurse Eva.
var demoFaces = []struct {
	name        string
	wall, shirt color.RGBA
}{
	{"anna-face", color.RGBA{122, 158, 184, 255}, color.RGBA{142, 47, 75, 255}},
	{"eva-face", color.RGBA{216, 221, 227, 255}, color.RGBA{79, 143, 158, 255}},
}

type scene struct {
	name           string
	skyTop, skyLow color.RGBA
	sun            color.RGBA
	sunX, sunY     float64
	hills          []color.RGBA
	water          bool
}

var demoScenes = []scene{
	{"sunset-lake", color.RGBA{38, 52, 110, 255}, color.RGBA{245, 150, 90, 255}, color.RGBA{255, 220, 150, 255}, 0.7, 0.42,
		[]color.RGBA{{90, 70, 110, 255}, {50, 45, 80, 255}}, true},
	{"summer-meadow", color.RGBA{90, 160, 230, 255}, color.RGBA{200, 230, 250, 255}, color.RGBA{255, 250, 220, 255}, 0.2, 0.2,
		[]color.RGBA{{120, 170, 90, 255}, {70, 130, 60, 255}, {50, 100, 45, 255}}, false},
	{"winter-morning", color.RGBA{150, 180, 215, 255}, color.RGBA{235, 225, 220, 255}, color.RGBA{255, 240, 230, 255}, 0.5, 0.35,
		[]color.RGBA{{225, 230, 240, 255}, {190, 200, 220, 255}, {120, 135, 160, 255}}, false},
	{"autumn-forest", color.RGBA{110, 140, 190, 255}, color.RGBA{240, 210, 160, 255}, color.RGBA{255, 230, 170, 255}, 0.3, 0.3,
		[]color.RGBA{{200, 120, 50, 255}, {160, 70, 40, 255}, {90, 50, 35, 255}}, true},
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}

func drawScene(w, h int, sc scene) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	horizon := 0.62
	for y := 0; y < h; y++ {
		fy := float64(y) / fh
		for x := 0; x < w; x++ {
			fx := float64(x) / fw
			c := lerp(sc.skyTop, sc.skyLow, math.Min(fy/horizon, 1))
			// The sun with a soft glow.
			d := math.Hypot((fx-sc.sunX)*fw/fh, fy-sc.sunY)
			if d < 0.07 {
				c = sc.sun
			} else if d < 0.3 {
				c = lerp(c, sc.sun, math.Pow(1-(d-0.07)/0.23, 3)*0.6)
			}
			// Rolling hills, far to near.
			for i, hc := range sc.hills {
				base := horizon - 0.12 + float64(i)*0.1
				ridge := base + 0.05*math.Sin(fx*(3+float64(i)*2)+float64(i)*1.7) + 0.02*math.Sin(fx*17+float64(i))
				if fy > ridge {
					c = lerp(hc, color.RGBA{0, 0, 0, 255}, math.Min((fy-ridge)*0.8, 0.35))
				}
			}
			if sc.water && fy > 0.86 {
				// A still lake mirroring the sky, with a few ripples.
				mirror := lerp(sc.skyLow, sc.skyTop, (fy-0.86)/0.14)
				ripple := 0.08 * math.Sin(fy*260+math.Sin(fx*9)*3)
				c = lerp(mirror, color.RGBA{20, 30, 60, 255}, 0.25+ripple)
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func portraitCrop(src *image.RGBA) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dy()*2/3, b.Dy()))
	// A portrait crop of the middle of the scene.
	x0 := (b.Dx() - dst.Bounds().Dx()) / 2
	for y := 0; y < dst.Bounds().Dy(); y++ {
		for x := 0; x < dst.Bounds().Dx(); x++ {
			dst.SetRGBA(x, y, src.RGBAAt(x0+x, y))
		}
	}
	return dst
}
