package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// world is a running broker with the shipped configuration and the
// certificates of two devices, a caller, a sender and an admin.
type world struct {
	b               *mqtttest.Broker
	dev, people, ws int
	orgCA           *x509.CertPool
	conf, org       string
	ca              provisioning.CA
}

// The people in people.acl's user blocks, as an installer would add them.
const testUsers = `
user fam-ole
topic readwrite hearth/v1/dev/dev-a/content/+
topic read hearth/v1/dev/dev-a/inventory
topic read hearth/v1/dev/dev-a/activity/+

user admin-eva
topic read hearth/v1/dev/#
topic readwrite hearth/v1/dev/+/content/+
topic readwrite hearth/v1/dev/+/allowlist
topic write hearth/v1/dev/+/admin
`

// mosquittoPasswd finds mosquitto_passwd (Debian's mosquitto package has
// it in /usr/bin). Without it the test skips, unless HEARTH_REQUIRE_BROKER
// says the broker tests must run: then a missing tool is a failure, not a
// quiet pass.
func mosquittoPasswd(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto_passwd"); err == nil {
		return p
	}
	const debian = "/usr/bin/mosquitto_passwd"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	if os.Getenv("HEARTH_REQUIRE_BROKER") != "" {
		t.Fatal("mosquitto_passwd not found (HEARTH_REQUIRE_BROKER is set); install Debian's mosquitto package: run .ci/deps.sh")
	}
	t.Skip("mosquitto_passwd not installed")
	return ""
}

func newWorld(t *testing.T) *world {
	t.Helper()
	passwd := mosquittoPasswd(t)
	root := t.TempDir()
	w := &world{org: filepath.Join(root, "org"), conf: filepath.Join(root, "etc")}
	if _, err := provisioning.NewOrg(w.org, "Acme Care"); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.ca, err = provisioning.LoadCA(w.org); err != nil {
		t.Fatal(err)
	}
	// What hearthctl provision broker-cert writes: ca.crt, server.crt, server.key.
	crt, key, err := w.ca.IssueServer([]string{"127.0.0.1", "localhost"}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := provisioning.WriteServerCert(w.conf, w.ca, crt, key); err != nil {
		t.Fatal(err)
	}
	w.orgCA = x509.NewCertPool()
	w.orgCA.AppendCertsFromPEM(w.ca.PEM)
	people, err := provisioning.PeopleCA(w.org)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(w.conf, PeopleCAFile), people.PEM, 0o644))
	for _, name := range []string{"devices.acl", "people.acl"} {
		b, err := Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "people.acl" {
			b = append(b, testUsers...)
		}
		must(t, os.WriteFile(filepath.Join(w.conf, name), b, 0o644))
	}
	pw := filepath.Join(w.conf, "people.passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pw, "anna", "anna-secret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	must(t, os.Chmod(pw, 0o600))

	w.installCRLs(t)
	w.start(t)
	return w
}

// installCRLs copies the organisation's CRLs to where hearth.conf's
// crlfile lines expect them, as an installer does after provision revoke.
func (w *world) installCRLs(t *testing.T) {
	t.Helper()
	for from, to := range map[string]string{
		filepath.Join(w.org, provisioning.CRLFile):                         CRLFile,
		filepath.Join(w.org, provisioning.PeopleDir, provisioning.CRLFile): PeopleCRLFile,
	} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(w.conf, to), b, 0o644))
	}
}

