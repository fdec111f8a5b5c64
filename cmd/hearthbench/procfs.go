package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat. It is 100 on every
// Linux architecture Hearth runs on (sysconf(_SC_CLK_TCK) needs cgo to ask).
const userHZ = 100

// procFS reads /proc; root is "/proc" except in tests.
type procFS struct{ root string }

var sysProc = procFS{root: "/proc"}

// statInfo is the part of /proc/PID/stat the bench uses.
type statInfo struct {
	PID, PPID, PGRP int
	Comm            string
	State           byte
	// CPU time in clock ticks (1/userHZ s): the process's own, and that of
	// its children it has waited for.
	UTime, STime, CUTime, CSTime uint64
	// StartTime is when the process (or thread) started, in clock ticks
	// since boot; 0 when the line is too short to say.
	StartTime uint64
}

// cpu is the process's CPU time including reaped children: summed over a
// process tree, time does not vanish when a child exits and is waited for.
func (s statInfo) cpu() time.Duration {
	return time.Duration(s.UTime+s.STime+s.CUTime+s.CSTime) * time.Second / userHZ
}

// parseStat reads one /proc/PID/stat line. The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (statInfo, error) {
	var s statInfo
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return s, fmt.Errorf("parse stat: no (comm) in %q", truncate(string(b), 80))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return s, fmt.Errorf("parse stat: pid: %w", err)
	}
	s.PID = pid
	s.Comm = string(b[open+1 : closing])
	f := strings.Fields(string(b[closing+1:]))
	// After the comm: state(0) ppid(1) pgrp(2) session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12) cutime(13) cstime(14) ...
	if len(f) < 15 || len(f[0]) != 1 {
		return s, fmt.Errorf("parse stat: %d fields after comm, want at least 15", len(f))
	}
	s.State = f[0][0]
	ints := []*int{&s.PPID, &s.PGRP}
	for i, p := range ints {
		if *p, err = strconv.Atoi(f[1+i]); err != nil {
			return s, fmt.Errorf("parse stat: field %d: %w", 2+i, err)
		}
	}
	ticks := []*uint64{&s.UTime, &s.STime, &s.CUTime, &s.CSTime}
	for i, p := range ticks {
		// cutime and cstime are signed in the kernel's format; never negative in practice.
		v, err := strconv.ParseInt(f[11+i], 10, 64)
		if err != nil || v < 0 {
			return s, fmt.Errorf("parse stat: field %d %q: bad tick count", 14+i, f[11+i])
		}
		*p = uint64(v)
	}
	// ... priority nice num_threads itrealvalue starttime(19)
	if len(f) > 19 {
		if s.StartTime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
			return s, fmt.Errorf("parse stat: field 22 %q: %w", f[19], err)
		}
	}
	return s, nil
}

// memInfo is a process's (or a tree's) memory in bytes.
type memInfo struct {
	RSS   uint64 // VmRSS: resident, counting shared pages in full
	Anon  uint64 // RssAnon: private anonymous memory (heap, stacks)
	Shmem uint64 // RssShmem: shared memory (Chromium's decoded images, X shared-memory images)
	PSS   uint64 // Pss from smaps_rollup: shared pages divided among their users
}

func (m *memInfo) add(o memInfo) {
	m.RSS += o.RSS
	m.Anon += o.Anon
	m.Shmem += o.Shmem
	m.PSS += o.PSS
}

// parseKBFields reads "Key:   123 kB" lines and returns the named keys in
// bytes. Missing keys are absent from the map.
func parseKBFields(b []byte, keys ...string) (map[string]uint64, error) {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("parse %s: no value", k)
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", k, err)
		}
		mult := uint64(1)
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			mult = 1024
		}
		out[k] = v * mult
	}
	return out, sc.Err()
}

