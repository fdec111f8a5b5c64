package main

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// TestAdmin: each form of hearthctl admin puts a command on the device's
// admin topic that the device's decoder takes and the organisation signed.
func TestAdmin(t *testing.T) {
	b := mqtttest.Start(t)
	orgDir := filepath.Join(t.TempDir(), "org")
	org, err := provisioning.NewOrg(orgDir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	ctx, conn, hangUp := dialTest(t, b.URL(), 30*time.Second)
	defer hangUp()
	got := make(chan []byte, 10)
	if err := conn.Subscribe(ctx, proto.AdminTopic("mum-kitchen"), func(_ string, p []byte) { got <- p }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		cmd  proto.AdminCmd
		arg  string
	}{
		{[]string{"mum-kitchen", "--org", orgDir, "reboot"}, proto.AdminReboot, ""},
		{[]string{"mum-kitchen", "factory-reset", "--org", orgDir}, proto.AdminFactoryReset, ""},
		{[]string{"mum-kitchen", "--org", orgDir, "night", "22:00-07:00"}, proto.AdminSetNight, "22:00-07:00"},
		{[]string{"--org", orgDir, "mum-kitchen", "volume", "30"}, proto.AdminSetVolume, "30"},
		// now is 2026-11-22T18:00Z, and the zone UTC.
		{[]string{"mum-kitchen", "--org", orgDir, "dnd", "--for", "2h"}, proto.AdminSetDND, "2026-11-22T20:00:00Z"},
		{[]string{"mum-kitchen", "dnd", "--until", "14:30", "--org", orgDir}, proto.AdminSetDND, "2026-11-23T14:30:00Z"},
		{[]string{"mum-kitchen", "--org", orgDir, "dnd", "--until", "2026-11-24T09:00"}, proto.AdminSetDND, "2026-11-24T09:00:00Z"},
		{[]string{"mum-kitchen", "--org", orgDir, "dnd", "off"}, proto.AdminSetDND, "off"},
	} {
		out, err := runCtl(t, b.URL(), append([]string{"admin"}, tc.args...)...)
		if err != nil {
			t.Fatalf("hearthctl admin %s = %v\n%s", strings.Join(tc.args, " "), err, out)
		}
		var p []byte
		select {
		case p = <-got:
		case <-ctx.Done():
			t.Fatalf("hearthctl admin %s: nothing published", strings.Join(tc.args, " "))
		}
		a, err := proto.DecodeAdmin("mum-kitchen", p)
		if err != nil {
			t.Fatalf("DecodeAdmin(%s) = %v", p, err)
		}
		if a.Cmd != tc.cmd || a.Arg != tc.arg || !ed25519.Verify(org.Public(), a.SigningBytes(), a.Sig) {
			t.Fatalf("published %+v, want %s %q signed by the organisation", a, tc.cmd, tc.arg)
		}
	}
	for _, bad := range [][]string{
		{"mum-kitchen", "--org", orgDir, "volume", "300"},
		{"mum-kitchen", "--org", orgDir, "night", "late"},
		{"mum-kitchen", "--org", orgDir, "shutdown"},
		{"mum-kitchen", "reboot"},
		{"mum/kitchen", "--org", orgDir, "reboot"},
		{"mum-kitchen", "--org", orgDir, "--valid", "1h", "reboot"},
		{"mum-kitchen", "--org", orgDir, "dnd"},
		{"mum-kitchen", "--org", orgDir, "dnd", "on"},
		{"mum-kitchen", "--org", orgDir, "dnd", "--for", "169h"},
		{"mum-kitchen", "--org", orgDir, "dnd", "--for", "-1h"},
		{"mum-kitchen", "--org", orgDir, "dnd", "off", "--for", "1h"},
		{"mum-kitchen", "--org", orgDir, "dnd", "--for", "1h", "--until", "14:30"},
		{"mum-kitchen", "--org", orgDir, "dnd", "--until", "2026-11-22T17:00"},
		{"mum-kitchen", "--org", orgDir, "dnd", "--until", "soon"},
		{"mum-kitchen", "--org", orgDir, "reboot", "--for", "1h"},
	} {
		if out, err := runCtl(t, b.URL(), append([]string{"admin"}, bad...)...); err == nil {
			t.Errorf("hearthctl admin %s succeeded: %s", strings.Join(bad, " "), out)
		}
	}
	select {
	case p := <-got:
		t.Fatalf("a refused command was published: %s", p)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestDNDArg(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 30, 22, 10, 0, 0, time.UTC) // 23:10 in CET, the last day of the month
	for _, tc := range []struct {
		word  string
		d     time.Duration
		until string
		want  string
	}{
		{"off", 0, "", "off"},
		{"", 90 * time.Minute, "", "2026-11-30T23:40:00Z"},
		{"", 0, "23:30", "2026-11-30T22:30:00Z"},
		{"", 0, "7:00", "2026-12-01T06:00:00Z"},  // tomorrow, in the next month
		{"", 0, "23:10", "2026-12-01T22:10:00Z"}, // now is not ahead: tomorrow
		{"", 0, "2026-12-02T08:00", "2026-12-02T07:00:00Z"},
		{"", 0, "2026-12-02T08:00:00.9+01:00", "2026-12-02T07:00:00Z"},
	} {
		got, err := dndArg(tc.word, tc.d, tc.until, now, cet)
		if err != nil || got != tc.want {
			t.Errorf("dndArg(%q, %s, %q) = %q, %v, want %q", tc.word, tc.d, tc.until, got, err, tc.want)
		}
	}
}
