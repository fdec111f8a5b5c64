package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/cmd/internal/caller"
	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/media"
)

// The in-process baseline of hearthctl call: two Pion peer connections in
// this process, both with the test camera and microphone already open,
// offer, answer and trickled candidates handed across directly. It is what
// hearthctl call and hearthd do minus the broker, the signatures, the
// device's checks and opening the camera per call.

// pairRun is one pair's set-up, timed like hearthctl call times its own:
// from the offer being set locally (where hearthctl publishes the invite)
// to the offerer's peer connection connected (ICE and DTLS) and to its
// first decoded frame of the answerer's picture. offer is the time from
// CreateOffer to that start, left out of the other two.
type pairRun struct {
	offer, connected, firstPacket, firstFrame time.Duration
}

// pairAPI sets Pion up as device/call and the caller package do.
func pairAPI() (*webrtc.API, error) { return call.NewAPI(true) }

// pairPeer is one side of the pair.
type pairPeer struct {
	name string
	pc   *webrtc.PeerConnection
	capt call.Capture
	m    call.Media
	wg   gosync.WaitGroup
	stop chan struct{}

	mu        gosync.Mutex
	remoteSet bool
	pending   []webrtc.ICECandidateInit

	t0          atomic.Int64 // UnixNano of the start
	connected   atomic.Int64 // ns after t0; 0: not yet
	firstPacket atomic.Int64 // of video
	firstFrame  atomic.Int64
	failed      chan struct{}
	failOnce    gosync.Once
}

func newPairPeer(api *webrtc.API, m call.Media, name string) (*pairPeer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &pairPeer{name: name, pc: pc, m: m, stop: make(chan struct{}), failed: make(chan struct{})}
	capt, err := m.OpenCapture()
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("%s: open test capture: %w", name, err)
	}
	p.capt = capt
	if err := p.addTracks(); err != nil {
		p.close()
		return nil, err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.readTrack(tr)
		}()
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.connected.CompareAndSwap(0, p.since())
			// The frames encoded before now went nowhere: start the
			// picture with a keyframe rather than wait for the far
			// side's decoder to ask for one.
			p.capt.RequestKeyframe()
		case webrtc.PeerConnectionStateFailed:
			p.failOnce.Do(func() { close(p.failed) })
		}
	})
	return p, nil
}

func (p *pairPeer) since() int64 { return max(1, time.Now().UnixNano()-p.t0.Load()) }

func (p *pairPeer) addTracks() error {
	return caller.SendCapture(p.pc, p.capt, "bench-"+p.name, &p.wg, p.stop)
}

func (p *pairPeer) readTrack(tr *webrtc.TrackRemote) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	}
	ssrc := uint32(tr.SSRC())
	dec := p.m.NewVideoDecoder(func(image.Image) {
		p.firstFrame.CompareAndSwap(0, p.since())
	}, func() {
		_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	})
	defer dec.Close()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) > 0 {
			p.firstPacket.CompareAndSwap(0, p.since())
			dec.Push(pkt)
		}
	}
}

// addCandidate takes the other side's candidate, kept until this side has
// the remote description (as hearthd and the caller keep early ones).
func (p *pairPeer) addCandidate(c webrtc.ICECandidateInit) {
	p.mu.Lock()
	if !p.remoteSet {
		p.pending = append(p.pending, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = p.pc.AddICECandidate(c)
}

func (p *pairPeer) setRemote(d webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(d); err != nil {
		return fmt.Errorf("%s: set remote description: %w", p.name, err)
	}
	p.mu.Lock()
	p.remoteSet = true
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, c := range pending {
		_ = p.pc.AddICECandidate(c)
	}
	return nil
}

// close shuts the peer connection first, then the capture (the order
// device/call found safe), and waits for the media goroutines.
func (p *pairPeer) close() {
	_ = p.pc.Close()
	close(p.stop)
	if p.capt != nil {
		_ = p.capt.Close()
	}
	p.wg.Wait()
}

// trickle hands from's candidates to to as they are gathered.
func trickle(from, to *pairPeer) {
	from.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			to.addCandidate(c.ToJSON())
		}
	})
}

var errPairTimeout = errors.New("no connection and first frame within 10 s")

// pionPair connects one pair and times it.
func pionPair(ctx context.Context, log *slog.Logger) (pairRun, error) {
	var r pairRun
	api, err := pairAPI()
	if err != nil {
		return r, err
	}
	quiet := slog.New(slog.DiscardHandler)
	m := callmedia.New(media.KindTest, quiet)
	caller, err := newPairPeer(api, m, "caller")
	if err != nil {
		return r, err
	}
	defer caller.close()
	device, err := newPairPeer(api, m, "device")
	if err != nil {
		return r, err
	}
	defer device.close()
	trickle(caller, device)
	trickle(device, caller)

	start := time.Now()
	offer, err := caller.pc.CreateOffer(nil)
	if err != nil {
		return r, err
	}
	if err := caller.pc.SetLocalDescription(offer); err != nil {
		return r, err
	}
	t0 := time.Now()
	r.offer = t0.Sub(start)
	caller.t0.Store(t0.UnixNano())
	device.t0.Store(t0.UnixNano())
	if err := device.setRemote(offer); err != nil {
		return r, err
	}
	answer, err := device.pc.CreateAnswer(nil)
	if err != nil {
		return r, err
	}
	if err := device.pc.SetLocalDescription(answer); err != nil {
		return r, err
	}
	if err := caller.setRemote(answer); err != nil {
		return r, err
	}

	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for caller.connected.Load() == 0 || caller.firstFrame.Load() == 0 {
		select {
		case <-tick.C:
		case <-caller.failed:
			return r, errors.New("the caller's connection failed")
		case <-deadline:
			return r, errPairTimeout
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	r.connected = time.Duration(caller.connected.Load())
	r.firstFrame = time.Duration(caller.firstFrame.Load())
	r.firstPacket = time.Duration(caller.firstPacket.Load())
	log.Debug("calls: pion pair", "device_first_frame_ms", time.Duration(device.firstFrame.Load()).Milliseconds())
	return r, nil
}
