package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// adam7PNG writes a w×h 8-bit RGBA PNG, interlaced (Adam7), which Go's
// encoder cannot: smooth gradients, every row unfiltered, and an eXIf
// chunk when orientation is not 0. With cut, the compressed stream stops
// halfway, inside well-formed chunks: the header reads, the pixels do not.
func adam7PNG(t *testing.T, w, h, orientation int, cut bool) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	// The seven passes: first column and row, and the steps across and down.
	for _, p := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		if p[0] >= w || p[1] >= h {
			continue
		}
		for y := p[1]; y < h; y += p[3] {
			row := []byte{0} // filter: none
			for x := p[0]; x < w; x += p[2] {
				row = append(row, byte(x*255/w), byte(y*255/h), byte((x+y)/16), 255)
			}
			if _, err := zw.Write(row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	idat := z.Bytes()
	if cut {
		idat = idat[:len(idat)/2]
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(append(c, typ...), data...)
		out = append(append(out, c...), binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(c[4:]))...)
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 8, 6, 0, 0, 1)) // 8-bit RGBA, interlaced
	if orientation != 0 {
		// A big-endian TIFF header and IFD0 with one entry, Orientation.
		tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
		tiff = append(tiff, 0, byte(orientation), 0, 0, 0, 0, 0, 0)
		chunk("eXIf", tiff)
	}
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return out
}

// runCtlSplit is runCtl with stdout and stderr apart.
func runCtlSplit(t *testing.T, broker string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = runEnv(ctx, append([]string{"--broker", broker}, args...), &out, &errb, func(e *env) {
		e.now = func() time.Time { return now }
		e.loc = time.UTC
	})
	return out.String(), errb.String(), err
}

// jpegFrameMarker is the marker of a JPEG's first start-of-frame segment:
// 0xC0 baseline, 0xC2 progressive.
func jpegFrameMarker(d []byte) byte {
	for off := 2; off+4 <= len(d) && d[off] == 0xFF; {
		m := d[off+1]
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			return m
		}
		off += 2 + int(binary.BigEndian.Uint16(d[off+2:]))
	}
	return 0
}

