package privacy_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/privacy"
)

// leds makes a stand-in for /sys with one LED called name.
func leds(t *testing.T, name, max, trigger string) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	dir = filepath.Join(root, "class", "leds", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"brightness": "0\n", "max_brightness": max + "\n"}
	if trigger != "" {
		files["trigger"] = trigger
	}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestLEDLightsWhileAnythingIsOpen(t *testing.T) {
	root, dir := leds(t, "privacy", "255", "none [mmc0] heartbeat\n")
	if err := os.WriteFile(filepath.Join(dir, "brightness"), []byte("255\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := privacy.OpenLED(root, "privacy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "trigger")); got != "none" {
		t.Errorf("trigger = %q, want none", got)
	}
	brightness := filepath.Join(dir, "brightness")
	if got := read(t, brightness); got != "0" {
		t.Errorf("brightness after open = %q, want 0 (off until a device opens)", got)
	}
	for _, step := range []struct {
		p    device.Privacy
		want string
	}{
		{device.Privacy{Camera: true, Microphone: true}, "255"},
		{device.Privacy{Microphone: true}, "255"},
		{device.Privacy{}, "0"},
		{device.Privacy{Camera: true}, "255"},
		{device.Privacy{}, "0"},
	} {
		l.SetPrivacy(step.p)
		if got := read(t, brightness); got != step.want {
			t.Errorf("SetPrivacy(%+v): brightness = %q, want %q", step.p, got, step.want)
		}
	}
}

func TestLEDRefusesBadNamesAndMissingLEDs(t *testing.T) {
	root, _ := leds(t, "led0", "1", "")
	for _, name := range []string{"", "..", "../led0", "missing"} {
		if _, err := privacy.OpenLED(root, name, nil); err == nil {
			t.Errorf("OpenLED(%q) succeeded", name)
		}
	}
	if _, err := privacy.OpenLED(root, "led0", nil); err != nil {
		t.Errorf("OpenLED(led0) without a trigger: %v", err)
	}
}

// record is a light that remembers what it was told, into a shared list.
type record struct {
	name string
	log  *[]string
}

func (r record) SetPrivacy(p device.Privacy) {
	*r.log = append(*r.log, r.name+":"+map[bool]string{true: "on", false: "off"}[p.On()])
}

func TestLightsFanOutInOrder(t *testing.T) {
	var got []string
	var buf bytes.Buffer
	ls := privacy.Lights{record{"led", &got}, record{"screen", &got},
		privacy.Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}}
	ls.SetPrivacy(device.Privacy{Camera: true})
	ls.SetPrivacy(device.Privacy{})
	if want := []string{"led:on", "screen:on", "led:off", "screen:off"}; !slices.Equal(got, want) {
		t.Errorf("lights told %q, want %q", got, want)
	}
	if s := buf.String(); !strings.Contains(s, `msg="privacy light" camera=true microphone=false`) ||
		!strings.Contains(s, `msg="privacy light" camera=false microphone=false`) {
		t.Errorf("log = %q", s)
	}
}
