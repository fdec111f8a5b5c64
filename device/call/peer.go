package call

import (
	"errors"
	"fmt"
	"image"
	"io"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/sync/proto"
)

// callState is one call, owned by the Run goroutine (the gates and
// counters are also read by the media goroutines).
type callState struct {
	id     string
	host   string // caller id of who started the call
	name   string
	forced bool
	mode   proto.CallMode
	reason string
	phase  device.CallPhase

	peers map[string]*peer // by the participant's call id
	order []string
	added map[string]bool // callers the host let join

	capture Capture
	// keyframes is the capture too, for Pion's RTCP goroutines (keyframe
	// requests): set when it opens, cleared before it closes.
	keyframes    atomic.Pointer[keyframer]
	opening      bool // the capture is being opened
	video, audio *webrtc.TrackLocalStaticSample
	sendVideo    atomic.Bool
	sendAudio    atomic.Bool
	videoSent    atomic.Int64
	media        gosync.WaitGroup
	stopMedia    chan struct{}

	cameraOff, micOff bool
	announced         bool // the announcement (or ring) is over: media may flow
	extends           int  // how often the call was extended
	// waiting is a carer's forced invite that met this call while it
	// still had media: it takes the call's place if the call ends, or
	// has no media for preemptAfter, by waiting.at; else it is busy.
	waiting *waitingInvite

	limit, extra time.Duration
	invited      time.Time
	activeAt     time.Time
	announceEnd  time.Time
	ringEnd      time.Time
	nextRing     time.Time
	connectBy    time.Time
	ends         time.Time
	warned       bool
	clearAt      time.Time
	endReason    string
	endCause     device.EndCause
	endWho       string // who the end is about, when not the caller
	warnBefore   time.Duration
	picture      image.Image // the caller's, from the allowlist
}

// since is when the call began for the resident: when it was answered,
// or when it started ringing or being announced.
func (c *callState) since() time.Time {
	if !c.activeAt.IsZero() {
		return c.activeAt
	}
	return c.invited
}

func (c *callState) warnAt() time.Time {
	if c.ends.IsZero() || c.warned {
		return time.Time{}
	}
	return c.ends.Add(-c.warnBefore)
}

type waitingInvite struct {
	in     proto.Invite
	caller proto.AllowedCaller
	at     time.Time
}

// keyframer is what RTCP readers may ask of the capture.
type keyframer struct{ Capture }

// quietSince is when media (RTP) last came from any participant; a
// participant that never sent counts from its invite.
func (c *callState) quietSince() time.Time {
	last := c.invited
	for _, p := range c.peers {
		if p.invited.After(last) {
			last = p.invited
		}
		if ns := p.lastMedia.Load(); ns != 0 {
			if t := time.Unix(0, ns); t.After(last) {
				last = t
			}
		}
	}
	return last
}

// silentFor reports whether no participant has sent any media for d by now.
func (c *callState) silentFor(now time.Time, d time.Duration) bool {
	return now.Sub(c.quietSince()) >= d
}

// lostPeer returns a participant whose connection has been disconnected
// for lostAfter by now, if any.
func (c *callState) lostPeer(now time.Time) *peer {
	for _, id := range c.order {
		if p := c.peers[id]; !p.disconnectedAt.IsZero() && !now.Before(p.disconnectedAt.Add(lostAfter)) {
			return p
		}
	}
	return nil
}

func (c *callState) anyConnected() bool {
	for _, p := range c.peers {
		if !p.connectedAt.IsZero() {
			return true
		}
	}
	return false
}

// nextDeadline is the earliest instant at which the call must act.
func (c *callState) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch c.phase {
	case device.CallEnded:
		return c.clearAt
	case device.CallAnnouncing:
		consider(c.announceEnd)
	case device.CallRinging:
		consider(c.ringEnd)
		if c.nextRing.Before(c.ringEnd) {
			consider(c.nextRing)
		}
	}
	if !c.anyConnected() {
		consider(c.connectBy)
	}
	for _, p := range c.peers {
		if !p.disconnectedAt.IsZero() {
			consider(p.disconnectedAt.Add(lostAfter))
		}
	}
	if c.waiting != nil {
		consider(c.waiting.at)
	}
	consider(c.ends)
	consider(c.warnAt())
	return next
}