// TestSendPhotoOverDecodeBudgetSendsCopy: a photo that screens refuse
// only for the memory its decoder would hold (here an interlaced PNG) is
// sent, inline or uploaded, as an upright baseline JPEG of at most 3840 px
// that they take, and stderr says so; --url, which cannot send a copy, is
// refused with the screens' reason and the way out.
func TestSendPhotoOverDecodeBudgetSendsCopy(t *testing.T) {
	b := mqtttest.Start(t)
	blobs := t.TempDir()
	srv := httptest.NewServer(blobStore{dir: blobs, max: proto.MaxURLPhoto})
	defer srv.Close()
	// image/png would hold 2 × 4400×1000×4 bytes: 34 MiB. Orientation 6
	// turns it a quarter: upright it is 1000×4400.
	data := adam7PNG(t, 4400, 1000, 6, false)
	const reason = "4400x1000 interlaced PNG would take 34 MiB to decode: dimensions refused (limit 32 MiB decoded)"
	if _, err := photo.Prepare(data, photo.Screen{W: 1920, H: 1080}, photo.Limits{}); !errors.Is(err, photo.ErrDimensions) ||
		!strings.Contains(err.Error(), reason) {
		t.Fatalf("Prepare(the test photo) = %v, want the decoded-byte budget's refusal %q", err, reason)
	}
	pic := filepath.Join(t.TempDir(), "wide.png")
	_ = os.WriteFile(pic, data, 0o644)

	for _, tc := range []struct {
		id   string
		args []string
	}{
		{"inline", nil},
		{"upload", []string{"--upload", srv.URL}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			args := append([]string{"send", "photo", "--to", "mum-kitchen", "--id", tc.id}, tc.args...)
			stdout, stderr, err := runCtlSplit(t, b.URL(), append(args, pic)...)
			if err != nil {
				t.Fatalf("send photo %v: %v\n%s%s", tc.args, err, stdout, stderr)
			}
			if !strings.Contains(stderr, reason) || !strings.Contains(stderr, "sending a copy the screens take") {
				t.Errorf("send photo %v said on stderr:\n%s\nwant the screens' reason and that a copy is sent", tc.args, stderr)
			}
			it := retainedWith(t, b.URL(), "mum-kitchen", tc.id)[tc.id]
			if it.Photo == nil {
				t.Fatalf("item = %+v, want a photo", it)
			}
			sent := it.Photo.Data
			if tc.id == "upload" {
				if it.Photo.URL == "" || len(sent) != 0 {
					t.Fatalf("photo = URL %q, %d bytes inline; want a reference", it.Photo.URL, len(sent))
				}
				if sent, err = os.ReadFile(filepath.Join(blobs, it.Photo.SHA256)); err != nil {
					t.Fatalf("the blob store has no %s: %v", it.Photo.SHA256, err)
				}
			}
			if it.Photo.Size != int64(len(sent)) {
				t.Errorf("item says %d bytes, %d were sent", it.Photo.Size, len(sent))
			}
			if m := jpegFrameMarker(sent); m != 0xC0 {
				t.Errorf("the copy's frame marker = %#x, want 0xc0 (a baseline JPEG)", m)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(sent))
			if err != nil || format != "jpeg" || cfg.Width >= cfg.Height || max(cfg.Width, cfg.Height) != 3840 {
				t.Errorf("the copy = %dx%d %s (%v), want an upright (taller) JPEG 3840 px long", cfg.Width, cfg.Height, format, err)
			}
			if _, err := photo.Prepare(sent, photo.Screen{W: 1920, H: 1080}, photo.Limits{}); err != nil {
				t.Errorf("a screen refuses the copy: %v", err)
			}
		})
	}

	_, stderr, err := runCtlSplit(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "byurl",
		"--url", "http://photos.example/wide.png", pic)
	if err == nil || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), "--upload") ||
		!strings.Contains(err.Error(), "nothing sent") || strings.Contains(stderr, "sending a copy") {
		t.Errorf("send photo --url = %v\n%s\nwant the screens' reason and that --upload would send a copy", err, stderr)
	}
	if _, ok := retained(t, b.URL(), "mum-kitchen")["byurl"]; ok {
		t.Error("send photo --url published an item the screens refuse")
	}
}

// TestSendPhotoOverBudgetRefusedForOtherReasons: a photo over the decoded
// budget that is also damaged, or over the side limit, is refused with
// that reason; no copy is made (the broker is not even dialled).
func TestSendPhotoOverBudgetRefusedForOtherReasons(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"damaged", adam7PNG(t, 4400, 1000, 0, true), "damaged or cut short"},
		{"too long", adam7PNG(t, 17000, 2, 0, false), "17000x2 pixels: dimensions refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "damaged" {
				// Refused for the budget first: the damage shows only when decoded.
				if _, err := photo.Prepare(tc.data, photo.Screen{W: 64, H: 64}, photo.Limits{}); !errors.Is(err, photo.ErrDimensions) {
					t.Fatalf("Prepare(the damaged photo) = %v, want the decoded-byte budget's refusal", err)
				}
			}
			pic := filepath.Join(dir, tc.name+".png")
			_ = os.WriteFile(pic, tc.data, 0o644)
			for _, extra := range [][]string{nil, {"--upload", "http://127.0.0.1:1"}, {"--url", "http://photos.example/p.png"}} {
				args := append([]string{"send", "photo", "--to", "mum-kitchen"}, extra...)
				stdout, stderr, err := runCtlSplit(t, "mqtt://127.0.0.1:1", append(args, pic)...)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing sent") ||
					strings.Contains(err.Error()+stderr, "copy") {
					t.Errorf("send photo %v = %v\n%s%s\nwant a refusal about %q and no copy", extra, err, stdout, stderr, tc.want)
				}
			}
		})
	}
}
