// Package mqtttest starts a real Mosquitto broker for tests: on a free
// loopback port, in its own process group, killed with its parent, with
// persistence on disk so a restart keeps sessions (as a production broker
// would). A second listener speaks MQTT over WebSockets, for browsers
// (hearthctl web).
package mqtttest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Broker is a running Mosquitto.
type Broker struct {
	Port int
	// WSPort is the MQTT-over-WebSockets listener, for browsers.
	WSPort int
	Dir    string
	// TLSPort is the mutual-TLS listener (StartTLS), 0 without one.
	TLSPort int
	tlsDir  string
	cafile  string // the CAs TLS clients may come from
	cmd     *exec.Cmd
	t       testing.TB
}

// URL is the broker's mqtt:// address.
func (b *Broker) URL() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", b.Port) }

// WSURL is the broker's MQTT-over-WebSockets address, as a browser's MQTT
// client dials it.
func (b *Broker) WSURL() string { return fmt.Sprintf("ws://127.0.0.1:%d", b.WSPort) }

// Start runs Mosquitto for the life of the test, or skips the test when
// mosquitto is not installed and HEARTH_REQUIRE_BROKER is unset.
func Start(t testing.TB) *Broker {
	t.Helper()
	if _, err := exec.LookPath(binary()); err != nil {
		if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
			t.Fatalf("mosquitto not found (%v); run .ci/deps.sh", err)
		}
		t.Skipf("mosquitto not found: %v", err)
	}
	b := &Broker{Dir: t.TempDir(), t: t, Port: freePort(t), WSPort: freePort(t)}
	b.start()
	t.Cleanup(b.Stop)
	return b
}

// StartTLS is Start with a third listener for mqtts:// that requires a
// client certificate and takes its CN as the user name, as production
// brokers do. certDir holds ca.crt, server.crt and server.key (hearthctl
// provision broker-cert). Clients with certificates from the extra CAs
// (PEM files, e.g. the people CA) are accepted too, as the shipped config's
// second listener would.
func StartTLS(t testing.TB, certDir string, extraCAs ...string) *Broker {
	t.Helper()
	if _, err := exec.LookPath(binary()); err != nil {
		if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
			t.Fatalf("mosquitto not found (%v); run .ci/deps.sh", err)
		}
		t.Skipf("mosquitto not found: %v", err)
	}
	b := &Broker{Dir: t.TempDir(), t: t, Port: freePort(t), WSPort: freePort(t), TLSPort: freePort(t), tlsDir: certDir}
	// One cafile: the broker's own CA and the extras, in the broker's dir.
	cas, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		t.Fatalf("broker ca: %v", err)
	}
	for _, f := range extraCAs {
		pem, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("extra ca: %v", err)
		}
		cas = append(cas, pem...)
	}
	b.cafile = filepath.Join(b.Dir, "clients-ca.crt")
	if err := os.WriteFile(b.cafile, cas, 0o644); err != nil {
		t.Fatalf("write cafile: %v", err)
	}
	b.start()
	t.Cleanup(b.Stop)
	return b
}

// TLSURL is the broker's mqtts:// address (StartTLS).
func (b *Broker) TLSURL() string { return fmt.Sprintf("mqtts://127.0.0.1:%d", b.TLSPort) }

func binary() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return "/usr/sbin/mosquitto"
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (b *Broker) start() {
	b.t.Helper()
	conf := filepath.Join(b.Dir, "mosquitto.conf")
	// "user root": started as root Mosquitto would switch to the mosquitto
	// user, which drops the parent-death signal and can leave an orphan
	// holding go test's output open (FIELD-NOTES).
	// The WebSockets listener comes last: "protocol" applies to the
	// listener declared before it.
	cfg := fmt.Sprintf(`user root
listener %d 127.0.0.1
listener %d 127.0.0.1
protocol websockets
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
log_dest file %s/mosquitto.log
log_type error
log_type warning
log_type notice
`, b.Port, b.WSPort, b.Dir, b.Dir)
	if b.TLSPort != 0 {
		// Last, so that its settings apply to this listener only.
		cfg += fmt.Sprintf(`listener %d 127.0.0.1
cafile %s
certfile %s/server.crt
keyfile %s/server.key
require_certificate true
use_identity_as_username true
`, b.TLSPort, b.cafile, b.tlsDir, b.tlsDir)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		b.t.Fatalf("write mosquitto.conf: %v", err)
	}
	cmd := exec.Command(binary(), "-c", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := os.OpenFile(filepath.Join(b.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.t.Fatalf("broker log: %v", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	for _, port := range []int{b.Port, b.WSPort, b.TLSPort} {
		if port == 0 {
			continue
		}
		if !listening(port, 10*time.Second) {
			b.t.Fatalf("mosquitto did not listen on %d: %s", port, b.Log())
		}
	}
}

func listening(port int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Stop shuts the broker down (SIGTERM, so it saves its persistence file)
// and waits for it. Stopping twice is harmless.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	b.cmd = nil
}

// Restart stops the broker and starts it again on the same port with the
// same persistence.
func (b *Broker) Restart() {
	b.Stop()
	b.start()
}

// Log returns the broker's log, for failure messages.
func (b *Broker) Log() string {
	var sb strings.Builder
	for _, name := range []string{"mosquitto.log", "stdout.log"} {
		f, err := os.Open(filepath.Join(b.Dir, name))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			sb.WriteString(s.Text())
			sb.WriteByte('\n')
		}
		f.Close()
	}
	return sb.String()
}
