// Package brokertest runs a real Mosquitto with Hearth's shipped broker
// configuration (provisioning/broker: hearth.conf and devices.acl as
// shipped, only the paths and ports changed, every listener bound to
// 127.0.0.1) and the people's files made from an organisation's records
// exactly as hearthctl provision broker-files makes them, for tests of
// anything that talks to the broker as a device or a person: the browser
// page, hearthctl, hearthd.
//
// Needs mosquitto (Debian 12: apt install mosquitto); a test skips without
// it unless HEARTH_REQUIRE_BROKER is set (sync/mqtttest).
package brokertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// Person is one person of the test organisation.
type Person struct {
	ID, Name string
	Admin    bool // a fleet admin (provision person --admin)
	// Screens: device id -> their rights on its allowlist (forced,
	// signalled, send, book, admin).
	Screens map[string][]proto.CallMode
}

// Spec is what Start makes.
type Spec struct {
	People []Person
}

// World is a running broker and the organisation behind it.
type World struct {
	B *mqtttest.Broker
	// Org is the organisation's folder (provision ca init), Conf the
	// broker's folder (what /etc/mosquitto/hearth is in production).
	Org, Conf string
	// The listeners' ports: devices (MQTT/TLS), people (MQTT/TLS), browsers
	// (MQTT over secure WebSockets, password).
	DevicePort, PeoplePort, WSPort int
	// People: id -> their folder (provision person --out: client.crt,
	// client.key, ca.crt, caller.json, caller.key, caller.pub,
	// broker-password) and password.
	People map[string]PersonFiles
	// Roots holds the organisation's CA (Org/ca.crt): what clients trust
	// for the broker's certificate, which names 127.0.0.1 and localhost.
	Roots *x509.CertPool
	// CA is the organisation's CA with its key (devices' certificates);
	// OrgKey signs allowlists.
	CA     provisioning.CA
	OrgKey provisioning.Org

	t testing.TB
}

// PersonFiles is where a person's credentials are.
type PersonFiles struct {
	Dir      string
	Password string
}

