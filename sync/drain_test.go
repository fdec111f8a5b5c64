package sync

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// slowBookings holds Take until released, as a store write in flight.
type slowBookings struct {
	in      chan struct{}
	release chan struct{}
	done    chan struct{}
}

func (s *slowBookings) Take(proto.Booking) (error, error) {
	close(s.in)
	<-s.release
	close(s.done)
	return nil, nil
}

// Run returns only once the handlers paho started have finished: the
// daemon closes the store right after, and a booking's activity written
// then was lost (CI, TestBookingOverMQTT: "log activity: database not
// open").
func TestRunWaitsForHandlers(t *testing.T) {
	b := mqtttest.Start(t)
	r := newStoppedRig(t, b)
	sink := &slowBookings{in: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	c, err := New(Options{Broker: b.URL(), DeviceID: dev, Store: r.store, KeepAlive: 2 * time.Second,
		InventoryDelay: 50 * time.Millisecond, Bookings: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	r.waitConnected()

	now := time.Now()
	bk, _ := json.Marshal(proto.Booking{V: 1, ID: "bk-1", Device: dev, Caller: "nurse-eva", Rev: 1,
		At: now.Add(time.Hour), LengthS: 600, Issued: now, Sig: make([]byte, 64)})
	r.publish(proto.BookingTopic(dev), bk, false)
	select {
	case <-sink.in:
	case <-time.After(10 * time.Second):
		t.Fatal("the booking never reached the sink")
	}
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a handler was still taking a booking", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(sink.release)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the handler finished")
	}
	select {
	case <-sink.done:
	default:
		t.Error("Run returned before the handler finished")
	}
}
