package main

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
)

// xvfb starts a virtual X server for the test and returns its DISPLAY.
func xvfb(t *testing.T, w, h int) string {
	t.Helper()
	return startXvfb(t, w, h, "-noreset")
}

// startXvfb is xvfb with extra server arguments. Without -noreset the
// server resets when its last client leaves, as a plain Xorg does.
func startXvfb(t *testing.T, w, h int, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		if os.Getenv("HEARTH_REQUIRE_XVFB") != "" {
			t.Fatalf("Xvfb not found: %v", err)
		}
		t.Skipf("Xvfb not found: %v", err)
	}
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -displayfd: Xvfb picks a free display and tells us which.
	cmd := exec.Command(bin, append([]string{"-displayfd", "3", "-screen", "0", strconv.Itoa(w) + "x" + strconv.Itoa(h) + "x24", "-nolisten", "tcp"}, extra...)...)
	cmd.ExtraFiles = []*os.File{wr}
	xlog, err := os.Create(filepath.Join(t.TempDir(), "xvfb.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer xlog.Close()
	cmd.Stdout, cmd.Stderr = xlog, xlog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	wr.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Read up to the newline: Xvfb writes the number and the newline
	// separately and dies if the pipe is closed in between.
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb display number: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

func screenshot(t *testing.T, display string) image.Image {
	t.Helper()
	cmd := exec.Command("/usr/bin/import", "-display", display, "-window", "root", "png:-")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("screenshot: %v: %s", err, errb.String())
	}
	img, err := png.Decode(&out)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return img
}

// share is the fraction of pixels within tol of c in each channel.
func share(img image.Image, c color.RGBA, tol int) float64 {
	b := img.Bounds()
	hit, all := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := func(a uint32, b uint8) int { return abs(int(a>>8) - int(b)) }
			if d(r, c.R) <= tol && d(g, c.G) <= tol && d(bl, c.B) <= tol {
				hit++
			}
			all++
		}
	}
	return float64(hit) / float64(all)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func solidJPEG(w, h int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.Bytes()
}

// A real fullscreen window under Xvfb: the photo sent through the broker
// fills the screen, and the clock is drawn over it.
func TestScreenUnderXvfb(t *testing.T) {
	needBinaries(t)
	display := xvfb(t, 1280, 720)
	b := mqtttest.Start(t)
	data := t.TempDir()
	d := startDaemon(t, []string{"DISPLAY=" + display, "LANG=en_US.UTF-8"},
		"--device-id", "mum-kitchen", "--broker", b.URL(), "--data", data, "--screen", "1280x720", "--timezone", "Europe/Stockholm")
	d.waitLog("connected to broker", 15*time.Second)

	teal := color.RGBA{0, 128, 128, 255}
	pic := writePhoto(t, "teal.jpg", solidJPEG(1280, 720, teal))
	ctl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--days", "1", "--caption", "A teal wall", pic)
	waitReady(t, b.URL(), "mum-kitchen", 1, 15*time.Second)

	var shot image.Image
	waitFor(t, 20*time.Second, "the photo on screen", func() bool {
		shot = screenshot(t, display)
		return share(shot, teal, 24) > 0.5
	})
	// Give the crossfade time to finish, then keep what a person would see.
	time.Sleep(2 * time.Second)
	shot = screenshot(t, display)
	saveShot(t, shot, "xvfb-photo.png")
	if s := share(shot, teal, 24); s < 0.5 {
		t.Errorf("teal covers %.0f%% of the screen, want most of it", 100*s)
	}
	// The clock and caption are drawn in near-white over the photo.
	if s := share(shot, color.RGBA{250, 250, 250, 255}, 30); s < 0.002 {
		t.Errorf("light text covers %.2f%% of the screen; no clock or caption drawn?", 100*s)
	}
	if !d.running() {
		t.Fatal("hearthd exited")
	}
	d.stop()
}

// saveShot writes a screenshot where a person can look at it.
func saveShot(t *testing.T, img image.Image, name string) {
	t.Helper()
	dir := os.Getenv("HEARTH_SHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hearth-shots")
	}
	_ = os.MkdirAll(dir, 0o755)
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err == nil {
		t.Logf("screenshot: %s", p)
	}
}

// The arm64 build runs under qemu-user against the local broker and syncs
// an item into its store.
func TestArm64Smoke(t *testing.T) {
	needBinaries(t)
	dir := os.Getenv("HEARTH_ARM64_BIN")
	if dir == "" {
		t.Skip("HEARTH_ARM64_BIN not set (make test sets it after make cross)")
	}
	if runtime.GOARCH == "arm64" {
		t.Skip("native arm64: the other tests cover it")
	}
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("qemu-aarch64-static: %v", err)
	}
	b := mqtttest.Start(t)
	data := t.TempDir()
	// No -L /usr/aarch64-linux-gnu: with the cross toolchain's libc as prefix
	// a cgo binary that links net hung in start-up; the multiarch arm64 libc
	// (pulled in by the :arm64 -dev packages) works.
	d := startCommand(t, nil, qemu, filepath.Join(dir, "hearthd"),
		"--device-id", "pi-kitchen", "--broker", b.URL(), "--data", data, "--headless")
	d.waitLog("connected to broker", 60*time.Second)
	ctl(t, b.URL(), "send", "message", "--to", "pi-kitchen", "--days", "1", "Hello from amd64")
	pic := writePhoto(t, "p.jpg", solidJPEG(640, 480, color.RGBA{200, 100, 50, 255}))
	ctl(t, b.URL(), "send", "photo", "--to", "pi-kitchen", "--days", "1", pic)
	waitReady(t, b.URL(), "pi-kitchen", 2, 90*time.Second)
	d.stop()
	if ids := liveIDs(t, data); len(ids) != 2 {
		t.Fatalf("arm64 store holds %v, want 2 items", ids)
	}
}
