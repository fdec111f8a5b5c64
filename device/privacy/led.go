package privacy

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"

	"github.com/hearth-home/hearth/device"
)

// LED is a privacy LED in sysfs, /sys/class/leds/NAME: lit at its full
// brightness while the camera or microphone is open.
type LED struct {
	dir string
	on  string // the brightness that lights it (max_brightness)
	log *slog.Logger

	mu  gosync.Mutex
	lit bool
	set bool // written at least once
}

// OpenLED opens the LED called name under root/class/leds (root is "/sys"
// on a device). Its trigger, if it has one, is set to "none": a kernel
// trigger (disk activity, a heartbeat) would light it when no camera is
// open, or put it out while one is. The LED starts off.
func OpenLED(root, name string, log *slog.Logger) (*LED, error) {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return nil, fmt.Errorf("open privacy led: bad name %q", name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &LED{dir: filepath.Join(root, "class", "leds", name), on: "1", log: log}
	if b, err := os.ReadFile(filepath.Join(l.dir, "max_brightness")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			l.on = strconv.Itoa(n)
		}
	}
	if _, err := os.Stat(filepath.Join(l.dir, "brightness")); err != nil {
		return nil, fmt.Errorf("open privacy led: %w", err)
	}
	if err := write(filepath.Join(l.dir, "trigger"), "none"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open privacy led: trigger: %w", err)
	}
	if err := l.write(false); err != nil {
		return nil, fmt.Errorf("open privacy led: %w", err)
	}
	return l, nil
}

// SetPrivacy lights the LED while anything is open. The write is done
// when it returns: the LED is lit.
func (l *LED) SetPrivacy(p device.Privacy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set && l.lit == p.On() {
		return
	}
	if err := l.write(p.On()); err != nil {
		l.log.Error("privacy led", "on", p.On(), "err", err)
	}
}

func (l *LED) write(on bool) error {
	v := "0"
	if on {
		v = l.on
	}
	if err := write(filepath.Join(l.dir, "brightness"), v); err != nil {
		l.set = false
		return err
	}
	l.lit, l.set = on, true
	return nil
}

// write writes v to an existing sysfs attribute.
func write(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
