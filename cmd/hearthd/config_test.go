package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadConfigFileKeepsRunning: a config file that is not what it should
// be (here: a typo'd setting) does not keep the device down. hearthd runs
// on its defaults and the command line, says so in its log and reports a
// config_refused activity upward.
func TestBadConfigFileKeepsRunning(t *testing.T) {
	b, _, args := headlessSetup(t)
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(`{"locale":"sv","dwel":"20s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startConnected(t, append(args, "--config", file))
	if !strings.Contains(d.log.String(), "config file refused") {
		t.Fatalf("the log does not say the file was refused:\n%s", d.log)
	}
	waitActivity(t, b.URL(), "mum-kitchen", "config_refused", "dwel", 15*time.Second)
	if !d.running() {
		t.Fatalf("hearthd stopped:\n%s", d.log)
	}
	d.stop()
}
