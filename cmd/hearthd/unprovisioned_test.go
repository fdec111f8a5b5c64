package main

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// A device with no identity shows its set-up code and QR code on the real
// screen; a bundle put in its boot folder sets it up, and it starts again
// provisioned, in the same process.
func TestUnprovisionedScreenUnderXvfb(t *testing.T) {
	needBinaries(t)
	// A server that resets when its last client leaves (a plain Xorg, and
	// what failed in CI): hearthd's fresh start must wait it out.
	display := startXvfb(t, 1280, 720)
	b := mqtttest.Start(t)
	dir := t.TempDir()
	boot, data := filepath.Join(dir, "boot"), filepath.Join(dir, "data")
	if err := os.Mkdir(boot, 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, []string{"DISPLAY=" + display, "LANG=en_US.UTF-8"},
		"--data", data, "--bundle-path", boot, "--screen", "1280x720")
	d.waitLog("showing the set-up code", 15*time.Second)
	m := regexp.MustCompile(`not set up yet: showing the set-up code"? code=([^\s"]+)`).FindStringSubmatch(d.log.String())
	if m == nil || !strings.HasPrefix(m[1], "HRTH-") {
		t.Fatalf("no set-up code in the log (does this machine have /etc/machine-id?):\n%s", d.log)
	}
	code := m[1]
	// What an installer's phone reads off the real screen is the code.
	var shot image.Image
	var got string
	waitFor(t, 15*time.Second, "a QR code of "+code+" on screen", func() bool {
		shot = screenshot(t, display)
		got, _ = decodeQR(shot)
		return got == code
	})
	saveShot(t, shot, "xvfb-unprovisioned.png")
	// The QR code's modules sit on a light square with its quiet zone.
	light := color.RGBA{250, 246, 236, 255}

	org := filepath.Join(dir, "org")
	ctl(t, b.URL(), "provision", "ca", "init", "--out", org)
	staged := filepath.Join(dir, "staged.json")
	ctl(t, b.URL(), "provision", "new", "--ca", org, "--device", "new-kitchen", "--broker", b.URL(),
		"--name", "New kitchen", "--out", staged)
	if err := os.Rename(staged, filepath.Join(boot, "hearth-bundle.json")); err != nil {
		t.Fatal(err)
	}
	d.waitLog("provisioned: starting again", 20*time.Second)
	d.waitLog("connected to broker", 20*time.Second)
	if _, err := os.Stat(filepath.Join(boot, "hearth-bundle.json")); !os.IsNotExist(err) {
		t.Fatalf("the bundle (with the device's key) is still on the boot folder: %v", err)
	}
	waitFor(t, 15*time.Second, "the set-up screen gone", func() bool {
		shot := screenshot(t, display)
		_, err := decodeQR(shot)
		return share(shot, light, 30) < 0.01 && err != nil
	})
	waitFor(t, 10*time.Second, "a 'provisioned' activity event", func() bool {
		return slices.ContainsFunc(activities(t, b.URL(), "new-kitchen"), func(a proto.Activity) bool { return a.Type == "provisioned" })
	})
	d.stop()
}

// decodeQR reads the QR code in img, as a phone's scanner would.
func decodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}
