package main

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := hsync.Dial(ctx, b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
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
