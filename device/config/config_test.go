package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hearthd.json")
	if err := os.WriteFile(file, []byte(`{"device_id":"mum-kitchen","broker":"mqtt://file:1883","locale":"sv","dwell":"20s","night":"22:00-07:00"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"--config", file, "--locale", "fi", "--data", "/tmp/x", "--booking-lead", "90m"}, io.Discard)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	for name, tc := range map[string]struct{ got, want any }{
		"device from file":   {cfg.DeviceID, "mum-kitchen"},
		"broker from file":   {cfg.Broker, "mqtt://file:1883"},
		"locale from flag":   {cfg.Locale, "fi"},
		"data from flag":     {cfg.Data, "/tmp/x"},
		"dwell from file":    {time.Duration(cfg.Dwell), 20 * time.Second},
		"night from file":    {cfg.Night, "22:00-07:00"},
		"default night mode": {cfg.NightMode, "dim"},
		"default screen":     {cfg.Screen, "1920x1080"},
		"booking lead":       {time.Duration(cfg.BookingLead), 90 * time.Minute},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	_ = os.WriteFile(unknown, []byte(`{"device_id":"a","colour":"red"}`), 0o600)
	broken := filepath.Join(dir, "broken.json")
	_ = os.WriteFile(broken, []byte(`{"device_id":`), 0o600)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no device":      {nil, "no device id"},
		"bad device":     {[]string{"--device-id", "a/b"}, "device id"},
		"bad locale":     {[]string{"--device-id", "a", "--locale", "xx"}, "locale"},
		"bad zone":       {[]string{"--device-id", "a", "--timezone", "Mars/Base"}, "timezone"},
		"bad night":      {[]string{"--device-id", "a", "--night", "late"}, "night hours"},
		"bad night mode": {[]string{"--device-id", "a", "--night-mode", "sometimes"}, "night mode"},
		"short dwell":    {[]string{"--device-id", "a", "--dwell", "1s"}, "dwell"},
		"bad screen":     {[]string{"--device-id", "a", "--screen", "big"}, "screen"},
		"bad broker":     {[]string{"--device-id", "a", "--broker", "localhost"}, "broker"},
		"unknown field":  {[]string{"--config", unknown}, "unknown field"},
		"broken file":    {[]string{"--config", broken}, "config"},
		"missing file":   {[]string{"--config", filepath.Join(dir, "nope.json")}, "read config"},
		"stray argument": {[]string{"--device-id", "a", "extra"}, "unexpected argument"},
		"pprof abroad":   {[]string{"--device-id", "a", "--pprof", "0.0.0.0:6060"}, "pprof"},
		"pprof no port":  {[]string{"--device-id", "a", "--pprof", "127.0.0.1"}, "pprof"},
		"long lead":      {[]string{"--device-id", "a", "--booking-lead", "25h"}, "booking-lead"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(%v) = %v, want an error about %q", tc.args, err, tc.want)
			}
		})
	}
	_, err := Load([]string{"--device-id", "a", "--locale", "xx"}, io.Discard)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("validation error %v does not wrap ErrInvalid", err)
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"1m30s"`)); err != nil || time.Duration(d) != 90*time.Second {
		t.Errorf("Duration(\"1m30s\") = %v, %v; want 1m30s", time.Duration(d), err)
	}
	if err := d.UnmarshalJSON([]byte(`5`)); err != nil || time.Duration(d) != 5*time.Second {
		t.Errorf("Duration(5) = %v, %v; want 5s", time.Duration(d), err)
	}
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("Duration(\"soon\") = nil error, want one")
	}
	b, _ := Duration(15 * time.Second).MarshalJSON()
	if string(b) != `"15s"` {
		t.Errorf("MarshalJSON = %s, want \"15s\"", b)
	}
}

