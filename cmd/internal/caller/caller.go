// Package caller is the far side of a Hearth call, in Go: it offers, sends
// test media, and measures what comes back. hearthctl call uses it, and so
// do the Pion-to-Pion tests and the benchmarks.
package caller

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// gatherWait is how long the caller waits for its ICE candidates before
// it sends the invite without the rest (they trickle after it).
const gatherWait = 100 * time.Millisecond

// Options describes one call.
type Options struct {
	Device string
	Caller provisioning.Caller
	Mode   proto.CallMode
	Reason string
	// Limit is the call's length asked in the invite; zero leaves it to the device.
	Limit time.Duration
	// Join joins a call in progress (a group call) by its id.
	Join string
	// Media gives the test camera and microphone and the decoders.
	Media call.Media
	// Send publishes a payload on the device's call/in topic.
	Send     func(payload []byte) error
	Loopback bool
	Logger   *slog.Logger
	// Now is the clock for the invite's and signals' times (default time.Now).
	Now func() time.Time
}

// Result is what happened, for hearthctl call --json.
type Result struct {
	Device   string `json:"device"`
	Call     string `json:"call"`
	Mode     string `json:"mode"`
	Answered bool   `json:"answered"`
	Busy     bool   `json:"busy,omitempty"`
	// BusyWith and BusySince: whom the device was busy with and since
	// when, told to carers only.
	BusyWith      string    `json:"busy_with,omitempty"`
	BusySince     time.Time `json:"busy_since,omitzero"`
	RefusedReason string    `json:"refused_reason,omitempty"`
	EndReason     string    `json:"end_reason,omitempty"`
	// OfferToInviteMs is the time from the offer set locally to the
	// invite's publication: gathering the candidates that go inside it.
	OfferToInviteMs int64 `json:"offer_to_invite_ms"`
	// Times from publishing the invite, in milliseconds (0: never).
	AnswerMs       int64 `json:"answer_ms"`
	ICEConnectedMs int64 `json:"ice_connected_ms"`
	FirstVideoMs   int64 `json:"first_video_packet_ms"`
	FirstFrameMs   int64 `json:"first_frame_ms"`
	// Phases seen, with their time from the invite.
	Phases               []Phase `json:"phases,omitempty"`
	VideoFramesReceived  int     `json:"video_frames_received"`
	VideoPacketsReceived int64   `json:"video_packets_received"`
	AudioPacketsReceived int64   `json:"audio_packets_received"`
	CameraOn             *bool   `json:"camera_on,omitempty"`
	DurationMs           int64   `json:"duration_ms"`
}

// Phase is one state the device reported.
type Phase struct {
	Phase string `json:"phase"`
	AtMs  int64  `json:"at_ms"`
}

// Caller is one outgoing call.
type Caller struct {
	opt  Options
	log  *slog.Logger
	id   string
	api  *webrtc.API
	pc   *webrtc.PeerConnection
	capt call.Capture
	dec  call.VideoDecoder

	inbox     chan proto.Reply
	done      chan struct{}
	once      gosync.Once
	closeOnce gosync.Once

	mu       gosync.Mutex
	res      Result
	sent     time.Time
	pending  []webrtc.ICECandidateInit
	answered bool

	videoPackets atomic.Int64
	audioPackets atomic.Int64
	firstVideo   atomic.Int64
	firstFrame   atomic.Int64
	media        gosync.WaitGroup
	stopMedia    chan struct{}
}

