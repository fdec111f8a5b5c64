package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// provCtl runs hearthctl with the real clock (certificates are made now).
func provCtl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runEnv(ctx, args, &out, &errb, nil)
	return out.String() + errb.String(), err
}

func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := provCtl(t, args...)
	if err != nil {
		t.Fatalf("hearthctl %s = %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestProvisionNewAndInspect(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	file := filepath.Join(dir, "b.json")
	mustCtl(t, "provision", "new", "--ca", org, "--device", "mum-kitchen", "--broker", "mqtts://broker.example:8883,mqtts://10.0.0.2:8883",
		"--name", "Mum's kitchen", "--wifi", "Home:correct horse", "--wifi", "Guest:", "--timezone", "Europe/Helsinki",
		"--locale", "fi", "--night", "22:00-07:00", "--valid", "2y", "--out", file)
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v %v, want 0600", fi.Mode(), err)
	}
	if out, err := provCtl(t, "provision", "new", "--ca", org, "--device", "x", "--broker", "mqtts://h:1", "--out", file); err == nil {
		t.Fatalf("provision new over an existing file succeeded:\n%s", out)
	}

	text := mustCtl(t, "provision", "inspect", file)
	for _, want := range []string{"mum-kitchen", "Mum's kitchen", "mqtts://broker.example:8883, mqtts://10.0.0.2:8883", `"Home", passphrase (redacted)`,
		`"Guest", open`, "Europe/Helsinki", "CN=mum-kitchen, expires", "valid      yes", "items      signed only"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "correct horse") || strings.Contains(text, "PRIVATE KEY") {
		t.Fatalf("inspect shows secrets:\n%s", text)
	}
	js := mustCtl(t, "provision", "inspect", file, "--json")
	var in inspection
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, js)
	}
	if !in.Valid || !in.Bundle.RequireSignedItems || in.Bundle.Device != "mum-kitchen" || in.Bundle.Key != "(redacted)" || in.Bundle.WiFi[0].PSK != "(redacted)" ||
		in.CertExpires.Before(time.Now().AddDate(1, 11, 0)) || len(in.OrgKeySHA) != 64 {
		t.Fatalf("inspect --json = %+v", in)
	}
	if strings.Contains(js, "correct horse") || strings.Contains(js, "PRIVATE KEY") {
		t.Fatalf("inspect --json shows secrets:\n%s", js)
	}

	// A changed bundle: inspect says why and exits non-zero.
	raw, _ := os.ReadFile(file)
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, bytes.Replace(raw, []byte("Mum's kitchen"), []byte("Mum's hallway"), 1), 0o600)
	out, err := provCtl(t, "provision", "inspect", "--json", bad)
	if !errors.Is(err, provisioning.ErrBadSignature) || !strings.Contains(out, `"valid": false`) {
		t.Fatalf("inspect of a changed bundle = %v\n%s", err, out)
	}
	_ = os.Chmod(file, 0o644)
	if out, err := provCtl(t, "provision", "inspect", file); !errors.Is(err, provisioning.ErrWorldReadable) || !strings.Contains(out, "mum-kitchen") {
		t.Fatalf("inspect of a world-readable bundle = %v\n%s", err, out)
	}
}

func TestProvisionNewRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	for _, args := range [][]string{
		{"--device", "a/b", "--broker", "mqtts://h:1"},
		{"--device", "d", "--broker", "http://h:1"},
		{"--device", "d", "--broker", "mqtts://h:1", "--wifi", "x:short"},
		{"--device", "d", "--broker", "mqtts://h:1", "--locale", "xx"},
		{"--device", "d", "--broker", "mqtts://h:1", "--valid", "forever"},
		{"--device", "d"},
	} {
		out := filepath.Join(dir, "b.json")
		a := append([]string{"provision", "new", "--ca", org, "--out", out}, args...)
		if msg, err := provCtl(t, a...); err == nil {
			t.Errorf("hearthctl %v succeeded:\n%s", args, msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("hearthctl %v left a bundle", args)
		}
	}
}