// peer is one remote participant's PeerConnection.
type peer struct {
	call    string // the participant's own call id
	caller  proto.AllowedCaller
	name    string
	offer   string
	invited time.Time
	pc      *webrtc.PeerConnection
	pending []webrtc.ICECandidateInit // remote candidates that came early

	connectedAt time.Time
	// disconnectedAt is when the connection went disconnected (zero while
	// it is not); owned by Run.
	disconnectedAt time.Time
	// lastMedia is when RTP last came from this participant (UnixNano on
	// the Manager's clock; zero: never), written by the track readers.
	lastMedia    atomic.Int64
	readers      gosync.WaitGroup
	audioPackets atomic.Int64
	mu           gosync.Mutex
	decoder      VideoDecoder
	first        time.Time
}

func (p *peer) frames() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.decoder == nil {
		return 0
	}
	return p.decoder.FramesDecoded()
}

func (p *peer) firstFrame() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first
}

// NewAPI builds Pion as both ends of a Hearth call use it: VP8 and Opus,
// NACK and RTCP reports, no mDNS, UDP, and ICE timeouts of seconds. The
// device, hearthctl's caller and the bench's baseline pair share it.
func NewAPI(loopback bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return nil, fmt.Errorf("call: codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("call: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	// No mDNS: callers that use their camera expose real host candidates,
	// and multicast is not there on loopback or in a network namespace.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(loopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// Notice a vanished caller within seconds, not Pion's default 30: the
	// connection is disconnected after 1.5 s without a packet (media, or
	// the answers to keepalives sent every 0.5 s; pion/ice checks every
	// keepalive), and the device drops the participant lostAfter later.
	// Failed (disconnected + failed: 9.5 s without a packet) is also
	// ICE's limit for connecting at all (pion/ice initialCheckingTimeout),
	// so it is left long: a caller behind TURN may take seconds.
	se.SetICETimeouts(1500*time.Millisecond, 8*time.Second, 500*time.Millisecond)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// registerCodecs registers the only codecs a Hearth call uses, VP8 (with
// its retransmission format) and Opus, as Pion's RegisterDefaultCodecs
// defines them. Pion's whole default set (H.264 in six profiles, VP9, AV1,
// H.265, G.722, G.711, each video codec with RTX) made SetRemoteDescription
// match every offered format against every registered one, parsing their
// fmtp lines each time: ~2 ms of the device's ~3 ms from offer to answer.
func registerCodecs(me *webrtc.MediaEngine) error {
	feedback := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for _, c := range []struct {
		webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback}}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{PayloadType: 97, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}}, webrtc.RTPCodecTypeVideo},
	} {
		if err := me.RegisterCodec(c.RTPCodecParameters, c.kind); err != nil {
			return err
		}
	}
	return nil
}

// makeTracks makes the call's outgoing tracks, before the camera is open,
// so the answer can go out at once.
func (m *Manager) makeTracks(c *callState) error {
	stream := "hearth-" + m.opt.Device
	devs := m.opt.Live.Get().Devices
	var err error
	if devs.Camera && c.video == nil {
		c.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", stream)
		if err != nil {
			return fmt.Errorf("video track: %w", err)
		}
	}
	if devs.Microphone && c.audio == nil {
		c.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
		if err != nil {
			return fmt.Errorf("audio track: %w", err)
		}
	}
	return nil
}

