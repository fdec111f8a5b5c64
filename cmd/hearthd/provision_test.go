package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

func testBundle(t *testing.T, device, broker string, issued time.Time, fallbacks ...string) (provisioning.Bundle, string) {
	t.Helper()
	orgDir := filepath.Join(t.TempDir(), "org")
	if _, err := provisioning.NewOrg(orgDir, "Care Co"); err != nil {
		t.Fatal(err)
	}
	b, err := provisioning.IssueFromDir(orgDir, provisioning.Spec{Device: device, Name: "Mum's kitchen",
		Brokers: append([]string{broker}, fallbacks...), Timezone: "Europe/Helsinki", Locale: "fi", Night: "22:00-07:00"}, issued)
	if err != nil {
		t.Fatal(err)
	}
	return b, orgDir
}

// TestProvisionLaysStateOverConfig: the bundle's values replace defaults,
// flags given on the command line win.
func TestProvisionLaysStateOverConfig(t *testing.T) {
	boot, data := t.TempDir(), t.TempDir()
	b, _ := testBundle(t, "mum-kitchen", "mqtts://broker.example:8883", time.Now(), "mqtts://broker2.example:8883")
	if err := os.WriteFile(filepath.Join(boot, provisioning.BundleFile), b.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{"--data", data, "--bundle-path", boot, "--locale", "sv"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	got, tc, _, err := provision(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatalf("provision = %v", err)
	}
	if got.DeviceID != "mum-kitchen" || got.Name != "Mum's kitchen" || got.Broker != "mqtts://broker.example:8883" ||
		got.Timezone != "Europe/Helsinki" || got.Night != "22:00-07:00" || !strings.HasPrefix(got.OrgKey, data) {
		t.Fatalf("config after provisioning = %+v", got)
	}
	if len(got.FallbackBrokers) != 1 || got.FallbackBrokers[0] != "mqtts://broker2.example:8883" {
		t.Fatalf("fallback brokers %q: want the bundle's second", got.FallbackBrokers)
	}
	if got.Locale != "sv" {
		t.Fatalf("locale %q: the flag given should win over the bundle's fi", got.Locale)
	}
	// No server name: the link sets each broker's own when it dials it.
	if tc == nil || tc.ServerName != "" || len(tc.Certificates) != 1 || tc.RootCAs == nil {
		t.Fatalf("TLS config = %+v", tc)
	}
	// The next start: no bundle, the state stays.
	got2, _, _, err := provision(context.Background(), cfg, log, nil)
	if err != nil || got2.DeviceID != "mum-kitchen" {
		t.Fatalf("second start = %+v, %v", got2, err)
	}
}

// TestWaitForBundle: an unprovisioned device checks again and again, says
// once why it refused a bundle, and takes a good one when it comes.
func TestWaitForBundle(t *testing.T) {
	boot, data := t.TempDir(), t.TempDir()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := config.Default()
	cfg.Data, cfg.BundlePath = data, []string{boot}
	b := newBundles(cfg, log)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := b.wait(ctx, 20*time.Millisecond)
		done <- err
	}()
	p := filepath.Join(boot, provisioning.BundleFile)
	_ = os.WriteFile(p+".tmp", []byte(`{"v":1,"oops":true}`), 0o600)
	_ = os.Rename(p+".tmp", p)
	waitFor(t, 5*time.Second, "a refusal", func() bool { return strings.Contains(logs.String(), "refused") })
	time.Sleep(200 * time.Millisecond) // several rounds
	if n := strings.Count(logs.String(), "provisioning bundle refused"); n != 1 {
		t.Fatalf("refusal logged %d times, want once:\n%s", n, logs.String())
	}
	good, _ := testBundle(t, "mum-kitchen", "mqtt://127.0.0.1:1883", time.Now())
	tmp := p + ".tmp"
	_ = os.WriteFile(tmp, good.Encode(), 0o600)
	_ = os.Rename(tmp, p)
	if err := <-done; err != nil {
		t.Fatalf("wait = %v", err)
	}
	st, ok, err := provisioning.Load(data)
	if !ok || err != nil || st.Device != "mum-kitchen" {
		t.Fatalf("Load = %+v, %v, %v", st, ok, err)
	}
}

// TestBundleWatch: a running device refuses another device's bundle and
// reports why (also refusals met before anyone listened), and ends its run
// for a newer bundle of its own.
func TestBundleWatch(t *testing.T) {
	boot, data := t.TempDir(), t.TempDir()
	first, orgDir := testBundle(t, "mum-kitchen", "mqtt://127.0.0.1:1883", time.Now())
	p := filepath.Join(boot, provisioning.BundleFile)
	put := func(b provisioning.Bundle) {
		t.Helper()
		if err := os.WriteFile(p+".tmp", b.Encode(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(device, name string, at time.Time) provisioning.Bundle {
		t.Helper()
		b, err := provisioning.IssueFromDir(orgDir, provisioning.Spec{Device: device, Name: name,
			Brokers: []string{"mqtt://127.0.0.1:1883"}}, at)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg := config.Default()
	cfg.Data, cfg.BundlePath = data, []string{boot}
	b := newBundles(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	put(first)
	if !b.check() {
		t.Fatal("the first bundle was not applied")
	}
	put(issue("someone-else", "Not here", time.Now()))
	b.check() // refused before anyone listens: kept

	var mu gosync.Mutex
	var got []bundleRefusal
	b.reportTo(func(r bundleRefusal) { mu.Lock(); got = append(got, r); mu.Unlock() })
	refusals := func() []bundleRefusal { mu.Lock(); defer mu.Unlock(); return append([]bundleRefusal(nil), got...) }
	if r := refusals(); len(r) != 1 || !strings.Contains(r[0].Reason, "someone-else") || strings.Contains(r[0].Reason, boot) {
		t.Fatalf("refusals after reportTo = %+v, want the other device's, without the path", r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.watch(ctx, 20*time.Millisecond) }()
	put(issue("mum-kitchen", "Mum's old kitchen", first.Issued.Add(-time.Hour)))
	waitFor(t, 10*time.Second, "the older bundle's refusal", func() bool { return len(refusals()) == 2 })
	put(first)                         // the first again: the device has it
	time.Sleep(200 * time.Millisecond) // several rounds
	select {
	case err := <-done:
		t.Fatalf("watch ended for a bundle the device had: %v", err)
	default:
	}
	put(issue("mum-kitchen", "Mum's new kitchen", time.Now()))
	if err := <-done; !errors.Is(err, errReprovisioned) {
		t.Fatalf("watch = %v, want errReprovisioned", err)
	}
	if st, _, err := provisioning.Load(data); err != nil || st.Name != "Mum's new kitchen" {
		t.Fatalf("state after the newer bundle: %q, %v", st.Name, err)
	}
	if r := refusals(); len(r) != 2 || !strings.Contains(r[1].Reason, "issued") {
		t.Fatalf("refusals = %+v, want the other device's and the older one", r)
	}
}

// TestProvisionEndToEnd: the installer's path with the real binaries: an
// organisation, a broker certificate, a bundle on a "boot partition";
// hearthd starts unprovisioned, takes the bundle, removes it, connects over
// mutual TLS, and shows what a carer sends over TLS.
func TestProvisionEndToEnd(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	org, brokerDir, admin := filepath.Join(dir, "org"), filepath.Join(dir, "broker"), filepath.Join(dir, "admin")
	boot, usb, data := filepath.Join(dir, "boot"), filepath.Join(dir, "usb"), filepath.Join(dir, "data")
	_ = os.Mkdir(boot, 0o755)
	ctl(t, "mqtt://unused:1", "provision", "ca", "init", "--out", org, "--name", "Care Co")
	ctl(t, "mqtt://unused:1", "provision", "broker-cert", "--ca", org, "--host", "127.0.0.1", "--out", brokerDir)
	ctl(t, "mqtt://unused:1", "provision", "client-cert", "--ca", org, "--id", "carer-anna", "--out", admin)
	// One TLS listener here: it trusts the device CA and the people CA
	// (the carer's); the shipped config splits them over two listeners
	// (provisioning/broker, tested there).
	b := mqtttest.StartTLS(t, brokerDir, filepath.Join(org, "people", "ca.crt"))
	staged := filepath.Join(dir, "staged.json")
	ctl(t, "mqtt://unused:1", "provision", "new", "--ca", org, "--device", "prov-e2e", "--broker", b.TLSURL(),
		"--name", "Mum's kitchen", "--locale", "sv", "--wifi", "Home:correct horse", "--out", staged)
	var in struct {
		Valid  bool `json:"valid"`
		Bundle struct {
			Device string `json:"device"`
		} `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(ctl(t, "mqtt://unused:1", "provision", "inspect", staged, "--json")), &in); err != nil || !in.Valid || in.Bundle.Device != "prov-e2e" {
		t.Fatalf("inspect = %+v, %v", in, err)
	}

	d := startDaemon(t, nil, "--headless", "--media", "test", "--data", data, "--bundle-path", usb+","+boot)
	d.waitLog("not provisioned: waiting for a bundle", 10*time.Second)
	raw, _ := os.ReadFile(staged)
	if err := os.WriteFile(filepath.Join(boot, provisioning.BundleFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	d.waitLog("connected to broker", 30*time.Second)
	if !strings.Contains(d.log.String(), "provisioned") || !strings.Contains(d.log.String(), "device=prov-e2e") {
		t.Fatalf("log lacks the provisioning:\n%s", d.log)
	}
	if _, err := os.Stat(filepath.Join(boot, provisioning.BundleFile)); !os.IsNotExist(err) {
		t.Fatalf("the bundle is still on the boot partition: %v", err)
	}
	if _, err := os.Stat(filepath.Join(boot, provisioning.AppliedNote)); err != nil {
		t.Fatalf("applied note: %v", err)
	}
	st, ok, err := provisioning.Load(data)
	if !ok || err != nil {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	for _, f := range []string{st.KeyFile, filepath.Join(st.Dir, "state.json")} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; want 0600", f, fi.Mode(), err)
		}
	}
	// The bundle makes the device take only signed items: a person on its
	// allowlist with the right to send signs, and the screen shows the
	// name the organisation listed, not the one the item carries.
	anna := filepath.Join(dir, "anna")
	ctl(t, "mqtt://unused:1", "caller", "new", "--name", "Anna", "--id", "anna", "--out", anna)
	ctl(t, b.TLSURL(), "--tls", admin, "allow", "--org", org, "--device", "prov-e2e", "--caller", anna, "--may", "send")
	ctl(t, b.TLSURL(), "--tls", admin, "send", "message", "--to", "prov-e2e", "--days", "1", "--caller", anna, "Hello over TLS")
	inv := waitReady(t, b.URL(), "prov-e2e", 1, 15*time.Second)
	if it := inv.Items[0]; it.From != "Anna" || it.Sender != "anna" {
		t.Errorf("signed item from %q sender %q, want Anna, anna", it.From, it.Sender)
	}
	// An unsigned one is refused, and says why.
	now := time.Now().UTC().Truncate(time.Second)
	unsigned, _ := json.Marshal(proto.Item{V: 1, ID: "m-unsigned", Device: "prov-e2e", Rev: 1, Kind: proto.KindMessage,
		From: "Nurse Eva (North Care)", Text: "unsigned", Start: now, End: now.Add(time.Hour)})
	pub(t, b.URL(), proto.ContentTopic("prov-e2e", "m-unsigned"), unsigned)
	waitFor(t, 15*time.Second, "the unsigned item's refusal", func() bool {
		inv, _ := inventory(t, b.URL(), "prov-e2e")
		for _, r := range inv.Refused {
			if r.ID == "m-unsigned" && r.Reason == "unsigned item: this screen takes only signed items" {
				return true
			}
		}
		return false
	})
	if inv, _ := inventory(t, b.URL(), "prov-e2e"); len(inv.Items) != 1 {
		t.Errorf("items after the unsigned one = %+v, want Anna's alone", inv.Items)
	}
	d.stop()

	// The next start needs neither the bundle nor --device-id.
	d = startDaemon(t, nil, "--headless", "--media", "test", "--data", data, "--bundle-path", usb+","+boot,
		"--bundle-watch", "200ms")
	d.waitLog("connected to broker", 15*time.Second)

	// While it runs, a stick with another device's bundle is refused and
	// the refusal goes upward with the reason.
	if err := os.Mkdir(usb, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(usb, provisioning.BundleFile)
	ctl(t, "mqtt://unused:1", "provision", "new", "--ca", org, "--device", "someone-else", "--broker", b.TLSURL(), "--out", other)
	waitActivity(t, b.URL(), "prov-e2e", "bundle_refused", "someone-else", 30*time.Second)
	if !d.running() {
		t.Fatalf("hearthd stopped on a refused bundle:\n%s", d.log)
	}
	if _, err := os.Stat(filepath.Join(usb, provisioning.RefusedNote)); err != nil {
		t.Errorf("no note for the installer beside the refused bundle: %v", err)
	}

	// A newer bundle for this device is taken while it runs: hearthd
	// starts again (the same process) with the new name.
	before := waitState(t, b.URL(), "prov-e2e", 15*time.Second, func(s proto.State) bool { return s.State == proto.LifeReady })
	ctl(t, "mqtt://unused:1", "provision", "new", "--ca", org, "--device", "prov-e2e", "--broker", b.TLSURL(),
		"--name", "Mum's new kitchen", "--out", filepath.Join(boot, provisioning.BundleFile))
	d.waitLog("starting again with it", 30*time.Second)
	waitState(t, b.URL(), "prov-e2e", 30*time.Second, func(s proto.State) bool {
		return s.State == proto.LifeReady && s.Session > before.Session
	})
	if st, _, err := provisioning.Load(data); err != nil || st.Name != "Mum's new kitchen" {
		t.Fatalf("after the newer bundle: name %q, %v", st.Name, err)
	}
	if !d.running() {
		t.Fatalf("hearthd did not come back after the newer bundle:\n%s", d.log)
	}
	d.stop()
}

// A device without a hardware serial still gets a set-up code of its own,
// and the same one at every start.
func TestLocalSerialIsKept(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a, err := localSerial(data)
	if err != nil || len(a) != 32 {
		t.Fatalf("localSerial = %q, %v", a, err)
	}
	b, err := localSerial(data)
	if err != nil || b != a {
		t.Fatalf("second localSerial = %q, %v; want %q again", b, err, a)
	}
	if fi, err := os.Stat(filepath.Join(data, "local-serial")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("local-serial: %v, %v", fi, err)
	}
	other, _ := localSerial(filepath.Join(t.TempDir(), "data"))
	if other == a {
		t.Fatal("two devices got the same stand-in serial")
	}
}

// A bundle that requires signed items makes the device require them; one
// without the setting (older) leaves the config's.
func TestWithStateRequireSignedItems(t *testing.T) {
	for _, tc := range []struct {
		bundle, config, want bool
	}{
		{true, false, true}, {false, false, false}, {false, true, true}, {true, true, true},
	} {
		cfg := config.Default()
		cfg.RequireSignedItems = tc.config
		if got := withState(cfg, provisioning.State{RequireSignedItems: tc.bundle}).RequireSignedItems; got != tc.want {
			t.Errorf("bundle %v, config %v: RequireSignedItems = %v, want %v", tc.bundle, tc.config, got, tc.want)
		}
	}
}
