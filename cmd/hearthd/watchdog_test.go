package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// A media stack that hangs (a camera driver that never finishes closing,
// --media test-stuck): the call loop reports it, hearthd stops petting
// systemd's watchdog, systemd kills it and starts it again, and the new
// start comes back ready.
//
// No systemd runs as PID 1 on the machines the tests run on, so the test
// plays systemd's part as the unit sets it up (Type=notify, WatchdogSec,
// Restart=always): NOTIFY_SOCKET and WATCHDOG_USEC for hearthd, SIGABRT
// once WatchdogSec passes without a keep-alive, then a new start.
func TestWatchdogRestartsAStuckMediaStack(t *testing.T) {
	b, _, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	dir, err := os.MkdirTemp("", "wd") // a socket path stays under 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sockPath := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	const watchdogEvery = 4 * time.Second
	env := []string{"NOTIFY_SOCKET=" + sockPath, "WATCHDOG_USEC=" + "4000000"}
	args = append(args, "--org-key", filepath.Join(keys, "org", "org.pub"), "--announce", "500ms")

	// next returns the next notification within d ("" if none came).
	next := func(d time.Duration) string {
		buf := make([]byte, 512)
		_ = sock.SetReadDeadline(time.Now().Add(d))
		n, err := sock.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ""
		}
		if err != nil {
			t.Fatalf("read notification: %v", err)
		}
		return string(buf[:n])
	}
	await := func(what string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if strings.Contains(next(time.Until(deadline)), what) {
				return
			}
		}
		t.Fatalf("no %s within %s", what, within)
	}

	d := startDaemon(t, env, append(args, "--media", "test-stuck")...)
	await("READY=1", 15*time.Second)
	await("WATCHDOG=1", watchdogEvery)
	d.waitLog("allowlist installed", 10*time.Second)
	res := ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Check", "--for", "1s")
	if !res.Answered {
		t.Fatalf("call: %+v", res)
	}
	ended := time.Now()

	// systemd's watchdog: a keep-alive is due every WatchdogSec.
	last := ended
	for time.Since(last) < watchdogEvery {
		if time.Since(ended) > time.Minute {
			t.Fatalf("hearthd kept petting the watchdog for a minute with its camera stuck closing")
		}
		if strings.Contains(next(watchdogEvery-time.Since(last)), "WATCHDOG=1") {
			last = time.Now()
		}
	}
	t.Logf("the last keep-alive came %d ms after the call ended; none since for WatchdogSec (%s)",
		last.Sub(ended).Milliseconds(), watchdogEvery)
	for _, want := range []string{"stuck", "unhealthy: withholding the watchdog keep-alive"} {
		if !strings.Contains(d.log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// WatchdogSec passed: systemd aborts hearthd and starts it again.
	_ = d.cmd.Process.Signal(syscall.SIGABRT)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("hearthd did not end on SIGABRT")
	}
	restarted := time.Now()
	d2 := startDaemon(t, env, append(args, "--media", "test")...)
	await("READY=1", 15*time.Second)
	await("WATCHDOG=1", watchdogEvery)
	d2.waitLog("connected to broker", 10*time.Second)
	st := waitRetained(t, b.URL(), proto.StateTopic("mum-kitchen"), "ready after the restart", func(s proto.State) bool {
		return s.State == proto.LifeReady && s.Time.After(restarted)
	})
	t.Logf("ready again %d ms after the restart (session %d)", time.Since(restarted).Milliseconds(), st.Session)
	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Check", "--for", "1s")
	if !res.Answered {
		t.Fatalf("the call after the restart: %+v", res)
	}
	d2.stop()
}