// New prepares a call with a fresh random call id.
func New(opt Options) (*Caller, error) {
	if opt.Media == nil || opt.Send == nil {
		return nil, errors.New("caller: Media and Send are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Mode == "" {
		opt.Mode = proto.ModeSignalled
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "c-" + hex.EncodeToString(b[:])
	api, err := call.NewAPI(opt.Loopback)
	if err != nil {
		return nil, err
	}
	c := &Caller{
		opt: opt, id: id, log: opt.Logger.With("component", "caller", "call", id),
		api:   api,
		inbox: make(chan proto.Reply, 256), done: make(chan struct{}), stopMedia: make(chan struct{}),
	}
	c.res = Result{Device: opt.Device, Call: id, Mode: string(opt.Mode)}
	return c, nil
}

// ID is the call id.
func (c *Caller) ID() string { return c.id }

// Done is closed when the call is over (refused, busy, hung up).
func (c *Caller) Done() <-chan struct{} { return c.done }

// Handle takes a reply from the device (from call/out/{caller}).
func (c *Caller) Handle(r proto.Reply) {
	if r.Call != c.id {
		return
	}
	select {
	case c.inbox <- r:
	default:
		c.log.Warn("caller: reply queue full")
	}
}

// Start opens the test media, offers and sends the signed invite; then it
// handles replies until ctx ends or the call is over.
func (c *Caller) Start(ctx context.Context) error {
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("caller: %w", err)
	}
	c.pc = pc
	capt, err := c.opt.Media.OpenCapture()
	if err != nil {
		return fmt.Errorf("caller: media: %w", err)
	}
	c.capt = capt
	if err := c.addTracks(capt); err != nil {
		return err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.media.Add(1)
		go func() {
			defer c.media.Done()
			c.readTrack(tr)
		}()
	})
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		c.mu.Lock()
		inOffer := c.sent.IsZero() // gathered before the invite: it is in the offer
		c.mu.Unlock()
		if inOffer {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		if err := c.signal(proto.SignalCandidate, string(b)); err != nil {
			c.log.Warn("caller: send candidate", "err", err)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("caller: connection", "state", s)
		if s == webrtc.PeerConnectionStateConnected {
			c.mu.Lock()
			if c.res.ICEConnectedMs == 0 {
				c.res.ICEConnectedMs = max(1, time.Since(c.sent).Milliseconds())
			}
			c.mu.Unlock()
		}
		if s == webrtc.PeerConnectionStateFailed {
			c.finish(func(r *Result) { r.EndReason = "connection failed" })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("caller: offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("caller: offer: %w", err)
	}
	offered := time.Now()
	// Candidates go inside the invite when they come quickly (host
	// candidates, no STUN: 1-2 ms), later ones trickle. Each trickled
	// candidate is a QoS 1 publish whose PUBACK the broker sends back; the
	// last of these, not yet acknowledged by our TCP (delayed ACK, ~40 ms),
	// held the device's answer in Mosquitto's Nagle buffer in half the calls
	// (answer after ~45 ms instead of ~10).
	select {
	case <-gathered:
	case <-time.After(gatherWait):
	case <-ctx.Done():
		return ctx.Err()
	}
	now := c.opt.Now().UTC()
	in := proto.Invite{
		V: proto.Version, Type: proto.SignalInvite, Call: c.id, Device: c.opt.Device,
		Caller: c.opt.Caller.ID, CallerName: c.opt.Caller.Name, Mode: c.opt.Mode, Reason: c.opt.Reason,
		Join: c.opt.Join, LimitS: int(c.opt.Limit / time.Second),
		Created: now, Expires: now.Add(2 * time.Minute),
	}
	// The offer and the switch to trickling are one step, and trickled
	// candidates wait for the invite to be on its way (a candidate that
	// reached the device before the invite would be dropped).
	c.mu.Lock()
	defer c.mu.Unlock()
	in.Offer = pc.LocalDescription().SDP
	in.Sig = ed25519.Sign(c.opt.Caller.Key, in.SigningBytes())
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("caller: invite: %w", err)
	}
	c.sent = time.Now()
	c.res.OfferToInviteMs = c.sent.Sub(offered).Milliseconds()
	if err := c.opt.Send(b); err != nil {
		return fmt.Errorf("caller: send invite: %w", err)
	}
	go c.loop(ctx)
	return nil
}

func (c *Caller) addTracks(capt call.Capture) error {
	return SendCapture(c.pc, capt, "caller-"+c.opt.Caller.ID, &c.media, c.stopMedia)
}

// SendCapture adds capt's video and audio to pc as tracks of stream and
// writes its samples into them until the capture closes. It serves the
// far side's keyframe requests and drains the self view nobody looks at;
// its goroutines are counted in wg and the self-view one ends with stop.
// The caller and the bench's baseline pair send test media this way.
func SendCapture(pc *webrtc.PeerConnection, capt call.Capture, stream string, wg *gosync.WaitGroup, stop <-chan struct{}) error {
	pump := func(read func() (call.Sample, error), tr *webrtc.TrackLocalStaticSample) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s, err := read()
				if err != nil {
					return
				}
				_ = tr.WriteSample(media.Sample{Data: s.Data, Duration: s.Duration})
			}
		}()
	}
	if capt.HasVideo() {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", stream)
		if err != nil {
			return err
		}
		s, err := pc.AddTrack(tr)
		if err != nil {
			return err
		}
		pump(capt.ReadVideo, tr)
		wg.Add(2)
		go func() { // keyframe requests
			defer wg.Done()
			for {
				pk, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pk {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						capt.RequestKeyframe()
					}
				}
			}
		}()
		go func() { // nobody looks at the sender's own picture
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case _, ok := <-capt.SelfFrames():
					if !ok {
						return
					}
				}
			}
		}()
	}
	if capt.HasAudio() {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
		if err != nil {
			return err
		}
		if _, err := pc.AddTrack(tr); err != nil {
			return err
		}
		pump(capt.ReadAudio, tr)
	}
	return nil
}

func (c *Caller) since() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(1, time.Since(c.sent).Milliseconds())
}

