package broker_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	"github.com/hearth-home/hearth/provisioning/broker/brokertest"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// world is a running broker with the shipped configuration
// (brokertest) and the people's files made from the organisation's
// records: anna calls dev-a and dev-b, fam-ole sends to dev-a, admin-eva
// is a fleet admin.
type world struct {
	*brokertest.World
	b               *mqtttest.Broker
	dev, people, ws int
	orgCA           *x509.CertPool
	conf, org       string
	ca              provisioning.CA
}

var testPeople = brokertest.Spec{People: []brokertest.Person{
	{ID: "anna", Name: "Anna", Screens: map[string][]proto.CallMode{
		"dev-a": {proto.ModeSignalled}, "dev-b": {proto.ModeSignalled}}},
	{ID: "fam-ole", Name: "Ole", Screens: map[string][]proto.CallMode{"dev-a": {proto.RightSend}}},
	{ID: "admin-eva", Name: "Eva", Admin: true},
}}

func newWorld(t *testing.T) *world {
	return newWorldOf(t, testPeople)
}

func newWorldOf(t *testing.T, s brokertest.Spec) *world {
	t.Helper()
	w := &world{World: brokertest.Start(t, s)}
	w.sync()
	return w
}

// sync copies the running broker's fields (after a start or restart).
func (w *world) sync() {
	w.b, w.dev, w.people, w.ws = w.B, w.DevicePort, w.PeoplePort, w.WSPort
	w.orgCA, w.conf, w.org, w.ca = w.Roots, w.Conf, w.Org, w.CA
}

// installCRLs writes the broker's files from the records (CRLs, ACL,
// passwords), as an installer copies them after provision revoke.
func (w *world) installCRLs(t *testing.T) {
	t.Helper()
	w.Install()
}

// start restarts the broker (a second start after w.b.Stop is a restart).
func (w *world) start(t *testing.T) {
	t.Helper()
	w.Restart()
	w.sync()
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

// personCert is a person's certificate as broker.IssuePerson writes it
// for hearthctl --tls: the one provision person made for a person of the
// world, a new one for anyone else.
func (w *world) personCert(t *testing.T, id string) tls.Certificate {
	t.Helper()
	dir := filepath.Join(t.TempDir(), id)
	if p, ok := w.World.People[id]; ok {
		dir = p.Dir
	} else if err := broker.IssuePerson(w.org, id, 24*time.Hour, time.Now(), dir); err != nil {
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
		b.pub(t, "hearth/v1/dev/dev-b/inventory", "b's inventory") // anna does not send to dev-b
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
		c, err := w.connect(w.wsURL(), "web-anna", nil, "anna", w.World.People["anna"].Password)
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