// parseStatus reads VmRSS, RssAnon and RssShmem from /proc/PID/status.
func parseStatus(b []byte) (memInfo, error) {
	kv, err := parseKBFields(b, "VmRSS", "RssAnon", "RssShmem")
	if err != nil {
		return memInfo{}, fmt.Errorf("status: %w", err)
	}
	if _, ok := kv["VmRSS"]; !ok {
		return memInfo{}, errors.New("status: no VmRSS (a kernel thread or a zombie?)")
	}
	return memInfo{RSS: kv["VmRSS"], Anon: kv["RssAnon"], Shmem: kv["RssShmem"]}, nil
}

// parseSmapsRollup reads Pss from /proc/PID/smaps_rollup.
func parseSmapsRollup(b []byte) (uint64, error) {
	kv, err := parseKBFields(b, "Pss")
	if err != nil {
		return 0, fmt.Errorf("smaps_rollup: %w", err)
	}
	v, ok := kv["Pss"]
	if !ok {
		return 0, errors.New("smaps_rollup: no Pss")
	}
	return v, nil
}

func (fs procFS) read(pid int, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(fs.root, strconv.Itoa(pid), name))
}

func (fs procFS) stat(pid int) (statInfo, error) {
	b, err := fs.read(pid, "stat")
	if err != nil {
		return statInfo{}, err
	}
	return parseStat(b)
}

// all returns the stat of every process. Processes that vanish while the
// directory is read are skipped.
func (fs procFS) all() ([]statInfo, error) {
	ents, err := os.ReadDir(fs.root)
	if err != nil {
		return nil, err
	}
	var out []statInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := fs.stat(pid)
		if err != nil {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// tree returns root and all its descendants, plus every process in root's
// process group (a daemon that double-forks, such as Chromium's crash
// handler, leaves the tree but keeps the group). Zombies are left out. The
// result is sorted, root included only while it is alive.
func (fs procFS) tree(root int) ([]statInfo, error) {
	all, err := fs.all()
	if err != nil {
		return nil, err
	}
	byPID := map[int]statInfo{}
	kids := map[int][]int{}
	for _, s := range all {
		byPID[s.PID] = s
		kids[s.PPID] = append(kids[s.PPID], s.PID)
	}
	in := map[int]bool{}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if in[p] {
			continue
		}
		in[p] = true
		queue = append(queue, kids[p]...)
	}
	if r, ok := byPID[root]; ok {
		for _, s := range all {
			if s.PGRP == r.PGRP && r.PGRP == root {
				in[s.PID] = true
			}
		}
	}
	var out []statInfo
	for _, s := range all {
		if in[s.PID] && s.State != 'Z' {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b statInfo) int { return a.PID - b.PID })
	return out, nil
}

// treeCPU is the CPU time of root's tree and the number of processes in it.
func (fs procFS) treeCPU(root int) (time.Duration, int, error) {
	ps, err := fs.tree(root)
	if err != nil {
		return 0, 0, err
	}
	var d time.Duration
	for _, s := range ps {
		d += s.cpu()
	}
	return d, len(ps), nil
}

// treeMemory sums memory over root's tree. withPSS reads smaps_rollup,
// which walks every mapping: fine now and then, not in a tight loop.
func (fs procFS) treeMemory(root int, withPSS bool) (memInfo, int, error) {
	ps, err := fs.tree(root)
	if err != nil {
		return memInfo{}, 0, err
	}
	if len(ps) == 0 {
		return memInfo{}, 0, fmt.Errorf("process %d is gone", root)
	}
	var sum memInfo
	n := 0
	for _, s := range ps {
		b, err := fs.read(s.PID, "status")
		if err != nil {
			continue // exited meanwhile
		}
		m, err := parseStatus(b)
		if err != nil {
			continue
		}
		if withPSS {
			if b, err := fs.read(s.PID, "smaps_rollup"); err == nil {
				if m.PSS, err = parseSmapsRollup(b); err != nil {
					return memInfo{}, 0, fmt.Errorf("pid %d: %w", s.PID, err)
				}
			}
		}
		sum.add(m)
		n++
	}
	return sum, n, nil
}

// usage is what a thread (or a sum of threads) used: CPU time and runs, the
// times the scheduler put it on a CPU. A thread that sleeps and wakes runs
// once per wakeup (plus once more per preemption), so runs per second is
// a fair count of wakeups.
type usage struct {
	cpu  time.Duration
	runs uint64
}

func (u usage) minus(o usage) usage {
	return usage{cpu: u.cpu - min(u.cpu, o.cpu), runs: u.runs - min(u.runs, o.runs)}
}

// parseSchedstat reads /proc/PID/task/TID/schedstat: nanoseconds on a CPU,
// nanoseconds waiting for one, and the number of runs.
func parseSchedstat(b []byte) (usage, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return usage{}, fmt.Errorf("parse schedstat: %d fields, want 3", len(f))
	}
	ns, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return usage{}, fmt.Errorf("parse schedstat: run time: %w", err)
	}
	runs, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return usage{}, fmt.Errorf("parse schedstat: runs: %w", err)
	}
	return usage{cpu: time.Duration(ns), runs: runs}, nil
}