func (c *Caller) readTrack(tr *webrtc.TrackRemote) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			c.audioPackets.Add(1)
		}
	}
	ssrc := uint32(tr.SSRC())
	dec := c.opt.Media.NewVideoDecoder(func(image.Image) {
		c.firstFrame.CompareAndSwap(0, c.since())
	}, func() {
		_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	})
	c.mu.Lock()
	c.dec = dec
	c.mu.Unlock()
	defer dec.Close()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		c.videoPackets.Add(1)
		c.firstVideo.CompareAndSwap(0, c.since())
		dec.Push(pkt)
	}
}

func (c *Caller) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case r := <-c.inbox:
			c.handle(r)
		}
	}
}

func (c *Caller) handle(r proto.Reply) {
	switch r.Type {
	case proto.SignalAnswer:
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.SDP}); err != nil {
			c.finish(func(res *Result) { res.EndReason = "bad answer: " + err.Error() })
			return
		}
		c.mu.Lock()
		c.answered = true
		c.res.AnswerMs = max(1, time.Since(c.sent).Milliseconds())
		pending := c.pending
		c.pending = nil
		c.mu.Unlock()
		for _, cand := range pending {
			_ = c.pc.AddICECandidate(cand)
		}
	case proto.SignalCandidate:
		var cand webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(r.Data), &cand); err != nil {
			c.log.Warn("caller: bad candidate from device", "err", err)
			return
		}
		c.mu.Lock()
		if !c.answered {
			c.pending = append(c.pending, cand) // early: kept until the answer
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if err := c.pc.AddICECandidate(cand); err != nil {
			c.log.Warn("caller: add candidate", "err", err)
		}
	case proto.SignalBusy:
		c.finish(func(res *Result) {
			res.Busy, res.BusyWith, res.BusySince, res.EndReason = true, r.With, r.Since, "busy"
		})
	case proto.SignalRefused:
		c.finish(func(res *Result) { res.RefusedReason = r.Reason; res.EndReason = "refused" })
	case proto.SignalHangup:
		c.finish(func(res *Result) { res.EndReason = r.Reason })
	case proto.SignalState:
		c.mu.Lock()
		if n := len(c.res.Phases); n == 0 || c.res.Phases[n-1].Phase != r.Phase.String() {
			c.res.Phases = append(c.res.Phases, Phase{Phase: r.Phase.String(), AtMs: max(1, time.Since(c.sent).Milliseconds())})
		}
		if r.Phase == proto.CallActive {
			c.res.Answered = true
		}
		c.res.CameraOn = r.Camera
		c.mu.Unlock()
	}
}

// Phases returns the phases seen so far.
func (c *Caller) Phases() []Phase {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Phase(nil), c.res.Phases...)
}

// Snapshot returns the result so far.
func (c *Caller) Snapshot() Result {
	c.mu.Lock()
	r := c.res
	r.Phases = append([]Phase(nil), c.res.Phases...)
	dec := c.dec
	c.mu.Unlock()
	r.VideoPacketsReceived = c.videoPackets.Load()
	r.AudioPacketsReceived = c.audioPackets.Load()
	r.FirstVideoMs = c.firstVideo.Load()
	r.FirstFrameMs = c.firstFrame.Load()
	if dec != nil {
		r.VideoFramesReceived = dec.FramesDecoded()
	}
	return r
}

func (c *Caller) finish(f func(*Result)) {
	c.mu.Lock()
	f(&c.res)
	c.mu.Unlock()
	c.once.Do(func() { close(c.done) })
}

// Control sends a signed control ("extend", "camera_off", "add:ID", ...).
func (c *Caller) Control(ctl string) error { return c.signal(proto.SignalControl, ctl) }

// Hangup tells the device the call is over and closes everything.
func (c *Caller) Hangup() error {
	err := c.signal(proto.SignalHangup, "")
	c.finish(func(res *Result) {
		if res.EndReason == "" {
			res.EndReason = "hung up"
		}
	})
	return err
}

func (c *Caller) signal(typ, data string) error {
	s := proto.Signal{V: proto.Version, Type: typ, Call: c.id, Device: c.opt.Device, Caller: c.opt.Caller.ID,
		Time: c.opt.Now().UTC(), Data: data}
	s.Sig = ed25519.Sign(c.opt.Caller.Key, s.SigningBytes())
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return c.opt.Send(b)
}

// Close ends the call's media (peer connection first, then the capture)
// and returns the result.
func (c *Caller) Close() Result {
	c.finish(func(*Result) {})
	c.closeOnce.Do(c.closeMedia)
	return c.Snapshot()
}

func (c *Caller) closeMedia() {
	c.mu.Lock()
	c.res.DurationMs = time.Since(c.sent).Milliseconds()
	c.mu.Unlock()
	if c.pc != nil {
		_ = c.pc.Close()
	}
	close(c.stopMedia)
	if c.capt != nil {
		_ = c.capt.Close()
	}
	c.media.Wait()
}
