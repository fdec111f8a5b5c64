package mqtttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Conf is the Mosquitto configuration of the test brokers (Start,
// StartTLS) and of the bench's (cmd/hearthbench): the one place that knows
// what a broker run by a test needs. "user root": started as root,
// Mosquitto would switch to the mosquitto user, which drops the
// parent-death signal and can leave an orphan holding go test's output open
// (FIELD-NOTES). Listeners are on 127.0.0.1 only; anonymous clients are
// allowed.
type Conf struct {
	// Dir holds the log (mosquitto.log) and the persistence file.
	Dir string
	// Port is the plain MQTT listener.
	Port int
	// WSPort is a listener for MQTT over WebSockets (browsers); 0: none.
	WSPort int
	// Autosave is how often the persistence file is written (rounded
	// up to whole seconds); 0: no persistence.
	Autosave time.Duration
	// MaxQueued is how many QoS 1 messages are queued for a client;
	// 0 is 100000.
	MaxQueued int
	// Quiet logs errors and warnings only, not a line per connection:
	// for fleets of thousands.
	Quiet bool
	// Extra is appended: further settings, or a listener with settings
	// of its own (which must come last).
	Extra string
}

// String is the configuration file's text.
func (c Conf) String() string {
	var b strings.Builder
	b.WriteString("user root\n")
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", c.Port)
	if c.WSPort != 0 {
		// "protocol" applies to the listener declared just before it.
		fmt.Fprintf(&b, "listener %d 127.0.0.1\nprotocol websockets\n", c.WSPort)
	}
	b.WriteString("allow_anonymous true\n")
	if c.Autosave > 0 {
		secs := max(1, int((c.Autosave+time.Second-1)/time.Second))
		fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval %d\n", c.Dir, secs)
	} else {
		b.WriteString("persistence false\n")
	}
	queued := c.MaxQueued
	if queued == 0 {
		queued = 100000
	}
	fmt.Fprintf(&b, "max_queued_messages %d\nmax_inflight_messages 100\n", queued)
	fmt.Fprintf(&b, "log_dest file %s/mosquitto.log\nlog_type error\nlog_type warning\n", c.Dir)
	if !c.Quiet {
		b.WriteString("log_type notice\n")
	}
	b.WriteString(c.Extra)
	return b.String()
}

// StartConf runs Mosquitto with the configuration that conf returns for n
// fresh ports (a shipped file with its paths and ports filled in) for the
// life of the test, and waits until every port listens; Port is the first.
// A broker that cannot open its listeners is tried again on other ports.
// Parent-death signal, its own process group and "user root" as Start
// does; logging goes to Dir. Restart is not for these brokers: it would
// start Start's configuration.
func StartConf(t testing.TB, n int, conf func(ports []int) string) *Broker {
	t.Helper()
	needBinary(t)
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
