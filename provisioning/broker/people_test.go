package broker_test

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	"github.com/hearth-home/hearth/provisioning/broker/brokertest"
	"github.com/hearth-home/hearth/sync/proto"
)

// The people of the reach tests: anna calls dev-a, ole sends to dev-b and
// books on it, ida is an admin of dev-c, eva a fleet admin; dev-d has no
// one but eva.
var reachPeople = brokertest.Spec{People: []brokertest.Person{
	{ID: "anna", Screens: map[string][]proto.CallMode{"dev-a": {proto.ModeSignalled}}},
	{ID: "ole", Screens: map[string][]proto.CallMode{"dev-b": {proto.RightSend, proto.RightBook}}},
	{ID: "ida", Screens: map[string][]proto.CallMode{"dev-c": {proto.RightAdmin}}},
	{ID: "eva", Admin: true},
}}

// collect gathers what c receives until nothing came for quiet.
func collect(c *client, quiet time.Duration) map[string]string {
	got := map[string]string{}
	for {
		select {
		case m := <-c.got:
			got[m.Topic()] = string(m.Payload())
		case <-time.After(quiet):
			return got
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestPeopleSeeOnlyTheirScreens: with people.acl made from the records, a
// person reads the availability, state, heartbeat and allowlist of the
// screens they are on and nothing of the others'; the inventory and
// activity only where they may send.
func TestPeopleSeeOnlyTheirScreens(t *testing.T) {
	w := newWorldOf(t, reachPeople)
	w.PublishAllowlists()
	devs := map[string]*client{}
	for _, d := range []string{"dev-a", "dev-b", "dev-c", "dev-d"} {
		cert := w.deviceCert(t, w.ca, d, time.Hour, time.Now())
		devs[d] = w.mustConnect(t, w.devURL(), "hearthd-"+d, &cert)
		for _, sub := range []string{"availability", "state", "heartbeat", "inventory", "activity/e1"} {
			tok := devs[d].Publish("hearth/v1/dev/"+d+"/"+sub, 1, true, d+" "+sub)
			tok.Wait()
			must(t, tok.Error())
		}
	}
	want := map[string][]string{
		"anna": {"dev-a/allowlist", "dev-a/availability", "dev-a/heartbeat", "dev-a/state"},
		"ole": {"dev-b/activity/e1", "dev-b/allowlist", "dev-b/availability", "dev-b/heartbeat",
			"dev-b/inventory", "dev-b/state"},
		"ida": {"dev-c/activity/e1", "dev-c/allowlist", "dev-c/availability", "dev-c/heartbeat",
			"dev-c/inventory", "dev-c/state"},
	}
	for who, topics := range want {
		t.Run(who, func(t *testing.T) {
			cert := w.personCert(t, who)
			c := w.mustConnect(t, w.peopleURL(), "x", &cert)
			c.sub(t, "hearth/v1/dev/#")
			got := keys(collect(c, 700*time.Millisecond))
			for i := range topics {
				topics[i] = "hearth/v1/dev/" + topics[i]
			}
			if !slices.Equal(got, topics) {
				t.Errorf("%s reads %q\nwant %q", who, got, topics)
			}
			// Over the browser listener with their password: the same.
			wc, err := w.connect(w.wsURL(), "page", nil, who, w.World.People[who].Password)
			if err != nil {
				t.Fatalf("%s over wss: %v", who, err)
			}
			defer wc.Disconnect(50)
			wc.sub(t, "hearth/v1/dev/+/availability")
			if got := keys(collect(wc, 700*time.Millisecond)); len(got) != 1 || !strings.HasPrefix(got[0], topics[0][:len("hearth/v1/dev/dev-x")]) {
				t.Errorf("%s over wss reads the availability of %q", who, got)
			}
		})
	}
	t.Run("fleet admin reads all", func(t *testing.T) {
		cert := w.personCert(t, "eva")
		c := w.mustConnect(t, w.peopleURL(), "x", &cert)
		c.sub(t, "hearth/v1/dev/+/availability")
		if got := keys(collect(c, 700*time.Millisecond)); len(got) != 4 {
			t.Errorf("eva reads the availability of %q, want all four", got)
		}
	})
}

// TestPeopleWriteOnlyTheirRights: a sender writes content only to their
// screens, a caller calls only theirs, bookings only where one may book.
func TestPeopleWriteOnlyTheirRights(t *testing.T) {
	w := newWorldOf(t, reachPeople)
	eva := w.personCert(t, "eva")
	admin := w.mustConnect(t, w.peopleURL(), "x", &eva)
	admin.sub(t, "hearth/v1/dev/#")
	anna, ole, ida := w.personCert(t, "anna"), w.personCert(t, "ole"), w.personCert(t, "ida")
	ca := w.mustConnect(t, w.peopleURL(), "x", &anna)
	co := w.mustConnect(t, w.peopleURL(), "x", &ole)
	ci := w.mustConnect(t, w.peopleURL(), "x", &ida)
	for c, topics := range map[*client][]string{
		ca: {"dev-a/content/x", "dev-a/booking", "dev-b/call/in", "dev-a/allowlist", "dev-a/state", "dev-a/admin", "dev-a/call/out/anna"},
		co: {"dev-a/content/x", "dev-b/call/in", "dev-a/booking", "dev-b/allowlist", "dev-b/inventory"},
		ci: {"dev-a/content/x", "dev-c/call/in", "dev-c/allowlist", "dev-c/admin"},
	} {
		for _, tp := range topics {
			c.pub(t, "hearth/v1/dev/"+tp, "refused")
		}
	}
	ca.pub(t, "hearth/v1/dev/dev-a/call/in", "anna calls a")
	co.pub(t, "hearth/v1/dev/dev-b/content/x", "ole sends to b")
	co.pub(t, "hearth/v1/dev/dev-b/booking", "ole books on b")
	ci.pub(t, "hearth/v1/dev/dev-c/content/y", "ida sends to c")
	got := collect(admin, 700*time.Millisecond)
	want := []string{"hearth/v1/dev/dev-a/call/in", "hearth/v1/dev/dev-b/booking", "hearth/v1/dev/dev-b/content/x", "hearth/v1/dev/dev-c/content/y"}
	if !slices.Equal(keys(got), want) {
		t.Errorf("the broker passed %q\nwant %q", keys(got), want)
	}
}

// TestClientIDIsTheUserName: on the people's listeners the client id is
// the user name, so anna asking for ole's client id does not knock ole
// off; anna's own second session takes over her first.
func TestClientIDIsTheUserName(t *testing.T) {
	w := newWorldOf(t, reachPeople)
	anna, ole := w.personCert(t, "anna"), w.personCert(t, "ole")
	co := w.mustConnect(t, w.peopleURL(), "ole", &ole)
	a1 := w.mustConnect(t, w.peopleURL(), "ole", &anna)
	a2, err := w.connect(w.wsURL(), "ole", nil, "anna", w.World.People["anna"].Password)
	must(t, err)
	defer a2.Disconnect(50)
	time.Sleep(300 * time.Millisecond)
	if !co.IsConnectionOpen() {
		t.Fatalf("ole was knocked off by anna asking for his client id\n%s", w.b.Log())
	}
	// anna's page (client id "anna" whatever it asked) took over her
	// certificate session: one session per person.
	for deadline := time.Now().Add(3 * time.Second); a1.IsConnectionOpen(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("anna's second session did not take over her first\n%s", w.b.Log())
		}
	}
	if !strings.Contains(w.b.Log(), "Client anna already connected, closing old connection") {
		t.Errorf("the broker's log does not say anna's session was taken over:\n%s", w.b.Log())
	}
}

// listenAddrs returns the local addresses listening on port, from
// /proc/net/tcp and tcp6 ("0100007F" is 127.0.0.1).
func listenAddrs(t *testing.T, port int) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			t.Skipf("no %s: %v", f, err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			if len(fl) < 4 || fl[3] != "0A" { // LISTEN
				continue
			}
			addr, p, ok := strings.Cut(fl[1], ":")
			if ok && p == fmt.Sprintf("%04X", port) {
				out = append(out, addr)
			}
		}
		fh.Close()
	}
	return out
}

