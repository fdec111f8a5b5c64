package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	"github.com/hearth-home/hearth/provisioning/broker/brokertest"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// wsLogin logs in on the browser listener with a user name and password.
func wsLogin(w *brokertest.World, user, pass string) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker(w.WSURL()).SetClientID("page").SetUsername(user).SetPassword(pass).
		SetTLSConfig(&tls.Config{RootCAs: w.Roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	return c, tok.Error()
}

// retainedList reads the allowlist the broker holds for device.
func retainedList(t *testing.T, w *brokertest.World, as, device string) (proto.Allowlist, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := hsync.DialTLS(ctx, w.PeopleURL(), "t", w.PersonTLS(as))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	topic := proto.AllowlistTopic(device)
	msgs, err := conn.Retained(ctx, topic, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[topic] == nil {
		return proto.Allowlist{}, false
	}
	a, err := proto.DecodeAllowlist(msgs[topic])
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

// TestProvisionPersonAllowRevoke: a person made by provision person logs in
// on the shipped broker's browser listener with the generated password once
// allow and broker-files put them in; allow picks its serial above what the
// device reports after the broker lost the retained list; revoke shuts
// them out everywhere: password, certificate, ACL, the allowlists (signed
// again without them, published) and so the device's check of their invite.
func TestProvisionPersonAllowRevoke(t *testing.T) {
	w := brokertest.Start(t, brokertest.Spec{People: []brokertest.Person{{ID: "admin-eva", Name: "Eva", Admin: true}}})
	eva := w.People["admin-eva"].Dir
	admin := func(args ...string) string {
		t.Helper()
		return mustCtl(t, append([]string{"--broker", w.PeopleURL(), "--tls", eva}, args...)...)
	}
	annaDir := filepath.Join(t.TempDir(), "anna")
	out := mustCtl(t, "provision", "person", "--ca", w.Org, "--id", "anna", "--name", "Anna Berg", "--out", annaDir)
	if !strings.Contains(out, "person anna (Anna Berg)") {
		t.Errorf("provision person said:\n%s", out)
	}
	pwFile := filepath.Join(annaDir, broker.PasswordFile)
	fi, err := os.Stat(pwFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want mode 0600", pwFile, fi, err)
	}
	pw, _ := os.ReadFile(pwFile)
	password := strings.TrimSpace(string(pw))
	w.People["anna"] = brokertest.PersonFiles{Dir: annaDir, Password: password}
	for _, f := range []string{provisioning.ClientCertFile, provisioning.ClientKeyFile, provisioning.CACertFile, provisioning.CallerKeyFile, provisioning.CallerFile} {
		if _, err := os.Stat(filepath.Join(annaDir, f)); err != nil {
			t.Errorf("provision person wrote no %s: %v", f, err)
		}
	}
	if _, err := provCtl(t, "provision", "person", "--ca", w.Org, "--id", "anna", "--name", "Anna", "--out", t.TempDir()); err == nil {
		t.Error("a second person anna was made")
	}

	// Not on any list yet: the broker knows no password of hers.
	if c, err := wsLogin(w, "anna", password); err == nil {
		c.Disconnect(50)
		t.Error("anna logged in before broker-files put her password in")
	}
	out = admin("allow", "--org", w.Org, "--person", "anna", "--device", "dev-a", "--may", "signalled,send")
	if !strings.Contains(out, "published allowlist 1") {
		t.Errorf("allow said:\n%s", out)
	}
	mustCtl(t, "provision", "broker-files", "--ca", w.Org, "--out", w.Conf)
	w.Reload()
	page, err := wsLogin(w, "anna", password)
	if err != nil {
		t.Fatalf("anna's password login after broker-files = %v\n%s", err, w.B.Log())
	}
	defer page.Disconnect(50)

	// The broker lost its retained list; the device still holds serial 5.
	dev, err := hsync.DialTLS(context.Background(), w.DeviceURL(), "hearthd", w.DeviceTLS("dev-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	beat, _ := json.Marshal(map[string]any{"v": 1, "device": "dev-a", "allowlist_serial": 5})
	if err := dev.Publish(ctx, proto.HeartbeatTopic("dev-a"), beat, true); err != nil {
		t.Fatal(err)
	}
	admin("allow", "--org", w.Org, "--person", "anna", "--device", "dev-a", "--may", "both")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	clear, err := hsync.DialTLS(ctx, w.PeopleURL(), "t", w.PersonTLS("admin-eva"))
	must(err)
	must(clear.Publish(ctx, proto.AllowlistTopic("dev-a"), nil, true))
	clear.Close()
	must(os.Remove(filepath.Join(w.Org, provisioning.AllowlistsDir, "dev-a.json"))) // and the record, on another machine
	out = admin("allow", "--org", w.Org, "--person", "anna", "--device", "dev-a", "--may", "signalled,send,book")
	if !strings.Contains(out, "published allowlist 6") || !strings.Contains(out, "device 5") {
		t.Fatalf("allow after the retained list was lost said:\n%s", out)
	}
	if a, ok := retainedList(t, w, "admin-eva", "dev-a"); !ok || a.Serial != 6 {
		t.Fatalf("retained list = %+v, %v; want serial 6", a, ok)
	}

	// An invite of hers that the device takes with list 6...
	org, err := provisioning.LoadOrg(w.Org)
	must(err)
	anna, err := provisioning.LoadCaller(annaDir)
	must(err)
	invite := func(call string) proto.Invite {
		in := proto.Invite{V: 1, Call: call, Device: "dev-a", Caller: "anna", CallerName: "Anna", Mode: proto.ModeSignalled,
			Created: time.Now(), Expires: time.Now().Add(time.Minute), Offer: "v=0\r\n"}
		in.Sig = ed25519.Sign(anna.Key, in.SigningBytes())
		return in
	}
	check, err := callauth.New(org.Public(), clock.Real())
	must(err)
	a6, _ := retainedList(t, w, "admin-eva", "dev-a")
	must(check.SetAllowlist(a6))
	if _, err := check.Check(invite("c-1")); err != nil {
		t.Fatalf("anna's invite with list 6 = %v", err)
	}

	// Her hearthctl, connected with her certificate before the revoke, and
	// the device listening for invites.
	cli, err := hsync.DialTLS(ctx, w.PeopleURL(), "hearthctl", w.PersonTLS("anna"))
	must(err)
	defer cli.Close()
	invites := make(chan string, 10)
	must(dev.Subscribe(ctx, proto.CallInTopic("dev-a"), func(_ string, b []byte) { invites <- string(b) }))
	must(cli.Publish(ctx, proto.CallInTopic("dev-a"), []byte("before"), false))
	if got := <-invites; got != "before" {
		t.Fatalf("invite before the revoke = %q", got)
	}
	seen := make(chan string, 10)
	must(cli.Subscribe(ctx, proto.AvailabilityTopic("dev-a"), func(_ string, b []byte) { seen <- string(b) }))
	must(dev.Publish(ctx, proto.AvailabilityTopic("dev-a"), []byte("free"), false))
	if got := <-seen; got != "free" {
		t.Fatalf("availability before the revoke = %q", got)
	}

	out = admin("provision", "revoke", "--ca", w.Org, "--person", "anna", "--reason", "left", "--out", w.Conf, "--publish")
	for _, want := range []string{"revoked person anna", "marked revoked", "allowlist of dev-a signed again without anna: serial 7", "dev-a: published allowlist 7", "RESTART"} {
		if !strings.Contains(out, want) {
			t.Errorf("revoke output lacks %q:\n%s", want, out)
		}
	}
	acl, err := os.ReadFile(filepath.Join(w.Conf, broker.PeopleACLFile))
	must(err)
	passwd, err := os.ReadFile(filepath.Join(w.Conf, broker.PeoplePasswdFile))
	must(err)
	if strings.Contains(string(acl), "user anna") || strings.Contains(string(passwd), "anna:") {
		t.Errorf("anna is still in the broker's files:\n%s\n%s", acl, passwd)
	}
	w.Reload()
	if c, err := wsLogin(w, "anna", password); err == nil {
		c.Disconnect(50)
		t.Error("revoked anna's password login was accepted after a reload")
	}
	if c, err := hsync.DialTLS(ctx, w.PeopleURL(), "t", w.PersonTLS("anna")); err == nil {
		c.Close()
		t.Error("revoked anna's certificate was accepted after a reload")
	}
	a7, ok := retainedList(t, w, "admin-eva", "dev-a")
	if !ok || a7.Serial != 7 || !ed25519.Verify(org.Public(), a7.SigningBytes(), a7.Sig) {
		t.Fatalf("retained list after revoke = %+v, %v; want serial 7 signed by the organisation", a7, ok)
	}
	for _, c := range a7.Callers {
		if c.ID == "anna" {
			t.Fatalf("list 7 still lists anna: %+v", a7.Callers)
		}
	}
	must(check.SetAllowlist(a7))
	if _, err := check.Check(invite("c-2")); err == nil || !strings.Contains(err.Error(), "unknown caller") {
		t.Fatalf("anna's invite with list 7 = %v, want unknown caller", err)
	}
	if _, err := provCtl(t, "--broker", w.PeopleURL(), "--tls", eva, "allow", "--org", w.Org, "--person", "anna", "--device", "dev-a", "--may", "send"); err == nil {
		t.Error("allow put revoked anna back on a list")
	}
	// Her page, connected before with the password: the reload dropped it
	// (Mosquitto checks connected clients against the new password file).
	for deadline := time.Now().Add(5 * time.Second); page.IsConnectionOpen(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("a reload left revoked anna's password session connected")
			break
		}
	}
	// Her certificate session: connected until it closes or a restart, but
	// the new ACL stops what she publishes.
	select {
	case <-cli.Lost():
		t.Log("the reload dropped anna's certificate session too")
	default:
		t.Log("anna's certificate session is still connected after the reload")
	}
	_ = cli.Publish(ctx, proto.CallInTopic("dev-a"), []byte("after"), false)
	select {
	case got := <-invites:
		t.Errorf("revoked anna's open session still reached the device after a reload: %q", got)
	case <-time.After(time.Second):
	}
	must(dev.Publish(ctx, proto.AvailabilityTopic("dev-a"), []byte("busy"), false))
	select {
	case got := <-seen:
		t.Errorf("revoked anna's open session still reads dev-a after a reload: %q", got)
	case <-time.After(time.Second):
	}
	w.Restart()
	if c, err := wsLogin(w, "anna", password); err == nil {
		c.Disconnect(50)
		t.Error("revoked anna's password login was accepted after a restart")
	}
}
