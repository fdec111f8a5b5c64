package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/cmd/internal/caller"
	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// A flood of forged invites through a real Mosquitto (thousands a second
// for a few seconds, some claiming the nurse's id with bad signatures,
// the rest from strangers) does not keep the nurse's valid forced call
// out: it is answered within 10 s, and hearthd keeps running.
func TestFloodOfForgedInvitesOverMQTT(t *testing.T) {
	b, _, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startConnected(t, append(args, "--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"),
		"--announce", "1s", "--ring", "1s"))
	d.waitLog("allowlist installed", 10*time.Second)
	nurse, err := provisioning.LoadCaller(filepath.Join(keys, "nurse"))
	if err != nil {
		t.Fatal(err)
	}

	// Forged invites, made beforehand so the flood is as fast as the link.
	_, mallory, _ := ed25519.GenerateKey(nil)
	const variety = 2000
	payloads := make([][]byte, variety)
	now := time.Now().UTC()
	for i := range payloads {
		in := proto.Invite{V: proto.Version, Type: proto.SignalInvite, Call: fmt.Sprintf("c-forged-%d", i), Device: "mum-kitchen",
			Caller: nurse.ID, CallerName: "Nurse Eva", Mode: proto.ModeForced, Reason: "forged",
			Created: now, Expires: now.Add(5 * time.Minute), Offer: fakeOffer}
		if i%2 == 1 {
			in.Caller = fmt.Sprintf("mallory-%d", i)
		}
		in.Sig = ed25519.Sign(mallory, in.SigningBytes())
		payloads[i], _ = json.Marshal(in)
	}

	flood := floodCallIn(t, b.URL(), proto.CallInTopic("mum-kitchen"), payloads, 4, 6*time.Second)
	time.Sleep(2 * time.Second) // the flood at full strength

	c, wait := goCall(t, b.URL(), nurse, proto.ModeForced)
	start := time.Now()
	answered := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c.Snapshot().Answered {
			answered = true
			break
		}
		select {
		case <-c.Done():
			t.Fatalf("the nurse's call ended during the flood: %+v", c.Snapshot())
		default:
		}
	}
	took := time.Since(start)
	sent, secs := flood()
	t.Logf("flood: %d forged invites in %.1f s (%.0f/s); the nurse's forced call answered %v after its invite (%v)",
		sent, secs, float64(sent)/secs, answered, took.Round(time.Millisecond))
	if !answered {
		t.Fatalf("the nurse's forced call was not answered within 10 s of a flood: %+v", c.Snapshot())
	}
	if !d.running() {
		t.Fatalf("hearthd stopped during the flood")
	}
	_ = c.Hangup()
	wait()
	d.stop()
}

// fakeOffer is an SDP offer's size and shape (a browser's is ~4 KiB); the
// device never gets to read a forged one.
var fakeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	fmt.Sprintf("a=x-padding:%0*d\r\n", 3500, 0)

// floodCallIn publishes payloads round and round on topic from n clients
// (QoS 0, as fast as the link takes them) for d; stop ends it early and
// returns how many were sent and over how long.
func floodCallIn(t *testing.T, broker, topic string, payloads [][]byte, n int, d time.Duration) (stop func() (int64, float64)) {
	t.Helper()
	var sent atomic.Int64
	done := make(chan struct{})
	var wg gosync.WaitGroup
	start := time.Now()
	for i := range n {
		o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("flood-%d", i)).SetAutoReconnect(false)
		cl := mqtt.NewClient(o)
		if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("flood client: %v", tok.Error())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Disconnect(50)
			end := time.After(d)
			for j := i; ; j++ {
				select {
				case <-done:
					return
				case <-end:
					return
				default:
				}
				tok := cl.Publish(topic, 0, false, payloads[j%len(payloads)])
				if j%64 == 0 { // keep paho's queue short
					tok.WaitTimeout(time.Second)
				}
				sent.Add(1)
			}
		}()
	}
	var once gosync.Once
	var secs float64
	stop = func() (int64, float64) {
		once.Do(func() {
			close(done)
			wg.Wait()
			secs = time.Since(start).Seconds()
		})
		return sent.Load(), secs
	}
	t.Cleanup(func() { stop() })
	return stop
}

// goCall places a call from who to mum-kitchen with cmd/internal/caller
// over the broker (test media, loopback); wait closes it.
func goCall(t *testing.T, broker string, who provisioning.Caller, mode proto.CallMode) (c *caller.Caller, wait func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := hsync.Dial(ctx, broker, "caller-"+who.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err = caller.New(caller.Options{Device: "mum-kitchen", Caller: who, Mode: mode, Reason: "Morning medicine check",
		Media: callmedia.New(media.KindTest, nil), Loopback: true,
		Send: func(p []byte) error { conn.PublishAsync(proto.CallInTopic("mum-kitchen"), p); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Subscribe(ctx, proto.CallOutTopic("mum-kitchen", who.ID), func(_ string, p []byte) {
		if r, err := proto.DecodeReply(p); err == nil {
			c.Handle(r)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var once gosync.Once
	wait = func() {
		once.Do(func() {
			c.Close()
			cancel()
			conn.Close()
		})
	}
	t.Cleanup(wait)
	return c, wait
}
