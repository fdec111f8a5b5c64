package config

import (
	"io"
	"testing"
)

func TestPanelAndPrivacyLED(t *testing.T) {
	cfg, err := Load([]string{"--device-id", "a"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Panel != "auto" || cfg.PrivacyLED != "" {
		t.Errorf("defaults: panel %q, privacy led %q; want auto and none", cfg.Panel, cfg.PrivacyLED)
	}
	cfg, err = Load([]string{"--device-id", "a", "--panel", "backlight", "--privacy-led", "privacy"}, io.Discard)
	if err != nil || cfg.Panel != "backlight" || cfg.PrivacyLED != "privacy" {
		t.Errorf("Load(--panel backlight --privacy-led privacy) = %q, %q, %v", cfg.Panel, cfg.PrivacyLED, err)
	}
	for _, args := range [][]string{{"--panel", "hdmi"}, {"--privacy-led", "../brightness"}, {"--privacy-led", ".."}} {
		if _, err := Load(append([]string{"--device-id", "a"}, args...), io.Discard); err == nil {
			t.Errorf("Load(%q) succeeded", args)
		}
	}
}
