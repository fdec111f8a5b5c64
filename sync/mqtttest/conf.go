package mqtttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a loopback port that was free a moment ago, for the
// listeners of StartConf.
func FreePort(t testing.TB) int { return freePort(t) }

// StartConf runs Mosquitto with the configuration conf (a shipped file
// with its paths and ports filled in) for the life of the test and waits
// until every port in ports listens. Parent-death signal, its own process
// group and "user root" as Start does; logging goes to Dir. Restart is not
// for these brokers: it would start Start's configuration.
func StartConf(t testing.TB, conf string, ports ...int) *Broker {
	t.Helper()
	if _, err := exec.LookPath(binary()); err != nil {
		if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
			t.Fatalf("mosquitto not found (%v); run .ci/deps.sh", err)
		}
		t.Skipf("mosquitto not found: %v", err)
	}
	b := &Broker{Dir: t.TempDir(), t: t}
	if len(ports) > 0 {
		b.Port = ports[0]
	}
	head := fmt.Sprintf("user root\nlog_dest file %s/mosquitto.log\nlog_type all\n", b.Dir)
	path := filepath.Join(b.Dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(head+conf), 0o600); err != nil {
		t.Fatalf("write mosquitto.conf: %v", err)
	}
	cmd := exec.Command(binary(), "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := os.OpenFile(filepath.Join(b.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("broker log: %v", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	t.Cleanup(b.Stop)
	for _, port := range ports {
		if !listening(port, 10*time.Second) {
			t.Fatalf("mosquitto did not listen on %d: %s", port, b.Log())
		}
	}
	return b
}
