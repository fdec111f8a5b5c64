package sdnotify

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unitFile is hearthd's systemd unit, which relies on this package.
const unitFile = "../../cmd/hearthd/hearthd.service"

// TestUnitFile checks the settings this package's protocol depends on, and
// has systemd-analyze verify the unit when it is installed.
func TestUnitFile(t *testing.T) {
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	s := bufio.NewScanner(strings.NewReader(string(data)))
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			got[k] = v
		}
	}
	for k, want := range map[string]string{
		"Type":           "notify",
		"NotifyAccess":   "main",
		"WatchdogSec":    "30",
		"Restart":        "always",
		"ExecStart":      "/usr/bin/hearthd --config /etc/hearthd/config.json",
		"StateDirectory": "hearthd",
	} {
		if got[k] != want {
			t.Errorf("%s: %s=%q, want %q", unitFile, k, got[k], want)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("HEARTH_REQUIRE_SYSTEMD") != "" {
			t.Fatalf("systemd-analyze not found (%v); install Debian's systemd (.ci/deps.sh base)", err)
		}
		t.Skipf("systemd-analyze not found (%v): unit not verified (set HEARTH_REQUIRE_SYSTEMD=1 to fail instead)", err)
	}
	// verify wants ExecStart's binary to exist: point it at a copy of
	// this test binary.
	dir := t.TempDir()
	bin := filepath.Join(dir, "hearthd")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "hearthd.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(data), "/usr/bin/hearthd", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
