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
	exited  chan struct{} // closed when cmd has exited
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
	needBinary(t)
	b := &Broker{Dir: t.TempDir(), t: t}
	b.startFresh(2)
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
	needBinary(t)
	b := &Broker{Dir: t.TempDir(), t: t, tlsDir: certDir}
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
	b.startFresh(3)
	t.Cleanup(b.Stop)
	return b
}

// TLSURL is the broker's mqtts:// address (StartTLS).
func (b *Broker) TLSURL() string { return fmt.Sprintf("mqtts://127.0.0.1:%d", b.TLSPort) }

// needBinary skips the test when mosquitto is not installed, or fails it
// when HEARTH_REQUIRE_BROKER is set.
func needBinary(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(binary()); err != nil {
		if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
			t.Fatalf("mosquitto not found (%v); run .ci/deps.sh", err)
		}
		t.Skipf("mosquitto not found: %v", err)
	}
}

func binary() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return "/usr/sbin/mosquitto"
}

// startFresh starts the broker on n new ports (plain, WebSockets and, with
// 3, TLS). A port that was free a moment ago can be taken before Mosquitto
// binds it (by another test's outgoing connection, say), so a broker that
// cannot listen is tried again on other ports.
func (b *Broker) startFresh(n int) {
	b.t.Helper()
	var err error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		ports := FreePorts(b.t, n)
		b.Port, b.WSPort = ports[0], ports[1]
		if n > 2 {
			b.TLSPort = ports[2]
		}
		if err = b.start(); err == nil {
			return
		}
		b.Stop()
	}
	b.t.Fatal(err)
}

// bindAttempts is how often a broker is started on fresh ports before a
// test gives up.
const bindAttempts = 3

// FreePorts returns n distinct loopback ports that were free a moment ago.
// The listeners are held until all n are chosen, so the kernel cannot hand
// out one port twice.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

func (b *Broker) start() error {
	b.t.Helper()
	conf := filepath.Join(b.Dir, "mosquitto.conf")
	c := Conf{Dir: b.Dir, Port: b.Port, WSPort: b.WSPort, Autosave: time.Second}
	if b.TLSPort != 0 {
		// Last, so that its settings apply to this listener only.
		c.Extra = fmt.Sprintf(`listener %d 127.0.0.1
cafile %s
certfile %s/server.crt
keyfile %s/server.key
require_certificate true
use_identity_as_username true
`, b.TLSPort, b.cafile, b.tlsDir, b.tlsDir)
	}
	if err := os.WriteFile(conf, []byte(c.String()), 0o600); err != nil {
		b.t.Fatalf("write mosquitto.conf: %v", err)
	}
	return b.run(conf, b.Port, b.WSPort, b.TLSPort)
}

// run starts Mosquitto with the configuration file conf and waits until it
// listens on every non-zero port. A broker that exits or does not listen is
// an error with its log; the caller stops it.
func (b *Broker) run(conf string, ports ...int) error {
	b.t.Helper()
	before := b.logSizes()
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
	b.exited = make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(b.exited)
	for _, port := range ports {
		if port == 0 {
			continue
		}
		if !b.listening(port, 10*time.Second) {
			return fmt.Errorf("mosquitto did not listen on %d: %s", port, b.logSince(before))
		}
	}
	// Mosquitto 2.0 goes on after a listener it could not open (the
	// WebSockets one, at least), so a port that answers may be someone
	// else's: its log says.
	if fresh := b.logSince(before); strings.Contains(fresh, "Unable to create") || strings.Contains(fresh, "Address already in use") {
		return fmt.Errorf("mosquitto could not open a listener: %s", fresh)
	}
	return nil
}

var logNames = []string{"mosquitto.log", "stdout.log"}

// logSizes is how far each log file has grown, so that a restarted
// broker's new lines can be told from its earlier runs'.
func (b *Broker) logSizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, name := range logNames {
		if fi, err := os.Stat(filepath.Join(b.Dir, name)); err == nil {
			sizes[name] = fi.Size()
		}
	}
	return sizes
}

// logSince is what the logs gained after logSizes returned sizes.
func (b *Broker) logSince(sizes map[string]int64) string {
	var sb strings.Builder
	for _, name := range logNames {
		data, err := os.ReadFile(filepath.Join(b.Dir, name))
		if err != nil || int64(len(data)) < sizes[name] {
			continue
		}
		sb.Write(data[sizes[name]:])
	}
	return sb.String()
}

// listening waits until port accepts connections, the broker exits or
// within has passed.
func (b *Broker) listening(port int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			return false
		default:
		}
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
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.exited
	}
	b.cmd = nil
}

// Restart stops the broker and starts it again on the same port with the
// same persistence.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.StartAgain()
}

// StartAgain starts a stopped broker again on the same ports with the same
// persistence: Restart for a test that keeps the broker down a while. A
// port taken meanwhile fails the test.
func (b *Broker) StartAgain() {
	b.t.Helper()
	if err := b.start(); err != nil {
		b.t.Fatal(err)
	}
}

// Log returns the broker's log, for failure messages.
func (b *Broker) Log() string {
	var sb strings.Builder
	for _, name := range logNames {
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