// TestListenersBindWhereConfigured: with "listener PORT 127.0.0.1" every
// listener, the WebSockets one too, listens on 127.0.0.1 alone (Mosquitto
// 2.0.11's WebSockets listener needs socket_domain for that, which the
// shipped hearth.conf has).
func TestListenersBindWhereConfigured(t *testing.T) {
	w := newWorldOf(t, reachPeople)
	for name, port := range map[string]int{"devices": w.dev, "people": w.people, "browsers (websockets)": w.ws} {
		addrs := listenAddrs(t, port)
		if len(addrs) == 0 {
			t.Errorf("%s: nothing listens on %d", name, port)
		}
		for _, a := range addrs {
			if a != "0100007F" && a != "0000000000000000FFFF00000100007F" {
				t.Errorf("%s listener on port %d listens on %s, not only 127.0.0.1", name, port, a)
			}
		}
	}
	conf, err := broker.Files.ReadFile("hearth.conf")
	must(t, err)
	if !strings.Contains(string(conf), "listener 8885\nsocket_domain ipv4\n") {
		t.Error("hearth.conf's WebSockets listener lost its socket_domain")
	}
}

// TestRevokePersonAtTheBroker: RevokePerson and the broker's files made
// again shut a person out at the broker after a reload: password and
// certificate refused, no ACL entry, and the allowlists that listed them
// signed again without them.
func TestRevokePersonAtTheBroker(t *testing.T) {
	spec := reachPeople
	spec.People = append(slices.Clone(spec.People), brokertest.Person{ID: "carl",
		Screens: map[string][]proto.CallMode{"dev-a": {proto.ModeForced}, "dev-b": {proto.RightSend}}})
	w := newWorldOf(t, spec)
	carl := w.personCert(t, "carl")
	w.accepted(t, "carl", w.peopleURL(), &carl)
	res, err := provisioning.RevokePerson(w.org, "carl", "left", time.Now())
	if err != nil || len(res.Certs.Revoked) != 1 || !res.Registry || len(res.Allowlists) != 2 {
		t.Fatalf("RevokePerson = %+v, %v", res, err)
	}
	w.Install()
	w.reload(t)
	w.refused(t, "revoked carl's certificate", w.peopleURL(), &carl)
	if c, err := w.connect(w.wsURL(), "page", nil, "carl", w.World.People["carl"].Password); err == nil {
		c.Disconnect(50)
		t.Error("revoked carl's password was accepted")
	}
	acl, err := os.ReadFile(w.conf + "/" + broker.PeopleACLFile)
	must(t, err)
	if strings.Contains(string(acl), "carl") {
		t.Errorf("people.acl still names carl:\n%s", acl)
	}
	org, err := provisioning.LoadOrg(w.org)
	must(t, err)
	for dev, serial := range map[string]uint64{"dev-a": 3, "dev-b": 3} {
		a, ok, err := provisioning.ReadAllowlist(w.org, dev)
		if err != nil || !ok || a.Serial != serial || !ed25519.Verify(org.Public(), a.SigningBytes(), a.Sig) {
			t.Errorf("%s's list = %+v, %v, %v; want serial %d signed by the organisation", dev, a, ok, err, serial)
		}
		for _, c := range a.Callers {
			if c.ID == "carl" {
				t.Errorf("%s's list still names carl", dev)
			}
		}
	}
	// Someone else is untouched.
	anna := w.personCert(t, "anna")
	w.accepted(t, "anna", w.peopleURL(), &anna)
}
