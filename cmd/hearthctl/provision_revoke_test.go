package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-home/hearth/provisioning"
)

func TestProvisionRevoke(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	// ca init: both CRLs at once, for the broker's crlfile lines.
	for _, f := range []string{filepath.Join(org, provisioning.CRLFile), filepath.Join(org, provisioning.PeopleDir, provisioning.CRLFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("after ca init: %v", err)
		}
	}
	for _, out := range []string{"b1.json", "b2.json"} {
		mustCtl(t, "provision", "new", "--ca", org, "--device", "mum-kitchen", "--broker", "mqtts://b.example:8883", "--out", filepath.Join(dir, out))
	}
	mustCtl(t, "provision", "client-cert", "--ca", org, "--id", "carer-ole", "--out", filepath.Join(dir, "ole"))
	mustCtl(t, "provision", "client-cert", "--ca", org, "--id", "carer-ida", "--out", filepath.Join(dir, "ida"))

	out := mustCtl(t, "provision", "revoke", "--ca", org, "--device", "mum-kitchen", "--reason", "stolen")
	for _, want := range []string{"revoked device mum-kitchen", "/etc/mosquitto/hearth/crl.pem", "/etc/mosquitto/hearth/people-crl.pem",
		"valid until", "systemctl restart mosquitto", "provision crl --ca " + org, "EVERY device"} {
		if !strings.Contains(out, want) {
			t.Errorf("revoke output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "revoked device mum-kitchen"); n != 2 {
		t.Errorf("revoke named %d certificates, want both of mum-kitchen's:\n%s", n, out)
	}
	if out := mustCtl(t, "provision", "revoke", "--ca", org, "--device", "mum-kitchen"); strings.Count(out, "already revoked") != 2 {
		t.Errorf("second revoke:\n%s", out)
	}
	if out := mustCtl(t, "provision", "revoke", "--ca", org, "--person", "carer-ole", "--reason", "left"); !strings.Contains(out, "revoked person carer-ole") {
		t.Errorf("revoke --person:\n%s", out)
	}
	out = mustCtl(t, "provision", "revoke", "--ca", org, "--cert", filepath.Join(dir, "ida", provisioning.ClientCertFile))
	if !strings.Contains(out, "revoked person carer-ida") || !strings.Contains(out, "(the people's listener; 2 revoked)") {
		t.Errorf("revoke --cert:\n%s", out)
	}
	rev, err := provisioning.ReadRevocations(org)
	if err != nil || len(rev.Revoked) != 4 {
		t.Fatalf("revoked.json = %+v, %v; want 4", rev, err)
	}

	if out, err := provCtl(t, "provision", "revoke", "--ca", org, "--device", "nobody"); !errors.Is(err, provisioning.ErrNotIssued) || !strings.Contains(out+err.Error(), `"nobody"`) {
		t.Errorf("revoke of an unknown device = %v\n%s", err, out)
	}
	if _, err := provCtl(t, "provision", "revoke", "--ca", org); err == nil {
		t.Error("revoke without a device, person, serial or cert succeeded")
	}

	out = mustCtl(t, "provision", "crl", "--ca", org)
	if !strings.Contains(out, "valid until") || !strings.Contains(out, "systemctl reload mosquitto") {
		t.Errorf("crl output:\n%s", out)
	}
}
