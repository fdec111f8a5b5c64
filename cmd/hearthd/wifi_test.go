package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
	"github.com/hearth-home/hearth/provisioning"
)

// TestWifiFromBundleWhenNetworkManagerComesLate: the bundle's Wi-Fi
// network is saved even when NetworkManager comes up after hearthd (a
// first boot), it is reported upward, and it is saved once: a restart
// does not save it again.
func TestWifiFromBundleWhenNetworkManagerComesLate(t *testing.T) {
	b, data, _ := headlessSetup(t)
	bus := sysbustest.Start(t) // a system bus, no NetworkManager yet
	boot := t.TempDir()
	_, orgDir := testBundle(t, "mum-kitchen", b.URL(), time.Now())
	bundle, err := provisioning.IssueFromDir(orgDir, provisioning.Spec{Device: "mum-kitchen", Name: "Mum's kitchen",
		Brokers: []string{b.URL()}, WiFi: []provisioning.WiFi{{SSID: "Home", PSK: "correct horse battery"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(boot, provisioning.BundleFile), bundle.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--data", data, "--bundle-path", boot}
	d := startDaemon(t, []string{bus.Env()}, args...)
	d.waitLog("connected to broker", 15*time.Second)
	d.waitLog("wifi from the bundle not saved yet", 15*time.Second)

	nm := bus.NetworkManager(nil)
	waitFor(t, 60*time.Second, "the network saved in NetworkManager", func() bool {
		for _, c := range nm.Connections() {
			if ssid, ok := c.Settings["802-11-wireless"]["ssid"].Value().([]byte); ok && bytes.Equal(ssid, []byte("Home")) {
				return true
			}
		}
		return false
	})
	waitActivity(t, b.URL(), "mum-kitchen", "wifi_saved", "Home", 15*time.Second)
	d.stop()

	d = startDaemon(t, []string{bus.Env()}, args...)
	// Whether to save the networks is decided before the daemon
	// connects: by now it would have started.
	d.waitLog("connected to broker", 15*time.Second)
	d.stop()
	if strings.Contains(d.log.String(), "wifi from the bundle") {
		t.Fatalf("the second start saved the network again:\n%s", d.log)
	}
	if cs := nm.Connections(); len(cs) != 1 || cs[0].Updates != 0 {
		t.Fatalf("NetworkManager's profiles after a restart: %+v, want the one, never updated", cs)
	}
}
