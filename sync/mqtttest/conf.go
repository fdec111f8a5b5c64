package mqtttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StartConf runs Mosquitto with the configuration that conf returns for n
// fresh ports (a shipped file with its paths and ports filled in) for the
// life of the test, and waits until every port listens; Port is the first.
// A broker that cannot open its listeners is tried again on other ports.
// Parent-death signal, its own process group and "user root" as Start
// does; logging goes to Dir. Restart is not for these brokers: it would
// start Start's configuration.
func StartConf(t testing.TB, n int, conf func(ports []int) string) *Broker {
	t.Helper()
	if _, err := exec.LookPath(binary()); err != nil {
		if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
			t.Fatalf("mosquitto not found (%v); run .ci/deps.sh", err)
		}
		t.Skipf("mosquitto not found: %v", err)
	}
	b := &Broker{Dir: t.TempDir(), t: t}
	t.Cleanup(b.Stop)
	var err error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		ports := FreePorts(t, n)
		b.Port = ports[0]
		head := "user root\nlog_dest file " + b.Dir + "/mosquitto.log\nlog_type all\n"
		path := filepath.Join(b.Dir, "mosquitto.conf")
		if err := os.WriteFile(path, []byte(head+conf(ports)), 0o600); err != nil {
			t.Fatalf("write mosquitto.conf: %v", err)
		}
		if err = b.run(path, ports...); err == nil {
			return b
		}
		b.Stop()
	}
	t.Fatal(err)
	return nil
}