// openCapture opens camera and microphone in the background (it takes
// ~100 ms, while ICE connects); captureReady takes the result on the Run
// goroutine. Run waits for the opener when it ends; a capture that opens
// after Run has ended is closed by the opener itself.
func (m *Manager) openCapture(c *callState) {
	c.opening = true
	m.openers.Add(1)
	go func() {
		defer m.openers.Done()
		cp, err := m.opt.Media.OpenCapture()
		if m.post(func() { m.captureReady(c, cp, err) }) || err != nil {
			return
		}
		if err := cp.Close(); err != nil {
			m.log.Warn("call: close capture", "call", c.id, "err", err)
		}
		m.log.Info("call: camera and microphone closed (the call side stopped while they opened)", "call", c.id)
	}()
}

// captureReady starts writing the capture's samples into the tracks,
// through the gates. A capture that arrives after its call ended is closed.
func (m *Manager) captureReady(c *callState, cp Capture, err error) {
	c.opening = false
	if err != nil {
		if m.cur == c && c.phase != device.CallEnded {
			m.end(c, device.EndNoConnect, "", "camera and microphone: "+err.Error())
		}
		return
	}
	if m.cur != c || c.phase == device.CallEnded {
		if m.shutCapture(c, cp, func() {}) {
			m.log.Info("call: camera and microphone closed (the call ended while they opened)", "call", c.id)
		}
		return
	}
	c.capture = cp
	c.keyframes.Store(&keyframer{cp})
	c.stopMedia = make(chan struct{})
	if cp.HasVideo() && c.video != nil {
		c.media.Add(2)
		go func() {
			defer c.media.Done()
			for {
				s, err := cp.ReadVideo()
				if err != nil {
					return
				}
				if !c.sendVideo.Load() {
					continue
				}
				if err := c.video.WriteSample(media.Sample{Data: s.Data, Duration: s.Duration}); err == nil {
					c.videoSent.Add(1)
				}
			}
		}()
		go func() {
			defer c.media.Done()
			frames := cp.SelfFrames()
			for {
				select {
				case <-c.stopMedia:
					return
				case img, ok := <-frames:
					if !ok {
						return
					}
					m.opt.Display.SelfFrame(img)
				}
			}
		}()
	}
	if cp.HasAudio() && c.audio != nil {
		c.media.Add(1)
		go func() {
			defer c.media.Done()
			for {
				s, err := cp.ReadAudio()
				if err != nil {
					return
				}
				if c.sendAudio.Load() {
					_ = c.audio.WriteSample(media.Sample{Data: s.Data, Duration: s.Duration})
				}
			}
		}()
	}
	m.log.Info("call: camera and microphone open", "call", c.id, "camera", cp.HasVideo(), "microphone", cp.HasAudio())
	m.updateGates(c)
	m.show(c)
}

// updateGates lets media out once the announcement is over, as the remote
// controls allow. Opening the video asks for a keyframe.
func (m *Manager) updateGates(c *callState) {
	if c.capture == nil {
		return
	}
	video := c.announced && !c.cameraOff && c.phase != device.CallEnded
	if video && !c.sendVideo.Load() {
		c.capture.RequestKeyframe()
	}
	c.sendVideo.Store(video)
	c.sendAudio.Store(c.announced && !c.micOff && c.phase != device.CallEnded)
}

// closeCapture closes the camera and microphone and waits (bounded) for
// the goroutines that pumped them.
func (m *Manager) closeCapture(c *callState) {
	c.sendVideo.Store(false)
	c.sendAudio.Store(false)
	if c.capture == nil {
		return
	}
	c.keyframes.Store(nil)
	close(c.stopMedia)
	cp := c.capture
	c.capture = nil
	if m.shutCapture(c, cp, c.media.Wait) {
		m.log.Info("call: camera and microphone closed", "call", c.id)
	}
}

// shutCapture closes cp and then runs settle (waiting for what pumped
// it), within closeWait; beyond that it is left counted as stuck (see
// waitClosed). It reports whether both were done in time.
func (m *Manager) shutCapture(c *callState, cp Capture, settle func()) bool {
	done := make(chan struct{})
	go func() {
		if err := cp.Close(); err != nil {
			m.log.Warn("call: close capture", "call", c.id, "err", err)
		}
		settle()
		close(done)
	}()
	return m.waitClosed(done, "camera and microphone did not close", "call", c.id)
}

