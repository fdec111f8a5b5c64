package call

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// cutNet is the host's network for a Pion peer, with a switch that makes
// the peer vanish: from then on nothing it sends leaves and nothing
// reaches it, as when a browser is killed or a laptop's lid shuts. No
// DTLS close, no hangup.
type cutNet struct {
	transport.Net
	cut atomic.Bool
}

func (n *cutNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &cutConn{UDPConn: c, cut: &n.cut}, nil
}

// cutConn hides the socket's ReadFromAddrPort/WriteToAddrPort, so Pion
// uses ReadFrom and WriteTo, which the switch controls.
type cutConn struct {
	transport.UDPConn
	cut *atomic.Bool
}

func (c *cutConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c *cutConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.cut.Load() {
			return n, a, err
		}
	}
}

// pionCaller is the far side in Go, with test RTP (audio every 20 ms)
// and a network that can be cut.
type pionCaller struct {
	t    *testing.T
	pc   *webrtc.PeerConnection
	net  *cutNet
	stop chan struct{}
	wg   gosync.WaitGroup
}

func newPionCaller(t *testing.T) *pionCaller {
	t.Helper()
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	c := &pionCaller{t: t, net: &cutNet{Net: std}, stop: make(chan struct{})}
	se := webrtc.SettingEngine{}
	se.SetNet(c.net)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	if c.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "caller")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.pc.AddTrack(audio); err != nil {
		t.Fatal(err)
	}
	if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}()
	})
	c.wg.Add(1)
	go func() { // Opus-sized packets, 50 a second, as a browser sends
		defer c.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq,
					Timestamp: uint32(seq) * 960}, Payload: make([]byte, 80)})
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *pionCaller) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	_ = c.pc.Close()
	c.wg.Wait()
}

// offer makes the offer with every candidate in it (loopback: at once).
func (c *pionCaller) offer() string {
	c.t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	return c.pc.LocalDescription().SDP
}

// handle takes the device's replies (answer and candidates).
func (c *pionCaller) handle(r proto.Reply) {
	switch r.Type {
	case proto.SignalAnswer:
		_ = c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.SDP})
	case proto.SignalCandidate:
		var cand webrtc.ICECandidateInit
		if json.Unmarshal([]byte(r.Data), &cand) == nil {
			_ = c.pc.AddICECandidate(cand)
		}
	}
}

// relay hands the device's replies to a caller, in order, on one goroutine.
type relay struct {
	mu gosync.Mutex
	r  []proto.Reply
	ch chan proto.Reply
}

func (o *relay) Reply(_ string, r proto.Reply) {
	o.mu.Lock()
	o.r = append(o.r, r)
	o.mu.Unlock()
	select {
	case o.ch <- r:
	default:
	}
}

func (o *relay) find(call, typ string) (proto.Reply, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.r {
		if r.Call == call && r.Type == typ {
			return r, true
		}
	}
	return proto.Reply{}, false
}

// A caller that vanishes mid-call (its network cut: no hangup, no DTLS
// close) ends the call with "lost the connection to Anna", and the device
// is available again within 5 s (the product's requirement).
func TestDeadPeerWithinFiveSeconds(t *testing.T) {
	orgPub, org, _ := ed25519.GenerateKey(nil)
	annaPub, anna, _ := ed25519.GenerateKey(nil)
	auth, err := callauth.New(orgPub, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := proto.Allowlist{V: 1, Serial: 1, Callers: []proto.AllowedCaller{
		{ID: "anna", Name: "Anna", Key: annaPub, Mode: []proto.CallMode{proto.ModeForced, proto.ModeSignalled}}}}
	list.Sig = ed25519.Sign(org, list.SigningBytes())
	live := device.NewLive(device.State{Devices: device.Devices{Camera: true, Microphone: true, Speaker: true}}, nil, time.UTC)
	out := &relay{ch: make(chan proto.Reply, 256)}
	scr := &views{}
	var events []Event
	var evMu gosync.Mutex
	m, err := New(Options{Device: "mum", Auth: auth, Clock: clock.Real(), Display: scr, Out: out, Media: &fakeMedia{},
		Live: live, Loopback: true, Announce: 200 * time.Millisecond,
		Activity: func(e Event) { evMu.Lock(); events = append(events, e); evMu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetAllowlist(list); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	type seen struct {
		state proto.AvailabilityState
		at    time.Time
	}
	avail := make(chan seen, 64)
	wg.Add(2)
	go func() { defer wg.Done(); m.Run(ctx) }()
	go func() {
		defer wg.Done()
		device.PublishAvailability(ctx, live, nil, "mum", "Mum's kitchen", func(a proto.Availability) {
			select {
			case avail <- seen{a.State, time.Now()}:
			default:
			}
		})
	}()

	c := newPionCaller(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-out.ch:
				c.handle(r)
			}
		}
	}()
	now := time.Now().UTC()
	in := proto.Invite{V: 1, Type: proto.SignalInvite, Call: "c-1", Device: "mum", Caller: "anna", CallerName: "Anna",
		Mode: proto.ModeForced, Created: now, Expires: now.Add(2 * time.Minute), Offer: c.offer()}
	in.Sig = ed25519.Sign(anna, in.SigningBytes())
	m.Deliver(proto.CallIn{Invite: &in})
	waitUntil(t, "the call active", func() bool { return scr.last().Phase == device.CallActive })
	time.Sleep(time.Second) // media flows for a while

	c.net.cut.Store(true)
	cut := time.Now()
	var back time.Time
	deadline := time.After(10 * time.Second)
	for back.IsZero() {
		select {
		case s := <-avail:
			if s.state == proto.AvailAvailable && s.at.After(cut) {
				back = s.at
			}
		case <-deadline:
			t.Fatalf("not available 10 s after the caller vanished; screen %+v", scr.last())
		}
	}
	took := back.Sub(cut)
	// The availability is published from Live's watcher, the hangup by the
	// call's goroutine just after it set the phase: either may come first.
	var r proto.Reply
	waitUntil(t, "the hangup to the caller", func() bool {
		var ok bool
		r, ok = out.find("c-1", proto.SignalHangup)
		return ok
	})
	t.Logf("caller vanished: available again after %v; hangup reason %q", took.Round(time.Millisecond), r.Reason)
	if r.Reason != "lost the connection to Anna" {
		t.Errorf("hangup reason %q, want %q", r.Reason, "lost the connection to Anna")
	}
	if took > 5*time.Second {
		t.Fatalf("available %v after the caller vanished, want within 5 s", took)
	}
}
