package main

import (
	"bytes"
	"crypto/ed25519"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// TestCallerPictureAndGreeting: a picture and a greeting made with
// hearthctl caller picture/greeting reach the device in the caller's entry
// of the allowlist that hearthctl allow signs and publishes.
func TestCallerPictureAndGreeting(t *testing.T) {
	b := mqtttest.Start(t)
	dir := t.TempDir()
	orgDir, callerDir := filepath.Join(dir, "org"), filepath.Join(dir, "eva")
	org, err := provisioning.NewOrg(orgDir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	ctl := func(args ...string) string {
		t.Helper()
		out, err := runCtl(t, b.URL(), args...)
		if err != nil {
			t.Fatalf("hearthctl %s = %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ctl("caller", "new", "--name", "Nurse Eva", "--out", callerDir)

	// A landscape PNG, green in its middle square and red beside it.
	src := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for y := range 200 {
		for x := range 400 {
			c := color.RGBA{220, 0, 0, 255}
			if x >= 100 && x < 300 {
				c = color.RGBA{0, 200, 0, 255}
			}
			src.Set(x, y, c)
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, src); err != nil {
		t.Fatal(err)
	}
	pngFile := filepath.Join(dir, "eva.png")
	if err := os.WriteFile(pngFile, pngBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl("caller", "picture", pngFile, "--caller", callerDir)

	// Recorded from the test microphone, then imported as a file (flags
	// after the file, too).
	ctl("caller", "greeting", "--caller", callerDir, "--record", "1s", "--media", "test")
	recorded, err := os.ReadFile(filepath.Join(callerDir, CallerGreetingFile))
	if err != nil {
		t.Fatal(err)
	}
	oggFile := filepath.Join(dir, "hello.opus")
	if err := os.WriteFile(oggFile, recorded, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := ctl("caller", "greeting", oggFile, "--caller", callerDir); !strings.Contains(out, "greeting of 1s for nurse-eva") {
		t.Errorf("caller greeting said %q", out)
	}

	ctl("allow", "--org", orgDir, "--device", "mum-kitchen", "--caller", callerDir, "--may", "forced")
	ctx, conn, hangUp := dialTest(t, b.URL(), 30*time.Second)
	defer hangUp()
	topic := proto.AllowlistTopic("mum-kitchen")
	msgs, err := conn.Retained(ctx, topic, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	list, err := proto.DecodeAllowlist(msgs[topic])
	if err != nil {
		t.Fatalf("DecodeAllowlist(published) = %v", err)
	}
	if !ed25519.Verify(org.Public(), list.SigningBytes(), list.Sig) {
		t.Fatal("published allowlist not signed by the organisation")
	}
	if len(list.Callers) != 1 || list.Callers[0].ID != "nurse-eva" {
		t.Fatalf("published callers %+v, want nurse-eva", list.Callers)
	}
	eva := list.Callers[0]
	if !bytes.Equal(eva.Greeting, recorded) {
		t.Errorf("published greeting of %d bytes, want the %d imported", len(eva.Greeting), len(recorded))
	}
	if g, err := proto.ParseGreeting(eva.Greeting); err != nil || g.Duration() != time.Second {
		t.Errorf("published greeting: %v, %v; want 1s", g.Duration(), err)
	}
	pic, err := jpeg.Decode(bytes.NewReader(eva.Picture))
	if err != nil {
		t.Fatalf("published picture: %v", err)
	}
	if sz := pic.Bounds().Size(); sz != image.Pt(pictureSide, pictureSide) {
		t.Errorf("published picture is %v, want %dx%d", sz, pictureSide, pictureSide)
	}
	// The middle square was cut out: green to the edges.
	for _, p := range []image.Point{{3, 3}, {252, 128}, {128, 128}} {
		if r, g, _, _ := pic.At(p.X, p.Y).RGBA(); g>>8 < 150 || r>>8 > 60 {
			t.Errorf("picture at %v is %v, want the green middle", p, pic.At(p.X, p.Y))
		}
	}
}

func TestCallerGreetingAndPictureRefused(t *testing.T) {
	dir := t.TempDir()
	callerDir := filepath.Join(dir, "anna")
	if _, err := provisioning.NewCaller(callerDir, "", "Anna"); err != nil {
		t.Fatal(err)
	}
	// 6 s of silence, Ogg Opus: one second too long.
	var long bytes.Buffer
	w, err := oggwriter.NewWith(&long, 48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 304 {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{Timestamp: uint32(i * 960)}, Payload: []byte{0xf8, 0xff, 0xfe}}); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"long.ogg": long.Bytes(), "hello.wav": []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "notes.txt": []byte("not a picture")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"caller", "greeting", "--caller", callerDir, filepath.Join(dir, "long.ogg")},
		{"caller", "greeting", "--caller", callerDir, filepath.Join(dir, "hello.wav")},
		{"caller", "greeting", "--caller", callerDir},
		{"caller", "greeting", "--caller", callerDir, "--record", "6s", "--media", "test"},
		{"caller", "greeting", "--caller", callerDir, "--record", "1s", "--media", "stuck"},
		{"caller", "greeting", "--caller", filepath.Join(dir, "nobody"), "--record", "1s", "--media", "test"},
		{"caller", "picture", "--caller", callerDir, filepath.Join(dir, "notes.txt")},
		{"caller", "picture", "--caller", callerDir},
	} {
		if out, err := runCtl(t, "mqtt://127.0.0.1:1", args...); err == nil {
			t.Errorf("hearthctl %s = nil error, want a refusal\n%s", strings.Join(args, " "), out)
		}
	}
	for _, name := range []string{CallerGreetingFile, CallerPictureFile} {
		if _, err := os.Stat(filepath.Join(callerDir, name)); err == nil {
			t.Errorf("%s written although every try was refused", name)
		}
	}
	// A broken file in the folder stops hearthctl allow before it signs.
	if err := os.WriteFile(filepath.Join(callerDir, CallerPictureFile), []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := callerExtras(callerDir); err == nil || !strings.Contains(err.Error(), CallerPictureFile) {
		t.Errorf("callerExtras(broken picture) = %v, want an error naming %s", err, CallerPictureFile)
	}
}