// start runs Mosquitto with the shipped hearth.conf on fresh ports; a
// second start after w.b.Stop is a broker restart.
func (w *world) start(t *testing.T) {
	t.Helper()
	conf, err := Files.ReadFile("hearth.conf")
	if err != nil {
		t.Fatal(err)
	}
	w.b = mqtttest.StartConf(t, 3, func(ports []int) string {
		w.dev, w.people, w.ws = ports[0], ports[1], ports[2]
		// Only the paths and the ports change; every other line is as shipped.
		s := strings.ReplaceAll(string(conf), ConfDir+"/", w.conf+"/")
		for from, to := range map[int]int{DevicePort: w.dev, PeoplePort: w.people, PeopleWSPort: w.ws} {
			old := fmt.Sprintf("listener %d\n", from)
			if !strings.Contains(s, old) {
				t.Fatalf("hearth.conf has no %q", old)
			}
			s = strings.Replace(s, old, fmt.Sprintf("listener %d 127.0.0.1\n", to), 1)
		}
		return s
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// deviceCert is a device's certificate as hearthctl provision new issues it.
func (w *world) deviceCert(t *testing.T, ca provisioning.CA, id string, valid time.Duration, now time.Time) tls.Certificate {
	t.Helper()
	crt, key, err := ca.IssueClient(id, valid, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// personCert is a person's certificate as broker.IssuePerson writes it for hearthctl --tls.
func (w *world) personCert(t *testing.T, id string) tls.Certificate {
	t.Helper()
	dir := filepath.Join(t.TempDir(), id)
	if err := IssuePerson(w.org, id, 24*time.Hour, time.Now(), dir); err != nil {
		t.Fatal(err)
	}
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, provisioning.ClientCertFile), filepath.Join(dir, provisioning.ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type client struct {
	mqtt.Client
	got chan mqtt.Message
}

func (w *world) connect(url, id string, cert *tls.Certificate, user, pass string) (*client, error) {
	tc := &tls.Config{RootCAs: w.orgCA, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	c := &client{got: make(chan mqtt.Message, 100)}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetTLSConfig(tc).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { c.got <- m })
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c.Client = mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s: timeout", id)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

func (w *world) mustConnect(t *testing.T, url, id string, cert *tls.Certificate) *client {
	t.Helper()
	c, err := w.connect(url, id, cert, "", "")
	if err != nil {
		t.Fatalf("connect %s to %s = %v\n%s", id, url, err, w.b.Log())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func (c *client) sub(t *testing.T, filter string) {
	t.Helper()
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s = %v", filter, tok.Error())
	}
}

func (c *client) pub(t *testing.T, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s = %v", topic, tok.Error())
	}
}

// expectOnly waits for the marker topic and fails on anything that came
// before it. Mosquitto keeps one publisher's QoS 1 messages in order, so
// a refused message published before the marker would have arrived first.
func (c *client) expectOnly(t *testing.T, who, marker string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.got:
			if m.Topic() == marker {
				return
			}
			t.Errorf("%s received %s (%q), which the ACL should have stopped", who, m.Topic(), m.Payload())
		case <-deadline:
			t.Fatalf("%s: marker %s never arrived", who, marker)
		}
	}
}

func (w *world) devURL() string    { return fmt.Sprintf("ssl://127.0.0.1:%d", w.dev) }
func (w *world) peopleURL() string { return fmt.Sprintf("ssl://127.0.0.1:%d", w.people) }
func (w *world) wsURL() string     { return fmt.Sprintf("wss://127.0.0.1:%d", w.ws) }

// TestShippedConfigACL runs the shipped hearth.conf, devices.acl and
// people.acl and checks each role's reach on the wire.
func TestShippedConfigACL(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	certA := w.deviceCert(t, w.ca, "dev-a", 24*time.Hour, now)
	certB := w.deviceCert(t, w.ca, "dev-b", 24*time.Hour, now)
	anna, ole, eva := w.personCert(t, "anna"), w.personCert(t, "fam-ole"), w.personCert(t, "admin-eva")

	a := w.mustConnect(t, w.devURL(), "hearthd-dev-a", &certA)
	b := w.mustConnect(t, w.devURL(), "hearthd-dev-b", &certB)
	admin := w.mustConnect(t, w.peopleURL(), "hearthctl-eva", &eva)
	caller := w.mustConnect(t, w.peopleURL(), "hearthctl-anna", &anna)
	sender := w.mustConnect(t, w.peopleURL(), "hearthctl-ole", &ole)
	admin.sub(t, "hearth/v1/dev/#")

	t.Run("device reads only its own subtree", func(t *testing.T) {
		a.sub(t, "hearth/v1/dev/#")
		admin.pub(t, "hearth/v1/dev/dev-b/content/p1", "for b")
		admin.pub(t, "hearth/v1/dev/dev-b/admin", "for b")
		admin.pub(t, "hearth/v1/dev/dev-a/content/p1", "for a")
		a.expectOnly(t, "dev-a", "hearth/v1/dev/dev-a/content/p1")
		drain(admin)
	})
	t.Run("device writes only its own reports", func(t *testing.T) {
		for _, topic := range []string{
			"hearth/v1/dev/dev-b/state", "hearth/v1/dev/dev-b/heartbeat", "hearth/v1/dev/dev-b/content/x",
			"hearth/v1/dev/dev-b/call/in", "hearth/v1/dev/dev-b/call/out/anna", "hearth/v1/dev/dev-a/content/x",
			"hearth/v1/dev/dev-a/allowlist", "hearth/v1/dev/dev-a/admin", "hearth/v1/other",
		} {
			a.pub(t, topic, "forged by a")
		}
		a.pub(t, "hearth/v1/dev/dev-a/heartbeat", "a's own")
		admin.expectOnly(t, "admin", "hearth/v1/dev/dev-a/heartbeat")
	})
	t.Run("caller cannot publish status or content", func(t *testing.T) {
		for _, topic := range []string{
			"hearth/v1/dev/dev-a/state", "hearth/v1/dev/dev-a/heartbeat", "hearth/v1/dev/dev-a/availability",
			"hearth/v1/dev/dev-a/content/x", "hearth/v1/dev/dev-a/allowlist", "hearth/v1/dev/dev-a/admin",
			"hearth/v1/dev/dev-a/call/out/anna",
		} {
			caller.pub(t, topic, "forged by anna")
		}
		caller.pub(t, "hearth/v1/dev/dev-a/call/in", "an invite")
		admin.expectOnly(t, "admin", "hearth/v1/dev/dev-a/call/in")
	})
	t.Run("nothing above the device's payload limit passes", func(t *testing.T) {
		// message_size_limit: a flood of huge invites is dropped at the
		// broker; the largest payload a device takes still passes.
		caller.pub(t, "hearth/v1/dev/dev-a/call/in", strings.Repeat("x", proto.MaxPayload+1))
		caller.pub(t, "hearth/v1/dev/dev-a/call/in", strings.Repeat("y", proto.MaxPayload))
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-admin.got:
				if len(m.Payload()) > proto.MaxPayload {
					t.Fatalf("a payload of %d bytes passed the broker", len(m.Payload()))
				}
				if m.Topic() == "hearth/v1/dev/dev-a/call/in" && len(m.Payload()) == proto.MaxPayload {
					return
				}
			case <-deadline:
				t.Fatalf("the largest payload a device takes (%d bytes) did not pass\n%s", proto.MaxPayload, w.b.Log())
			}
		}
	})
	t.Run("caller reads only replies to itself", func(t *testing.T) {
		caller.sub(t, "hearth/v1/dev/#")
		b.pub(t, "hearth/v1/dev/dev-b/call/out/bob", "for bob")
		b.pub(t, "hearth/v1/dev/dev-b/heartbeat", "b's heartbeat")
		b.pub(t, "hearth/v1/dev/dev-b/call/out/anna", "for anna")
		caller.expectOnly(t, "anna", "hearth/v1/dev/dev-b/call/out/anna")
		drain(admin)
	})
	t.Run("sender writes content to its own screen only", func(t *testing.T) {
		sender.pub(t, "hearth/v1/dev/dev-b/content/x", "not ole's screen")
		sender.pub(t, "hearth/v1/dev/dev-a/state", "forged by ole")
		sender.pub(t, "hearth/v1/dev/dev-a/content/x", "for mum")
		admin.expectOnly(t, "admin", "hearth/v1/dev/dev-a/content/x")
	})
	t.Run("a device cannot take another's session", func(t *testing.T) {
		// use_username_as_clientid: the client id a device asks for is
		// replaced by its CN, so dev-a asking for dev-b's does not kick it.
		a2 := w.mustConnect(t, w.devURL(), "dev-b", &certA)
		a2.Disconnect(50)
		b.pub(t, "hearth/v1/dev/dev-b/heartbeat", "still here")
		if !b.IsConnectionOpen() {
			t.Fatal("dev-b lost its connection when dev-a used its client id")
		}
		admin.expectOnly(t, "admin", "hearth/v1/dev/dev-b/heartbeat")
	})
	t.Run("browser caller over secure WebSockets", func(t *testing.T) {
		c, err := w.connect(w.wsURL(), "web-anna", nil, "anna", "anna-secret")
		if err != nil {
			t.Fatalf("wss as anna = %v\n%s", err, w.b.Log())
		}
		defer c.Disconnect(50)
		c.sub(t, "hearth/v1/dev/+/call/out/+")
		c.pub(t, "hearth/v1/dev/dev-a/state", "forged over wss")
		c.pub(t, "hearth/v1/dev/dev-a/call/in", "invite over wss")
		admin.expectOnly(t, "admin", "hearth/v1/dev/dev-a/call/in")
		b.pub(t, "hearth/v1/dev/dev-b/call/out/bob", "for bob")
		b.pub(t, "hearth/v1/dev/dev-b/call/out/anna", "for anna")
		c.expectOnly(t, "web anna", "hearth/v1/dev/dev-b/call/out/anna")
		if c, err := w.connect(w.wsURL(), "web-x", nil, "anna", "wrong"); err == nil {
			c.Disconnect(50)
			t.Error("wss with a wrong password was accepted")
		}
		if c, err := w.connect(w.wsURL(), "web-y", nil, "", ""); err == nil {
			c.Disconnect(50)
			t.Error("wss without a login was accepted")
		}
	})
}

func drain(c *client) {
	for {
		select {
		case <-c.got:
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// TestShippedConfigRefuses: certificates the broker must not accept.
func TestShippedConfigRefuses(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	cases := []struct {
		name string
		url  string
		cert *tls.Certificate
	}{
		{"expired device certificate", w.devURL(), ptr(w.deviceCert(t, w.ca, "dev-a", 24*time.Hour, now.AddDate(0, 0, -3)))},
		{"no certificate", w.devURL(), nil},
		{"device certificate at the people's door", w.peopleURL(), ptr(w.deviceCert(t, w.ca, "anna", 24*time.Hour, now))},
		{"person's certificate at the devices' door", w.devURL(), ptr(w.personCert(t, "dev-a"))},
	}
	foreignDir := filepath.Join(t.TempDir(), "foreign")
	if _, err := provisioning.NewOrg(foreignDir, "Foreign"); err != nil {
		t.Fatal(err)
	}
	foreign, err := provisioning.LoadCA(foreignDir)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		url  string
		cert *tls.Certificate
	}{"foreign CA's device certificate", w.devURL(), ptr(w.deviceCert(t, foreign, "dev-a", 24*time.Hour, now))})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := w.connect(tc.url, "x", tc.cert, "", "")
			if err == nil {
				c.Disconnect(50)
				t.Fatalf("connect with %s succeeded", tc.name)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func ptr[T any](v T) *T { return &v }