// A bad config file must not keep the device down: it runs on the defaults
// and the command line, and FileErr says why the file was refused.
func TestBadFileFallsBack(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, tc := range map[string]struct {
		file, want string
	}{
		"unknown field": {write("unknown.json", `{"locale":"sv","colour":"red"}`), "unknown field"},
		"broken":        {write("broken.json", `{"locale":`), "unexpected EOF"},
		"bad value":     {write("bad.json", `{"locale":"xx"}`), "locale"},
		"bad duration":  {write("dwell.json", `{"dwell":"soon"}`), "duration"},
		"missing":       {filepath.Join(dir, "nope.json"), "read config"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load([]string{"--config", tc.file, "--device-id", "mum-kitchen", "--night", "23:00-06:00"}, io.Discard)
			if err != nil {
				t.Fatalf("Load = %v, want the defaults and flags", err)
			}
			if cfg.FileErr == nil || !strings.Contains(cfg.FileErr.Error(), tc.want) {
				t.Fatalf("FileErr = %v, want one about %q", cfg.FileErr, tc.want)
			}
			def := Default()
			if cfg.DeviceID != "mum-kitchen" || cfg.Night != "23:00-06:00" || cfg.Locale != def.Locale || cfg.Dwell != def.Dwell {
				t.Fatalf("config = %+v, want the flags over the defaults, nothing from the file", cfg)
			}
		})
	}
	good := write("good.json", `{"locale":"sv"}`)
	cfg, err := Load([]string{"--config", good, "--device-id", "mum-kitchen"}, io.Discard)
	if err != nil || cfg.FileErr != nil || cfg.Locale != "sv" {
		t.Fatalf("a good file: %+v, %v", cfg, err)
	}
}

// FuzzLoadFile: whatever the config file holds, Load either refuses it
// (FileErr, or an error when the command line alone is not enough) or
// returns a config that validates; it never panics.
func FuzzLoadFile(f *testing.F) {
	for _, s := range []string{
		`{"device_id":"mum-kitchen","broker":"mqtt://b:1883","locale":"sv","dwell":"20s","night":"22:00-07:00"}`,
		`{"night":"25:00-07:00"}`, `{"dwell":5}`, `{"ice_servers":["stun:x"],"bundle_path":["/boot"]}`,
		`{"fallback_brokers":["mqtts://b2:8883"],"heartbeat":"1h"}`, `[]`, `null`, `{"simulate":-1}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load([]string{"--config", p, "--device-id", "d"}, io.Discard)
		if err != nil {
			t.Fatalf("Load with a device id on the command line = %v; a bad file should fall back", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load returned a config that does not validate: %v (file error %v)", err, cfg.FileErr)
		}
	})
}

func TestPprofOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		cfg, err := Load([]string{"--device-id", "a", "--pprof", addr}, io.Discard)
		if err != nil || cfg.Pprof != addr {
			t.Errorf("Load(--pprof %s) = %q, %v; want it taken", addr, cfg.Pprof, err)
		}
	}
	if cfg, err := Load([]string{"--device-id", "a"}, io.Discard); err != nil || cfg.Pprof != "" {
		t.Errorf("Load() = pprof %q, %v; want it off by default", cfg.Pprof, err)
	}
}

// require_signed_items: off by default, on from the file or the flag.
func TestRequireSignedItems(t *testing.T) {
	if Default().RequireSignedItems {
		t.Error("signed items required by default; a device without a bundle must take hearthctl's unsigned items")
	}
	file := filepath.Join(t.TempDir(), "hearthd.json")
	if err := os.WriteFile(file, []byte(`{"device_id":"mum","require_signed_items":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"file": {"--config", file},
		"flag": {"--device-id", "mum", "--require-signed-items"},
	} {
		cfg, err := Load(args, io.Discard)
		if err != nil || !cfg.RequireSignedItems {
			t.Errorf("%s: RequireSignedItems = %v, %v; want true", name, cfg.RequireSignedItems, err)
		}
	}
}