// answer makes the peer connection for p and sends the device's answer.
func (m *Manager) answer(c *callState, p *peer) error {
	pc, err := m.api.NewPeerConnection(webrtc.Configuration{ICEServers: m.opt.ICEServers})
	if err != nil {
		return fmt.Errorf("peer connection: %w", err)
	}
	p.pc = pc
	for _, tr := range []*webrtc.TrackLocalStaticSample{c.video, c.audio} {
		if tr == nil {
			continue
		}
		sender, err := pc.AddTrack(tr)
		if err != nil {
			return fmt.Errorf("add track: %w", err)
		}
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			m.readRTCP(c, sender)
		}()
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			m.readTrack(p, tr)
		}()
	})
	caller := p.caller.ID
	// Candidates gathered before the answer is out wait for it: a caller
	// cannot use them before it has the answer.
	var candMu gosync.Mutex
	var held []string
	answered := false
	sendCand := func(js string) {
		m.opt.Out.Reply(caller, m.reply(proto.SignalCandidate, p.call, func(r *proto.Reply) { r.Data = js }))
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		js := candidateJSON(cand.ToJSON())
		candMu.Lock()
		defer candMu.Unlock()
		if !answered {
			held = append(held, js)
			return
		}
		sendCand(js)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		m.post(func() { m.peerState(c, p, s) })
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.offer}); err != nil {
		return fmt.Errorf("caller's offer: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	m.opt.Out.Reply(caller, m.reply(proto.SignalAnswer, p.call, func(r *proto.Reply) { r.SDP = pc.LocalDescription().SDP }))
	candMu.Lock()
	answered = true
	for _, js := range held {
		sendCand(js)
	}
	held = nil
	candMu.Unlock()
	for _, cand := range p.pending {
		if err := pc.AddICECandidate(cand); err != nil {
			m.log.Warn("call: add early candidate", "call", p.call, "err", err)
		}
	}
	p.pending = nil
	return nil
}

// readRTCP serves the caller's keyframe requests.
func (m *Manager) readRTCP(c *callState, s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if k := c.keyframes.Load(); k != nil {
					k.RequestKeyframe()
				}
			}
		}
	}
}

// readTrack decodes a participant's picture to the screen and plays their
// sound.
func (m *Manager) readTrack(p *peer, tr *webrtc.TrackRemote) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		sp := m.opt.Media.Speaker()
		defer sp.RemoveStream(p.caller.ID)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.lastMedia.Store(m.opt.Clock.Now().UnixNano())
			p.audioPackets.Add(1)
			sp.Push(p.caller.ID, pkt.Payload)
		}
	}
	pc := p.pc
	ssrc := uint32(tr.SSRC())
	who := p.caller.ID
	dec := m.opt.Media.NewVideoDecoder(func(img image.Image) {
		p.mu.Lock()
		if p.first.IsZero() {
			p.first = m.opt.Clock.Now()
		}
		p.mu.Unlock()
		m.opt.Display.RemoteFrame(who, img)
	}, func() {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	})
	p.mu.Lock()
	p.decoder = dec
	p.mu.Unlock()
	defer dec.Close()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				m.log.Debug("call: remote video ended", "participant", who, "err", err)
			}
			return
		}
		p.lastMedia.Store(m.opt.Clock.Now().UnixNano())
		dec.Push(pkt)
	}
}

// closePeers closes the participants' connections together and waits
// (bounded) for them and their readers.
func (m *Manager) closePeers(c *callState, ps ...*peer) {
	var wg gosync.WaitGroup
	for _, p := range ps {
		if p.pc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.pc.Close(); err != nil {
				m.log.Warn("call: close peer connection", "call", c.id, "participant", p.caller.ID, "err", err)
			}
			p.readers.Wait()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	m.waitClosed(done, "peer connections did not close", "call", c.id)
}
