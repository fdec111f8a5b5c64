package main

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
)

// A call wins over the night: with the screen off at night (--night-mode
// off), the first call after every start shows the announcement on the
// real screen while the camera opens, and the screen is dark again after
// the call. (Night and call state once lived in different places, and 4
// of 5 starts answered with the camera open on a black screen.)
func TestCallWakesTheScreenAtNightUnderXvfb(t *testing.T) {
	needBinaries(t)
	display := xvfb(t, 1280, 720)
	b := mqtttest.Start(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	data := t.TempDir()
	now := time.Now().UTC()
	night := fmt.Sprintf("%s-%s", now.Add(-time.Hour).Format("15:04"), now.Add(2*time.Hour).Format("15:04"))
	black := color.RGBA{0, 0, 0, 255}
	for start := 1; start <= 3; start++ {
		d := startDaemon(t, []string{"DISPLAY=" + display, "LANG=en_US.UTF-8"},
			"--device-id", "mum-kitchen", "--broker", b.URL(), "--data", data, "--screen", "1280x720", "--timezone", "UTC",
			"--night", night, "--night-mode", "off",
			"--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"), "--announce", "4s")
		d.waitLog("allowlist installed", 15*time.Second)
		d.waitLog("mode=night-off", 15*time.Second)
		waitFor(t, 15*time.Second, "the dark screen of the night", func() bool { return share(screenshot(t, display), black, 8) > 0.97 })

		invited := time.Now()
		call := startCtlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Night check", "--for", "1s")
		var shot image.Image
		waitFor(t, 3*time.Second, fmt.Sprintf("start %d: the announcement on the night's screen", start), func() bool {
			shot = screenshot(t, display)
			return announcing(shot)
		})
		t.Logf("start %d: the announcement was on screen %d ms after the invite was sent", start, time.Since(invited).Milliseconds())
		if start == 1 {
			saveShot(t, shot, "xvfb-night-off-call-announcing.png")
		}
		if res := call.wait(t); !res.Answered {
			t.Fatalf("start %d: call %+v", start, res)
		}
		waitFor(t, 15*time.Second, "the screen dark again after the call", func() bool {
			return share(screenshot(t, display), black, 8) > 0.97
		})
		d.stop()
	}
}
