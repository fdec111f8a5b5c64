package panel_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/panel"
)

// An X server without DPMS (Xvfb) is blanked with its screen saver and
// woken again; a blank that something else started is ended by On too.
func TestX11ScreenSaverUnderXvfb(t *testing.T) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skipf("Xvfb not found: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "320x240x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb display number: %v", err)
	}
	x, err := panel.OpenX11(":" + strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.DPMS() {
		t.Log("this Xvfb has DPMS")
	}
	level := func(want string) {
		t.Helper()
		got, err := x.Level()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("level = %q, want %q", got, want)
		}
	}
	level("on")
	for _, step := range []struct {
		set  func() error
		want string
	}{{x.Off, "blanked"}, {x.On, "on"}, {x.Off, "blanked"}, {x.Off, "blanked"}, {x.On, "on"}} {
		if err := step.set(); err != nil {
			t.Fatal(err)
		}
		level(step.want)
	}
}
