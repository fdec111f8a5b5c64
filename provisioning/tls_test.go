package provisioning

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
)

// TestTLSWithMosquitto: a device's bundle credentials open a mutual-TLS
// connection to a real Mosquitto whose server certificate the same CA
// issued; credentials from another organisation's CA, or none, do not.
func TestTLSWithMosquitto(t *testing.T) {
	org, ca, _ := testOrg(t)
	certDir := filepath.Join(t.TempDir(), "broker")
	crt, key, err := ca.IssueServer([]string{"127.0.0.1", "localhost"}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteServerCert(certDir, ca, crt, key); err != nil {
		t.Fatal(err)
	}
	broker := mqtttest.StartTLS(t, certDir)

	w := newWorld(t)
	w.opt.Now = time.Now
	spec := testSpec()
	spec.Brokers = []string{broker.TLSURL()}
	if _, err := w.apply(issue(t, org, ca, spec, time.Now())); err != nil {
		t.Fatal(err)
	}
	st, _ := w.load()
	tc, err := st.TLSConfig(st.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := hsync.DialTLS(ctx, st.Brokers[0], "test", tc)
	if err != nil {
		t.Fatalf("DialTLS with the bundle's credentials = %v\n%s", err, broker.Log())
	}
	if err := c.Publish(ctx, "hearth/test/tls", []byte("hello"), true); err != nil {
		t.Fatalf("Publish over TLS = %v", err)
	}
	got, err := c.Retained(ctx, "hearth/test/tls", 200*time.Millisecond)
	c.Close()
	if err != nil || string(got["hearth/test/tls"]) != "hello" {
		t.Fatalf("Retained over TLS = %q, %v", got, err)
	}

	// Another organisation's device: the broker refuses its certificate.
	other, otherCA, _ := testOrg(t)
	w2 := newWorld(t)
	w2.opt.Now = time.Now
	if _, err := w2.apply(issue(t, other, otherCA, spec, time.Now())); err != nil {
		t.Fatal(err)
	}
	st2, _ := w2.load()
	tc2, err := ClientTLS(st.CAFile, st2.CertFile, st2.KeyFile, broker.TLSURL())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := hsync.DialTLS(ctx, broker.TLSURL(), "test", tc2); err == nil {
		c.Close()
		t.Fatal("DialTLS with another CA's certificate succeeded")
	}
	// No client certificate at all.
	tc3, err := ClientTLS(st.CAFile, "", "", broker.TLSURL())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := hsync.DialTLS(ctx, broker.TLSURL(), "test", tc3); err == nil {
		c.Close()
		t.Fatal("DialTLS without a client certificate succeeded")
	}
	// The device does not trust a broker that another CA vouches for.
	if c, err := hsync.DialTLS(ctx, broker.TLSURL(), "test", mustTLS(t, st2)); err == nil {
		c.Close()
		t.Fatal("DialTLS trusting another CA succeeded")
	}
}

func mustTLS(t *testing.T, s State) *tls.Config {
	t.Helper()
	tc, err := s.TLSConfig(s.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	return tc
}
