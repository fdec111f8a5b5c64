package main

import (
	"github.com/hearth-home/hearth/sync/proto"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Admin commands through the broker: volume and night hours are applied
// and kept; a command signed by another organisation is refused; a factory
// reset wipes the data and ends the process so systemd starts it afresh.
func TestAdminCommands(t *testing.T) {
	b, data, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	org := filepath.Join(keys, "org")
	d := startConnected(t, append(args, "--org-key", filepath.Join(org, "org.pub"), "--media", "test"))
	d.waitLog("allowlist installed", 10*time.Second)

	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "volume", "40")
	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "night", "00:00-23:59")
	d.waitLog(`msg="screen mode" component=scheduler mode=night-dim`, 10*time.Second)
	other := filepath.Join(t.TempDir(), "other")
	ctl(t, b.URL(), "provision", "ca", "init", "--out", other)
	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", other, "factory-reset")
	waitFor(t, 10*time.Second, "the forged reset refused", func() bool {
		return slices.ContainsFunc(activities(t, b.URL(), "mum-kitchen"), func(a proto.Activity) bool { return a.Type == "admin_refused" })
	})
	if !d.running() {
		t.Fatal("a forged factory reset stopped the daemon")
	}
	applied := 0
	for _, a := range activities(t, b.URL(), "mum-kitchen") {
		if a.Type == "admin_applied" {
			applied++
		}
	}
	if applied != 2 {
		t.Fatalf("%d admin_applied events, want 2 (volume, night)", applied)
	}
	d.stop()

	// Kept across a restart: the night hours apply at once.
	d = startConnected(t, append(args, "--org-key", filepath.Join(org, "org.pub"), "--media", "test"))
	d.waitLog("mode=night-dim", 10*time.Second)
	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "factory-reset")
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("hearthd did not end after a factory reset")
	}
	if d.err == nil {
		t.Fatal("hearthd exited 0 after a factory reset; systemd would not start it again")
	}
	es, _ := os.ReadDir(data)
	if len(es) != 0 {
		t.Fatalf("data folder not empty after a factory reset: %v", es)
	}
}