// Start makes an organisation with the people in s (each with a
// certificate, a caller key and a broker password), signs each device's
// allowlist from their Screens (recorded in Org/allowlists, not yet
// published: see PublishAllowlists), writes the broker's files from the
// records and starts Mosquitto with the shipped hearth.conf.
func Start(t testing.TB, s Spec) *World {
	t.Helper()
	root := t.TempDir()
	w := &World{t: t, Org: filepath.Join(root, "org"), Conf: filepath.Join(root, "etc"), People: map[string]PersonFiles{}}
	var err error
	if w.OrgKey, err = provisioning.NewOrg(w.Org, "Test Care"); err != nil {
		t.Fatal(err)
	}
	if w.CA, err = provisioning.LoadCA(w.Org); err != nil {
		t.Fatal(err)
	}
	crt, key, err := w.CA.IssueServer([]string{"127.0.0.1", "localhost"}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := provisioning.WriteServerCert(w.Conf, w.CA, crt, key); err != nil {
		t.Fatal(err)
	}
	w.Roots = x509.NewCertPool()
	w.Roots.AppendCertsFromPEM(w.CA.PEM)
	now := time.Now()
	lists := map[string]proto.Allowlist{}
	for _, p := range s.People {
		dir := filepath.Join(root, "people", p.ID)
		name := p.Name
		if name == "" {
			name = p.ID
		}
		pw, err := broker.NewPerson(w.Org, broker.PersonSpec{ID: p.ID, Name: name, Admin: p.Admin, Valid: 24 * time.Hour}, now, dir)
		if err != nil {
			t.Fatal(err)
		}
		w.People[p.ID] = PersonFiles{Dir: dir, Password: pw}
		c, err := provisioning.LoadCaller(dir)
		if err != nil {
			t.Fatal(err)
		}
		for dev, modes := range p.Screens {
			lists[dev] = w.OrgKey.Allow(lists[dev], proto.AllowedCaller{ID: c.ID, Name: c.Name, Key: c.Public(), Mode: modes}, now)
		}
	}
	for dev, a := range lists {
		if err := provisioning.WriteAllowlist(w.Org, dev, a); err != nil {
			t.Fatal(err)
		}
	}
	b, err := broker.Files.ReadFile("devices.acl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Conf, "devices.acl"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	w.Install()
	w.start()
	return w
}

// Install writes the broker's files from the organisation's records into
// Conf, as hearthctl provision broker-files does and an installer copies
// them; Reload or Restart makes the broker read them.
func (w *World) Install() {
	w.t.Helper()
	if _, err := broker.WriteFiles(w.Org, w.Conf); err != nil {
		w.t.Fatal(err)
	}
}

// Conf is the shipped hearth.conf with only its paths and ports changed
// and every listener bound to 127.0.0.1.
func Conf(dir string, dev, people, ws int) (string, error) {
	conf, err := broker.Files.ReadFile("hearth.conf")
	if err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(conf), broker.ConfDir+"/", dir+"/")
	for from, to := range map[int]int{broker.DevicePort: dev, broker.PeoplePort: people, broker.PeopleWSPort: ws} {
		old := fmt.Sprintf("listener %d\n", from)
		if !strings.Contains(s, old) {
			return "", fmt.Errorf("hearth.conf has no %q", old)
		}
		s = strings.Replace(s, old, fmt.Sprintf("listener %d 127.0.0.1\n", to), 1)
	}
	return s, nil
}

func (w *World) start() {
	w.t.Helper()
	w.B = mqtttest.StartConf(w.t, 3, func(ports []int) string {
		w.DevicePort, w.PeoplePort, w.WSPort = ports[0], ports[1], ports[2]
		s, err := Conf(w.Conf, ports[0], ports[1], ports[2])
		if err != nil {
			w.t.Fatal(err)
		}
		return s
	})
}

// Restart stops the broker and starts it again (new ports): every client
// is dropped, the files are read afresh.
func (w *World) Restart() {
	w.t.Helper()
	w.B.Stop()
	w.start()
}

// Reload sends Mosquitto SIGHUP (systemctl reload mosquitto) and waits
// until it has begun to reload: it re-reads ACLs, password files and CRLs.
func (w *World) Reload() {
	w.t.Helper()
	conf := filepath.Join(w.B.Dir, "mosquitto.conf")
	pid := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmd, err := os.ReadFile(p); err == nil && strings.Contains(string(cmd), conf) {
			fmt.Sscan(filepath.Base(filepath.Dir(p)), &pid)
		}
	}
	if pid == 0 {
		w.t.Fatal("no mosquitto process runs " + conf)
	}
	before := strings.Count(w.B.Log(), "Reloading config")
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		w.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); strings.Count(w.B.Log(), "Reloading config") == before; {
		if time.Now().After(deadline) {
			w.t.Fatalf("mosquitto did not reload\n%s", w.B.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DeviceURL, PeopleURL and WSURL are the listeners' addresses. A browser
// logs in on WSURL with its person's id as user name and their password.
func (w *World) DeviceURL() string { return fmt.Sprintf("mqtts://127.0.0.1:%d", w.DevicePort) }
func (w *World) PeopleURL() string { return fmt.Sprintf("mqtts://127.0.0.1:%d", w.PeoplePort) }
func (w *World) WSURL() string     { return fmt.Sprintf("wss://127.0.0.1:%d", w.WSPort) }

// CAFile is the organisation's CA certificate (PEM), which vouches for the
// broker.
func (w *World) CAFile() string { return filepath.Join(w.Org, provisioning.CACertFile) }

// DeviceTLS issues a device certificate for id (as provision new does)
// and returns the client configuration for DeviceURL.
func (w *World) DeviceTLS(id string) *tls.Config {
	w.t.Helper()
	crt, key, err := w.CA.IssueClient(id, 24*time.Hour, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := tls.X509KeyPair(crt, key)
	if err != nil {
		w.t.Fatal(err)
	}
	return &tls.Config{RootCAs: w.Roots, Certificates: []tls.Certificate{c}, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// PersonTLS is the client configuration of person id for PeopleURL (what
// hearthctl --tls DIR makes of their folder).
func (w *World) PersonTLS(id string) *tls.Config {
	w.t.Helper()
	p, ok := w.People[id]
	if !ok {
		w.t.Fatalf("no person %q", id)
	}
	tc, err := provisioning.ClientTLS(filepath.Join(p.Dir, provisioning.CACertFile), filepath.Join(p.Dir, provisioning.ClientCertFile),
		filepath.Join(p.Dir, provisioning.ClientKeyFile), w.PeopleURL())
	if err != nil {
		w.t.Fatal(err)
	}
	return tc
}

// PublishAllowlists publishes every recorded allowlist, retained, as the
// first fleet admin of the Spec: what hearthctl allow --publish does.
func (w *World) PublishAllowlists() {
	w.t.Helper()
	reg, err := provisioning.ReadRegistry(w.Org)
	if err != nil {
		w.t.Fatal(err)
	}
	admin := ""
	for _, p := range reg.People {
		if p.Admin && p.Active() {
			admin = p.ID
			break
		}
	}
	if admin == "" {
		w.t.Fatal("PublishAllowlists needs a fleet admin (Person.Admin) in the Spec")
	}
	lists, err := provisioning.ReadAllowlists(w.Org)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := hsync.DialTLS(ctx, w.PeopleURL(), "brokertest", w.PersonTLS(admin))
	if err != nil {
		w.t.Fatalf("connect as %s: %v\n%s", admin, err, w.B.Log())
	}
	defer conn.Close()
	for dev, a := range lists {
		b, _ := json.Marshal(a)
		if err := conn.Publish(ctx, proto.AllowlistTopic(dev), b, true); err != nil {
			w.t.Fatal(err)
		}
	}
}
