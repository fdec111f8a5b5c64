package sync

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// brokerAway is how long the broker stays down: long enough for the
// device's backoff to reach its cap several times over.
const brokerAway = 60 * time.Second

// backWithin is the product's promise: a device is connected and ready
// again within 5 s of its broker's return, however long it was away.
const backWithin = 5 * time.Second

// The broker stops for a minute (an update, its host rebooting) and starts
// again on the same port with its persistence: the device is ready again,
// with a new session, within 5 s of the broker's return. The minute is
// real time, against a real Mosquitto: what is checked is the reconnect
// backoff after it has grown to its cap.
func TestReconnectAfterBrokerDownAMinute(t *testing.T) {
	if testing.Short() {
		t.Skipf("keeps the broker away for %v", brokerAway)
	}
	t.Parallel()
	b := mqtttest.Start(t)
	r := newRig(t, b)
	before := r.client.Session()

	b.Stop()
	hold := holdPort(t, b.Port)
	stopped := time.Now()
	time.Sleep(brokerAway)
	hold.Close()
	started := time.Now()
	b.StartAgain()
	listening := time.Now()

	ready := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := Dial(ctx, b.URL(), "watch")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Subscribe(ctx, proto.StateTopic(dev), func(_ string, payload []byte) {
		st, err := proto.DecodeState(payload)
		if err == nil && st.State == proto.LifeReady && st.Session > before {
			select {
			case ready <- time.Now():
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	select {
	case at = <-ready:
	case <-time.After(3 * backWithin):
		t.Fatalf("device not ready %v after the broker's return (session before %d, stats %+v)\nbroker log:\n%s",
			3*backWithin, before, r.client.Stats(), b.Log())
	}
	t.Logf("ready again %v after the broker listened (%v after it was started); away %v, %d reconnect attempts",
		at.Sub(listening).Round(time.Millisecond), at.Sub(started).Round(time.Millisecond),
		started.Sub(stopped).Round(time.Second), r.client.Stats().Reconnects)
	if took := at.Sub(started); took >= backWithin {
		t.Errorf("ready again %v after the broker was started, want within %v", took, backWithin)
	}
}

// holdPort keeps port while the broker is away, so that no other test
// (other packages' run in parallel processes) takes it before the broker
// starts again. Like the host of a stopped broker, it turns every
// connection away at once: accepted, then reset.
func holdPort(t *testing.T, port int) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("hold the broker's port while it is away: %v", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}
