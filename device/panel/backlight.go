package panel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// SysfsRoot is where the kernel's sysfs is mounted.
const SysfsRoot = "/sys"

// The values of bl_power (the kernel's FB_BLANK_UNBLANK and
// FB_BLANK_POWERDOWN).
const (
	blUnblank   = "0\n"
	blPowerdown = "4\n"
)

// ErrNoBacklight means sysfs lists no backlight.
var ErrNoBacklight = errors.New("no backlight in sysfs")

// Backlight powers a panel through /sys/class/backlight/NAME/bl_power (the
// Raspberry Pi's DSI touch screens, most tablets' panels).
type Backlight struct {
	// Dir is the backlight's folder, /sys/class/backlight/NAME.
	Dir string
}

// FindBacklight returns the first backlight (by name) under
// root/class/backlight that has a bl_power.
func FindBacklight(root string) (*Backlight, error) {
	dir := filepath.Join(root, "class", "backlight")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("find backlight: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, n := range names {
		b := &Backlight{Dir: filepath.Join(dir, n)}
		if _, err := os.Stat(b.power()); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("find backlight in %s: %w", dir, ErrNoBacklight)
}

func (b *Backlight) power() string { return filepath.Join(b.Dir, "bl_power") }

// On unblanks the panel.
func (b *Backlight) On() error { return b.write(blUnblank, "on") }

// Off powers the panel down.
func (b *Backlight) Off() error { return b.write(blPowerdown, "off") }

// Close does nothing: the backlight holds no file open.
func (b *Backlight) Close() error { return nil }

func (b *Backlight) String() string { return "backlight " + filepath.Base(b.Dir) }

// write sets bl_power; the file must exist (sysfs makes it, never us).
func (b *Backlight) write(v, what string) error {
	f, err := os.OpenFile(b.power(), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("backlight %s: %w", what, err)
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backlight %s: %w", what, err)
	}
	return nil
}
