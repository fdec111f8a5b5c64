package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// A family member's browser dies mid-call (Chromium killed with SIGKILL:
// no hangup, no DTLS close). The device is available again within 5 s
// (read on the retained availability topic), and a nurse's forced call
// placed 1 s after the kill is answered.
func TestBrowserKilledMidCall(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b, _, args := headlessSetup(t)
	org, eva, anna, _ := browserKeys(t, b.URL(), "forced")
	d := startConnected(t, append(args, "--org-key", filepath.Join(org, provisioning.OrgPubFile), "--media", "test",
		"--announce", "1s", "--ring", "1s", "--name", "Mum's kitchen"))
	d.waitLog("allowlist installed", 10*time.Second)

	// Every availability the device publishes, with when it arrived.
	type seen struct {
		state proto.AvailabilityState
		at    time.Time
	}
	avail := make(chan seen, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := hsync.Dial(ctx, b.URL(), "watch")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if err := watch.Subscribe(ctx, proto.AvailabilityTopic("mum-kitchen"), func(_ string, p []byte) {
		if a, err := proto.DecodeAvailability(p); err == nil {
			select {
			case avail <- seen{a.State, time.Now()}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	browser := newBrowser(t)
	annaPage := openPage(t, browser, startWeb(t, b, anna))
	eval[map[string]string](t, annaPage, `hearth.call("mum-kitchen", {})`)
	st := waitStats(t, annaPage, 20*time.Second, "Anna's call active", func(s pageStats) bool { return s.State == "active" || isEnd(s.State) })
	if st.State != "active" {
		t.Fatalf("Anna's call = %+v, want active", st)
	}
	waitStats(t, annaPage, 15*time.Second, "picture in the browser", func(s pageStats) bool { return s.FramesDecoded > 10 || isEnd(s.State) })
	d.waitLog(`msg="call: answered"`, 5*time.Second)

	pid := chromedp.FromContext(browser).Browser.Process().Pid
	killTree(t, pid)
	killed := time.Now()
	t.Logf("Chromium (pid %d and its children) killed mid-call", pid)

	// The nurse calls 1 s after the kill.
	nurse, err := provisioning.LoadCaller(eva)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	c, wait := goCall(t, b.URL(), nurse, proto.ModeForced)
	dialled := time.Now()

	// Poll everything at once: the availability, the device's log (the
	// lost call's end) and the nurse's call.
	var back, lost, answered time.Time
	deadline := time.Now().Add(15 * time.Second)
	for answered.IsZero() || (back.IsZero() && lost.IsZero()) {
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the kill: available at %v, lost at %v, nurse answered at %v (zero: never)\n%s", back, lost, answered, d.log)
		}
		select {
		case s := <-avail:
			if s.state == proto.AvailAvailable && s.at.After(killed) && back.IsZero() {
				back = s.at
			}
		case <-time.After(20 * time.Millisecond):
		}
		if lost.IsZero() && strings.Contains(d.log.String(), "lost the connection to Anna") {
			lost = time.Now()
		}
		if answered.IsZero() && c.Snapshot().Answered {
			answered = time.Now()
		}
	}
	t.Logf("after the kill: Anna's call ended as lost after %v; available again after %v (zero: the nurse's call took the device first); "+
		"the nurse's forced call, dialled 1 s after the kill, answered %v after its invite (%v after the kill)",
		since(killed, lost), since(killed, back), answered.Sub(dialled).Round(time.Millisecond), answered.Sub(killed).Round(time.Millisecond))
	for _, l := range strings.Split(d.log.String(), "\n") {
		if strings.Contains(l, `msg="call: `) && !strings.Contains(l, "call: stats") {
			t.Log(l)
		}
	}
	switch {
	case !back.IsZero() && back.Sub(killed) > 5*time.Second:
		t.Errorf("available %v after the browser died, want within 5 s", back.Sub(killed))
	case back.IsZero() && lost.Sub(killed) > 5*time.Second:
		t.Errorf("the lost call ended %v after the browser died, want within 5 s", lost.Sub(killed))
	}
	_ = c.Hangup()
	wait()
}

// since is at-from rounded, or 0 if at is zero.
func since(from, at time.Time) time.Duration {
	if at.IsZero() {
		return 0
	}
	return at.Sub(from).Round(time.Millisecond)
}

// killTree sends SIGKILL to pid and every process below it (Chromium's
// renderers and its network service hold the WebRTC sockets).
func killTree(t *testing.T, pid int) {
	t.Helper()
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, children(pids[i])...)
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// children lists the processes whose parent is pid (from /proc).
func children(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; read after ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			if pp, _ := strconv.Atoi(f[1]); pp == pid {
				out = append(out, p)
			}
		}
	}
	return out
}
