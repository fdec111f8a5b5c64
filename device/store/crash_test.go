package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hearth-home/hearth/sync/proto"
)

const crashEnv = "HEARTH_STORE_CRASH_DIR"

// TestCrashKill runs a writer in a child process (this test binary again),
// kills it with SIGKILL while it is committing, and checks that every item
// the child saw acknowledged is there after reopening, that the lock died
// with the process, and that the crash's leftovers are cleaned up.
func TestCrashKill(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); errors.Is(err, syscall.ENOEXEC) {
		t.Skipf("cannot re-run the test binary (under a user-mode emulator?): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "ACK ")
		if !ok {
			continue
		}
		acked[id] = true
		if len(acked) == 200 && !killed {
			// Lines already in the pipe are still read below.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed: %v\n%s", err, stderr.String())
	}
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child exit = %v, want killed by a signal", err)
	}

	s := openT(t, dir, Options{})
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range all {
		have[r.Item.ID] = true
	}
	for id := range acked {
		if !have[id] {
			t.Errorf("acknowledged item %s lost in the crash", id)
		}
	}
	p := get(t, s, "photo")
	if b, err := os.ReadFile(s.BlobPath(p.Orig)); err != nil || string(b) != "inline bytes" {
		t.Errorf("photo original after crash = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", tmpPrefix+"crash")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file after reopen: %v, want removed", err)
	}
	if n, err := s.GC(); err != nil || n != 1 {
		t.Errorf("GC() after crash = %d, %v; want 1 (the orphan)", n, err)
	}
	t.Logf("%d items acknowledged before the kill, %d stored", len(acked), len(all))
}

// crashChild writes until it is killed. It never returns normally.
func crashChild(dir string) {
	s, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := s.Apply(inline("photo", 1, []byte("inline bytes")), t0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// A blob whose record never came, and a write cut short.
	if _, err := s.WriteBlob([]byte("orphan")); err != nil {
		os.Exit(2)
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs", tmpPrefix+"crash"), []byte("half"), 0o600); err != nil {
		os.Exit(2)
	}
	ids := make(chan string)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Apply(proto.Item{V: 1, ID: id, Device: "dev1", Rev: 1, Kind: proto.KindMessage,
					Text: "x", Start: t0, End: t0.Add(1e12)}, t0); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				ids <- id
			}
		}()
	}
	for id := range ids {
		fmt.Println("ACK " + id)
	}
}