func TestProvisionBatch(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	csvFile := filepath.Join(dir, "devices.csv")
	_ = os.WriteFile(csvFile, []byte(`device,name,broker,timezone,locale,night,wifi_ssid,wifi_psk
mum-kitchen,Mum's kitchen,mqtts://b.example:8883,Europe/Stockholm,sv,22:00-07:00,Home,correct horse
dad-hall,"Dad's hall, upstairs","mqtts://b.example:8883,mqtts://b2.example:8883",,,,,
`), 0o600)
	outDir := filepath.Join(dir, "bundles")
	out := mustCtl(t, "provision", "batch", "--ca", org, "--csv", csvFile, "--out", outDir)
	if !strings.Contains(out, "2 bundles") {
		t.Fatalf("batch output: %s", out)
	}
	for _, d := range []string{"mum-kitchen", "dad-hall"} {
		b, err := provisioning.ReadBundleFile(filepath.Join(outDir, d+provisioning.BundleSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Check(time.Now()); err != nil || b.Device != d {
			t.Fatalf("%s: %v (device %s)", d, err, b.Device)
		}
		if d == "dad-hall" && (len(b.Brokers) != 2 || b.Name != "Dad's hall, upstairs") {
			t.Fatalf("dad-hall = %+v", b.Redacted())
		}
	}
	// A bad row: nothing is written, every bad line is named.
	_ = os.WriteFile(csvFile, []byte("device,broker,locale\nok-1,mqtts://b:1,sv\nbad/id,mqtts://b:1,sv\nok-1,mqtts://b:1,sv\n"), 0o600)
	outDir2 := filepath.Join(dir, "bundles2")
	msg, err := provCtl(t, "provision", "batch", "--ca", org, "--csv", csvFile, "--out", outDir2)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("batch with bad rows = %v\n%s", err, msg)
	}
	if _, err := os.Stat(outDir2); err == nil {
		t.Fatal("batch with bad rows wrote bundles")
	}
	// A row the keys refuse (bad locale) fails alone.
	_ = os.WriteFile(csvFile, []byte("device,broker,locale\nok-1,mqtts://b:1,sv\nok-2,mqtts://b:1,xx\n"), 0o600)
	_, err = provCtl(t, "provision", "batch", "--ca", org, "--csv", csvFile, "--out", outDir2)
	if err == nil || !strings.Contains(err.Error(), "line 3 (ok-2)") {
		t.Fatalf("batch with a bad locale = %v", err)
	}
	if _, err := os.Stat(filepath.Join(outDir2, "ok-1"+provisioning.BundleSuffix)); err != nil {
		t.Fatalf("the good row's bundle: %v", err)
	}
}

// TestProvisionTLS: the organisation's CA makes the broker's certificate
// and an admin's; hearthctl --tls sends over mutual TLS to a real Mosquitto.
func TestProvisionTLS(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	brokerDir := filepath.Join(dir, "broker")
	mustCtl(t, "provision", "broker-cert", "--ca", org, "--host", "127.0.0.1,localhost", "--out", brokerDir)
	adminDir := filepath.Join(dir, "admin")
	mustCtl(t, "provision", "client-cert", "--ca", org, "--id", "admin-anna", "--out", adminDir)
	if fi, err := os.Stat(filepath.Join(adminDir, provisioning.ClientKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client.key: %v %v", fi.Mode(), err)
	}
	// One TLS listener that also trusts the people CA (the admin's), as
	// the shipped config's two listeners do between them.
	b := mqtttest.StartTLS(t, brokerDir, filepath.Join(org, "people", provisioning.CACertFile))
	mustCtl(t, "--broker", b.TLSURL(), "--tls", adminDir, "send", "message", "--to", "mum-kitchen", "--from", "Anna", "hello over TLS")
	if out, err := provCtl(t, "--broker", b.TLSURL(), "send", "message", "--to", "mum-kitchen", "--from", "Anna", "no cert"); err == nil {
		t.Fatalf("send without a client certificate succeeded:\n%s", out)
	}
	tc, err := tlsConfig(b.TLSURL(), adminDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.DialTLS(ctx, b.TLSURL(), "test", tc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, err := c.Retained(ctx, proto.ContentFilter("mum-kitchen"), 200*time.Millisecond)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("retained over TLS = %d messages, %v", len(msgs), err)
	}
}

// TestProvisionAllowUnsignedItems: new bundles make devices take only
// signed items unless --allow-unsigned-items, for one device or a batch.
func TestProvisionAllowUnsignedItems(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	file := filepath.Join(dir, "b.json")
	mustCtl(t, "provision", "new", "--ca", org, "--device", "d1", "--broker", "mqtts://h:8883", "--allow-unsigned-items", "--out", file)
	if text := mustCtl(t, "provision", "inspect", file); !strings.Contains(text, "unsigned too") {
		t.Errorf("inspect of a bundle with --allow-unsigned-items:\n%s", text)
	}
	csv := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(csv, []byte("device,broker\nd2,mqtts://h:8883\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--allow-unsigned-items"}, false}} {
		out := filepath.Join(t.TempDir(), "bundles")
		mustCtl(t, append([]string{"provision", "batch", "--ca", org, "--csv", csv, "--out", out}, c.args...)...)
		raw, err := os.ReadFile(filepath.Join(out, "d2"+provisioning.BundleSuffix))
		if err != nil {
			t.Fatal(err)
		}
		b, err := provisioning.DecodeBundle(raw)
		if err != nil || b.RequireSignedItems != c.want {
			t.Errorf("batch %v: require_signed_items = %v, %v; want %v", c.args, b.RequireSignedItems, err, c.want)
		}
	}
}
