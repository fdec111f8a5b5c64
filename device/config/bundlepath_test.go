package config

import (
	"errors"
	"io"
	"testing"
)

func TestBundlePath(t *testing.T) {
	cfg, err := Load([]string{"--bundle-path", "/boot, /media/usb,", "--locale", "sv"}, io.Discard)
	if err != nil {
		t.Fatalf("Load without a device id but with --bundle-path = %v", err)
	}
	if len(cfg.BundlePath) != 2 || cfg.BundlePath[0] != "/boot" || cfg.BundlePath[1] != "/media/usb" {
		t.Fatalf("BundlePath = %q", cfg.BundlePath)
	}
	if !cfg.Given["locale"] || !cfg.Given["bundle-path"] || cfg.Given["timezone"] {
		t.Fatalf("Given = %v", cfg.Given)
	}
	for _, args := range [][]string{
		{},
		{"--bundle-path", ""},
		{"--bundle-path", "/boot", "--headless", "--simulate", "3"},
		{"--bundle-path", "/boot", "--device-id", "a/b"},
	} {
		if _, err := Load(args, io.Discard); !errors.Is(err, ErrInvalid) {
			t.Errorf("Load(%q) = %v, want ErrInvalid", args, err)
		}
	}
}
