package main

import (
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
	// The QR code is dark modules on a light square with its quiet zone.
	light := color.RGBA{250, 246, 236, 255}
	waitFor(t, 15*time.Second, "the QR code on screen", func() bool {
		return share(screenshot(t, display), light, 30) > 0.02
	})
	time.Sleep(time.Second)
	saveShot(t, screenshot(t, display), "xvfb-unprovisioned.png")

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
		return share(screenshot(t, display), light, 30) < 0.01
	})
	waitFor(t, 10*time.Second, "a 'provisioned' activity event", func() bool {
		return slices.ContainsFunc(activities(t, b.URL(), "new-kitchen"), func(a proto.Activity) bool { return a.Type == "provisioned" })
	})
	d.stop()
}
