package sync

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	gosync "sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Conn is a short-lived MQTT connection for the senders' side (hearthctl):
// publish with QoS 1 and read retained topics. Its session is clean, and it
// does not reconnect: a reader that keeps watching dials again after Lost.
type Conn struct {
	cl      mqtt.Client
	lost    chan struct{}
	lostErr error // set before lost is closed
}

// Dial connects to broker with a random client id made from prefix.
func Dial(ctx context.Context, broker, prefix string) (*Conn, error) {
	return DialTLS(ctx, broker, prefix, nil)
}

// DialTLS is Dial with a TLS configuration for mqtts:// brokers (a client
// certificate and the organisation's CA); nil is Dial's default.
func DialTLS(ctx context.Context, broker, prefix string, tc *tls.Config) (*Conn, error) {
	u, err := BrokerURL(broker)
	if err != nil {
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	o := mqtt.NewClientOptions().
		AddBroker(u).
		SetClientID(prefix + "-" + hex.EncodeToString(b[:])).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(5 * time.Minute)
	if tc != nil {
		o.SetTLSConfig(tlsFor(tc, broker))
	}
	c := &Conn{lost: make(chan struct{})}
	// Called once at most: without auto-reconnect a lost connection stays
	// lost, and a Close is not a loss.
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		c.lostErr = fmt.Errorf("connection to %s lost: %w", broker, err)
		close(c.lost)
	})
	c.cl = mqtt.NewClient(o)
	if err := waitToken(ctx, c.cl.Connect()); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", broker, err)
	}
	return c, nil
}

// Lost is closed when the connection to the broker drops (the broker
// stopped, the network went); LostErr then says why.
func (c *Conn) Lost() <-chan struct{} { return c.lost }

// LostErr is why the connection was lost, nil while it was not.
func (c *Conn) LostErr() error {
	select {
	case <-c.lost:
		return c.lostErr
	default:
		return nil
	}
}

// Close disconnects.
func (c *Conn) Close() { c.cl.Disconnect(250) }

// Publish sends payload with QoS 1 and waits for the broker's acknowledgement.
func (c *Conn) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	if err := waitToken(ctx, c.cl.Publish(topic, 1, retain, payload)); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Retained subscribes to filter and returns the retained messages the broker
// holds, by topic. It stops once no message came for quiet.
func (c *Conn) Retained(ctx context.Context, filter string, quiet time.Duration) (map[string][]byte, error) {
	var mu gosync.Mutex
	got := map[string][]byte{}
	bump := make(chan struct{}, 1)
	st := c.cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		if !m.Retained() {
			return
		}
		mu.Lock()
		if len(m.Payload()) == 0 {
			delete(got, m.Topic())
		} else {
			got[m.Topic()] = append([]byte(nil), m.Payload()...)
		}
		mu.Unlock()
		select {
		case bump <- struct{}{}:
		default:
		}
	})
	if err := waitToken(ctx, st); err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", filter, err)
	}
	defer c.cl.Unsubscribe(filter)
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-bump:
			t.Reset(quiet)
		case <-t.C:
			mu.Lock()
			defer mu.Unlock()
			return got, nil
		}
	}
}

// Subscribe calls fn for every message on filter (QoS 1) until Close.
// fn runs on paho's goroutine: it must not block.
func (c *Conn) Subscribe(ctx context.Context, filter string, fn func(topic string, payload []byte)) error {
	st := c.cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { fn(m.Topic(), m.Payload()) })
	if err := waitToken(ctx, st); err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return nil
}

// PublishAsync sends payload with QoS 1 without waiting for the broker
// (call signalling: ICE candidates must not queue behind each other).
func (c *Conn) PublishAsync(topic string, payload []byte) {
	c.cl.Publish(topic, 1, false, payload)
}

// SubscribeSnapshot is Subscribe at QoS 0, for readers of retained status
// across a fleet (hearthctl fleet). Mosquitto queues at most
// max_queued_messages (default 1000) QoS 1 messages for a subscriber beyond
// its in-flight window and drops the rest: a reader of 3,000 devices'
// retained state got 1,020 of them. At QoS 0 it got all 9,000 (state,
// heartbeat, availability); the status topics are snapshots that a reader
// can take again, so nothing needs acknowledging. fn runs on paho's
// goroutine: it must not block.
func (c *Conn) SubscribeSnapshot(ctx context.Context, filter string, fn func(topic string, payload []byte)) error {
	st := c.cl.Subscribe(filter, 0, func(_ mqtt.Client, m mqtt.Message) { fn(m.Topic(), m.Payload()) })
	if err := waitToken(ctx, st); err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return nil
}
