package panel_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearth-home/hearth/device/panel"
)

// sysfs makes a stand-in for /sys with the given backlights, each with a
// bl_power holding "0".
func sysfs(t *testing.T, names ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range names {
		dir := filepath.Join(root, "class", "backlight", n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bl_power"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestBacklightWritesBlPower(t *testing.T) {
	root := sysfs(t, "rpi_backlight", "10-0045")
	b, err := panel.FindBacklight(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(b.Dir), "10-0045"; got != want {
		t.Errorf("FindBacklight chose %s, want %s (the first by name)", got, want)
	}
	power := filepath.Join(b.Dir, "bl_power")
	for _, step := range []struct {
		set  func() error
		want string
	}{{b.Off, "4\n"}, {b.On, "0\n"}, {b.Off, "4\n"}} {
		if err := step.set(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(power)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != step.want {
			t.Errorf("bl_power = %q, want %q", got, step.want)
		}
	}
}

func TestBacklightMissing(t *testing.T) {
	if _, err := panel.FindBacklight(t.TempDir()); !errors.Is(err, panel.ErrNoBacklight) {
		t.Errorf("FindBacklight(empty sysfs) = %v, want ErrNoBacklight", err)
	}
	// A backlight whose bl_power went away is an error, and nothing is
	// created in its place.
	root := sysfs(t, "bl")
	b, err := panel.FindBacklight(root)
	if err != nil {
		t.Fatal(err)
	}
	power := filepath.Join(b.Dir, "bl_power")
	if err := os.Remove(power); err != nil {
		t.Fatal(err)
	}
	if err := b.Off(); err == nil {
		t.Error("Off without bl_power succeeded")
	}
	if _, err := os.Stat(power); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Off created %s", power)
	}
}

func TestOpenKinds(t *testing.T) {
	t.Setenv("DISPLAY", "")
	p, err := panel.Open(panel.KindNone, nil)
	if err != nil || p.On() != nil || p.Off() != nil {
		t.Errorf("Open(none) = %v, %v", p, err)
	}
	if _, err := panel.Open("hdmi", nil); err == nil {
		t.Error("Open(hdmi) succeeded")
	}
	if _, err := panel.Open(panel.KindX11, nil); err == nil {
		t.Error("Open(x11) without DISPLAY succeeded")
	}
}