// uptimeTicks reads /proc/uptime in clock ticks, the unit of StartTime.
func (fs procFS) uptimeTicks() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(fs.root, "uptime"))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("parse uptime: empty")
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("parse uptime: %w", err)
	}
	return uint64(secs * userHZ), nil
}

// tally follows the threads of a process tree through a window, from the
// scheduler's nanosecond counts (/proc/PID/task/TID/schedstat) rather
// than stat's 10 ms ticks: a quiet browser may not use one tick in ten
// seconds. Every sample walks the tree again, so a process or thread that
// starts during the window counts from zero and one that ends counts up to
// the last sample that saw it (sample more often to lose less of it).
type tally struct {
	fs          procFS
	root        int
	t0          uint64 // uptimeTicks at the first sample
	first, last map[int]usage
	samples     int
}

// newTally starts a window on root's tree with a first sample.
func (fs procFS) newTally(root int) (*tally, error) {
	t := &tally{fs: fs, root: root, first: map[int]usage{}, last: map[int]usage{}}
	var err error
	if t.t0, err = fs.uptimeTicks(); err != nil {
		return nil, err
	}
	if err := t.sample(); err != nil {
		return nil, err
	}
	if len(t.first) == 0 {
		return nil, fmt.Errorf("process %d is gone", root)
	}
	return t, nil
}

// sample reads every thread of the tree.
func (t *tally) sample() error {
	ps, err := t.fs.tree(t.root)
	if err != nil {
		return err
	}
	for _, p := range ps {
		dir := filepath.Join(t.fs.root, strconv.Itoa(p.PID), "task")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // exited meanwhile
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
			if err != nil {
				continue
			}
			u, err := parseSchedstat(b)
			if err != nil {
				return fmt.Errorf("pid %d tid %d: %w", p.PID, tid, err)
			}
			if _, seen := t.first[tid]; !seen {
				switch {
				case t.samples == 0:
					t.first[tid] = u
				case t.startedSince(dir, e.Name()):
					t.first[tid] = usage{}
				default:
					// Older than the window, yet missed by the first
					// sample: what it used before the window is unknown.
					continue
				}
			}
			t.last[tid] = u
		}
	}
	t.samples++
	return nil
}

// startedSince says whether the thread started after the first sample
// (within a tick).
func (t *tally) startedSince(taskDir, tid string) bool {
	b, err := os.ReadFile(filepath.Join(taskDir, tid, "stat"))
	if err != nil {
		return false
	}
	s, err := parseStat(b)
	return err == nil && s.StartTime+1 >= t.t0
}

// used is what the tree's threads used between the first sample and the
// last.
func (t *tally) used() usage {
	var sum usage
	for tid, u := range t.last {
		d := u.minus(t.first[tid])
		sum.cpu += d.cpu
		sum.runs += d.runs
	}
	return sum
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
