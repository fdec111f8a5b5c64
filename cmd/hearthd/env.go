package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

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
