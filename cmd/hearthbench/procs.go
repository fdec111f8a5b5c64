package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	gosync "sync"
	"syscall"
	"time"
)

// procs starts every child process of the bench, each in its own process
// group with a parent-death signal, and kills what is left in the end, even
// after a failure.
type procs struct {
	log  *slog.Logger
	mu   gosync.Mutex
	live map[*proc]bool
}

func newProcs(log *slog.Logger) *procs { return &procs{log: log, live: map[*proc]bool{}} }

// proc is one started process (and its group).
type proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	err     error // from Wait, valid after done
	tail    *tailBuffer
	owner   *procs
}

// start runs cmd in a new process group. Output goes to the returned
// proc's tail buffer and, line by line, to onLine (which may be nil; it runs
// on the reading goroutine and must not block).
func (ps *procs) start(name string, cmd *exec.Cmd, onLine func(line string)) (*proc, error) {
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), tail: newTailBuffer(60, 400), owner: ps}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	if cmd.Stdout == nil {
		cmd.Stdout = pw
	}
	if cmd.Stderr == nil {
		cmd.Stderr = pw
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r := bufio.NewReaderSize(pr, 64<<10)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				line = strings.TrimRight(line, "\r\n")
				p.tail.add(line)
				if onLine != nil {
					onLine(line)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ps.mu.Lock()
	ps.live[p] = true
	ps.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-readerDone
		ps.mu.Lock()
		delete(ps.live, p)
		ps.mu.Unlock()
		close(p.done)
	}()
	ps.log.Debug("started", "proc", name, "pid", cmd.Process.Pid, "args", cmd.Args)
	return p, nil
}

// pid is the process id, which is also its process group id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process (it shuts its own children down) and,
// after grace, SIGKILL to its whole group. Anything left in the group after
// the leader exited is killed too.
func (p *proc) stop(grace time.Duration) error {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			p.owner.log.Warn("did not stop in time; killing its process group", "proc", p.name, "grace", grace)
		}
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			switch ws.Signal() {
			case syscall.SIGTERM: // what we asked for
				return nil
			case syscall.SIGKILL:
				return fmt.Errorf("%s was killed", p.name)
			}
		}
		return fmt.Errorf("%s: %w", p.name, p.err)
	}
	return p.err
}

// killAll kills every process group still running and waits for the leaders.
func (ps *procs) killAll() {
	ps.mu.Lock()
	var list []*proc
	for p := range ps.live {
		list = append(list, p)
	}
	ps.mu.Unlock()
	for _, p := range list {
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
	for _, p := range list {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			ps.log.Warn("process did not exit after SIGKILL", "proc", p.name, "pid", p.pid())
		}
	}
}

// waitUntil polls cond every step until it holds, ctx ends or within passes.
func waitUntil(ctx context.Context, within, step time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
	}
}

// tailBuffer keeps the last lines of a process's output for error messages.
type tailBuffer struct {
	mu    gosync.Mutex
	lines []string
	max   int
	width int
}

func newTailBuffer(lines, width int) *tailBuffer { return &tailBuffer{max: lines, width: width} }

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, truncate(line, t.width))
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// envWith returns the environment with the given KEY=VALUE pairs replacing
// any of the same keys.
func envWith(kv ...string) []string {
	env := os.Environ()
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		env = append(env, s)
	}
	return env
}
