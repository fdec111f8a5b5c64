package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// fyneEnv is the environment Fyne has to find when it loads. Fyne reads
// both variables in package init, before main runs, so hearthd sets them
// by executing itself again once (same pid, so systemd does not notice).
//
//   - FYNE_CACHE: Fyne keeps the texture of an image that left the screen
//     for a minute (internal/cache.ValidDuration). A carousel drops a
//     full-screen photo every dwell, so that held 4-10 dead textures:
//     make bench measured 235 MiB of private memory with the default and
//     136 MiB with 5 s.
//   - LANG: Fyne logs an error at every start for the "C" locale. The
//     screen's language comes from --locale, not from this.
var fyneEnv = map[string]string{"FYNE_CACHE": "5s", "LANG": "en_GB.UTF-8"}

// reexecForFyne executes hearthd again with fyneEnv when its variables are
// missing. It returns only if nothing needs doing or the exec failed (then
// hearthd runs on with Fyne's defaults).
func reexecForFyne() {
	env := os.Environ()
	changed := false
	for k, v := range fyneEnv {
		if ok := fyneSees(k, os.Getenv(k)); ok {
			continue
		}
		// Replace, not append: with a duplicate key Go keeps the first.
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		env = append(env, k+"="+v)
		changed = true
	}
	if !changed {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env)
}

// fyneSees reports whether the value v of variable k is already fine.
func fyneSees(k, v string) bool {
	if k == "LANG" {
		return v != "" && v != "C" && v != "POSIX" && !strings.HasPrefix(v, "C.")
	}
	return v != ""
}

// reexec starts this program again in the same process (same PID), with
// the same arguments and environment.
//
// An X server resets when its last client leaves, and refuses connections
// while it does; the fresh start would find no display. So a connection to
// the X server is held open across the exec (without close-on-exec) and
// the fresh process closes it once its own window is up (releaseXHold).
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start again: %w", err)
	}
	env := os.Environ()
	if fd, err := holdX(); err == nil {
		env = append(env, xHoldEnv+"="+strconv.Itoa(fd))
	}
	return fmt.Errorf("start again: %w", syscall.Exec(exe, os.Args, env))
}

const xHoldEnv = "HEARTH_X_HOLD_FD"

// holdX connects to the local X server with a descriptor that survives exec.
func holdX() (int, error) {
	d := os.Getenv("DISPLAY")
	host, num, ok := strings.Cut(d, ":")
	if !ok || (host != "" && host != "unix") {
		return -1, fmt.Errorf("display %q is not local", d)
	}
	num, _, _ = strings.Cut(num, ".")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0) // no SOCK_CLOEXEC
	if err != nil {
		return -1, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: "/tmp/.X11-unix/X" + num}); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	// A client the server counts is one that finished the handshake.
	if _, err := syscall.Write(fd, []byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	var b [8]byte
	if _, err := syscall.Read(fd, b[:]); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// releaseXHold closes the connection a previous image of this process held
// across its exec (see reexec), and checkDisplay's: our window is up.
func releaseXHold() {
	if displayCheck != nil {
		displayCheck.Close()
		displayCheck = nil
	}
	v := os.Getenv(xHoldEnv)
	if v == "" {
		return
	}
	os.Unsetenv(xHoldEnv)
	if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
		syscall.Close(fd)
	}
}
