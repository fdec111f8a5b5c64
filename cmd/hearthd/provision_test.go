package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
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
	got, tc, err := provision(context.Background(), cfg, log, nil)
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
	got2, _, err := provision(context.Background(), cfg, log, nil)
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
	b := &bundles{cfg: cfg, log: log, refused: map[string]fileStamp{}}
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
	ctl(t, b.TLSURL(), "--tls", admin, "send", "message", "--to", "prov-e2e", "--days", "1", "Hello over TLS")
	waitReady(t, b.URL(), "prov-e2e", 1, 15*time.Second)
	d.stop()

	// The next start needs neither the bundle nor --device-id.
	d = startDaemon(t, nil, "--headless", "--media", "test", "--data", data, "--bundle-path", boot)
	d.waitLog("connected to broker", 15*time.Second)
	d.stop()
}
