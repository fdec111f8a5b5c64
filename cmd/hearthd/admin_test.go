package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
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
	waitAvailability(t, b.URL(), "mum-kitchen", "available", func(a proto.Availability) bool { return a.State == "available" })
	// Night hours around now (the device's zone is this machine's): the
	// screen dims, and at once, not at the next restart, callers see
	// "night" and so does the heartbeat (headless: its display is none).
	now := time.Now()
	night := now.Add(-time.Hour).Format("15:04") + "-" + now.Add(time.Hour).Format("15:04")
	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "night", night)
	d.waitLog(`msg="screen mode" component=scheduler mode=night-dim`, 10*time.Second)
	waitAvailability(t, b.URL(), "mum-kitchen", "night", func(a proto.Availability) bool { return a.State == "night" })
	waitRetained(t, b.URL(), proto.HeartbeatTopic("mum-kitchen"), "night in the heartbeat",
		func(h proto.Heartbeat) bool { return h.Availability == "night" })
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

// waitAvailability waits for the device's retained availability that ok
// accepts.
func waitAvailability(t *testing.T, broker, device, what string, ok func(proto.Availability) bool) proto.Availability {
	t.Helper()
	return waitRetained(t, broker, proto.AvailabilityTopic(device), "availability "+what, ok)
}

// Do-not-disturb through the broker: callers see it before dialling, a
// signalled call is refused with the reason, a carer's forced call is
// answered, the heartbeat and the fleet view carry its end, it outlives a
// restart, and it ends by itself or with off.
func TestAdminDND(t *testing.T) {
	b, _, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	org := filepath.Join(keys, "org")
	args = append(args, "--org-key", filepath.Join(org, "org.pub"), "--media", "test", "--announce", "1s", "--ring", "1s")
	d := startConnected(t, args)
	d.waitLog("allowlist installed", 10*time.Second)
	waitAvailability(t, b.URL(), "mum-kitchen", "available", func(a proto.Availability) bool { return a.State == "available" })

	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "dnd", "--for", "1h")
	dnd := func(a proto.Availability) bool {
		return a.State == "do_not_disturb" && a.Answer[proto.ModeForced] == proto.AnswerAuto &&
			a.Answer[proto.ModeSignalled] == proto.AnswerAsleep && !a.DNDUntil.IsZero()
	}
	a := waitAvailability(t, b.URL(), "mum-kitchen", "do_not_disturb", dnd)
	if left := time.Until(a.DNDUntil); left < 50*time.Minute || left > time.Hour {
		t.Fatalf("dnd_until %v is %v away, want about an hour", a.DNDUntil, left)
	}
	until := a.DNDUntil
	waitRetained(t, b.URL(), proto.HeartbeatTopic("mum-kitchen"), "dnd_until in the heartbeat", func(hb proto.Heartbeat) bool {
		return hb.DNDUntil.Equal(until) && hb.Availability == "do_not_disturb"
	})
	if out := ctl(t, b.URL(), "fleet"); !strings.Contains(out, "do_not_disturb until ") {
		t.Errorf("hearthctl fleet does not show do-not-disturb's end:\n%s", out)
	}

	res := ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--wait", "30s")
	if res.Answered || res.RefusedReason != proto.RefusedDND {
		t.Fatalf("Anna's call during do-not-disturb: %+v, want refused: %s", res, proto.RefusedDND)
	}
	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced",
		"--reason", "Evening medicine", "--for", "1s")
	if !res.Answered {
		t.Fatalf("the nurse's forced call during do-not-disturb: %+v, want answered", res)
	}
	waitAvailability(t, b.URL(), "mum-kitchen", "do_not_disturb after the call", dnd)
	d.stop()

	// Kept across a restart.
	restarted := time.Now()
	d = startConnected(t, args)
	d.waitLog(`msg="do not disturb"`, 10*time.Second)
	waitAvailability(t, b.URL(), "mum-kitchen", "do_not_disturb after a restart", func(a proto.Availability) bool {
		return dnd(a) && a.DNDUntil.Equal(until) && a.Time.After(restarted)
	})

	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "dnd", "off")
	waitAvailability(t, b.URL(), "mum-kitchen", "available after off", func(a proto.Availability) bool {
		return a.State == "available" && a.DNDUntil.IsZero()
	})

	// A short one ends by itself: the availability published at its end.
	sent := time.Now().Truncate(time.Second)
	ctl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "dnd", "--for", "3s")
	waitAvailability(t, b.URL(), "mum-kitchen", "available when do-not-disturb ended", func(a proto.Availability) bool {
		return a.State == "available" && a.DNDUntil.IsZero() && !a.Time.Before(sent.Add(3*time.Second))
	})

	waitFor(t, 30*time.Second, "the refusal and the three commands in the activity log", func() bool {
		var refused, applied int
		for _, a := range activities(t, b.URL(), "mum-kitchen") {
			switch {
			case a.Type == "call_refused" && a.Reason == proto.RefusedDND:
				refused++
			case a.Type == "admin_applied" && strings.HasPrefix(a.Reason, string(proto.AdminSetDND)+" "):
				applied++
			}
		}
		return refused == 1 && applied == 3
	})
	d.stop()
}
