package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A stop in the middle of a call (systemctl stop, a shutdown) finishes
// well inside the unit's TimeoutStopSec, after which systemd would kill
// hearthd mid-write: the call is ended for the caller, camera and
// microphone are closed, and the clean stop is recorded.
func TestShutdownDuringACallWithinTimeoutStopSec(t *testing.T) {
	limit := unitTimeoutStop(t)
	if limit > 15*time.Second {
		t.Fatalf("the unit's TimeoutStopSec is %s: more than 15 s leaves a device dark too long on a stop", limit)
	}
	b, _, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startConnected(t, append(args, "--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"), "--announce", "1s"))
	d.waitLog("allowlist installed", 10*time.Second)
	call := startCtlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Evening check", "--for", "60s")
	d.waitLog("call: answered", 20*time.Second)
	d.waitLog("call: camera and microphone open", 5*time.Second)

	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(limit):
		t.Fatalf("hearthd did not exit within the unit's TimeoutStopSec (%s) of SIGTERM during a call", limit)
	}
	took := time.Since(start)
	t.Logf("stopped %d ms after SIGTERM during a call (TimeoutStopSec %s)", took.Milliseconds(), limit)
	if d.err != nil {
		t.Fatalf("hearthd exit after SIGTERM: %v, want a clean exit", d.err)
	}
	if took > 10*time.Second {
		t.Fatalf("stop took %s, want within 10 s", took)
	}
	for _, want := range []string{"call: camera and microphone closed", "hearthd stopped"} {
		if !strings.Contains(d.log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	res := call.wait(t)
	if !res.Answered || !strings.Contains(res.EndReason, "shutting down") {
		t.Fatalf("the caller's call: %+v, want answered and ended with the device shutting down", res)
	}
}

// unitTimeoutStop reads TimeoutStopSec from hearthd's systemd unit.
func unitTimeoutStop(t *testing.T) time.Duration {
	t.Helper()
	f, err := os.Open("hearthd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "TimeoutStopSec="); ok {
			d, err := time.ParseDuration(v + "s")
			if err != nil {
				t.Fatalf("TimeoutStopSec=%s: %v", v, err)
			}
			return d
		}
	}
	t.Fatal("hearthd.service sets no TimeoutStopSec")
	return 0
}
