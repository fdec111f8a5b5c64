package media

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/pion/opus"
)

// MaxSpeakerStreams is how many remote audio streams a Speaker mixes.
const MaxSpeakerStreams = 3

const (
	// maxStreamBuffer bounds each stream's queue (200 ms): audio arriving
	// faster than it plays is cut from the front to keep latency low.
	maxStreamBuffer = sampleRate / 5
	// prebuffer is what a stream collects before it starts, and again after it
	// ran dry (40 ms), so network jitter does not chop every packet.
	prebuffer = sampleRate / 25
	// staleStream is when a silent stream may be replaced by a new one.
	staleStream = 5 * time.Second
	// maxOpusSamples is the longest Opus packet, 120 ms at 48 kHz.
	maxOpusSamples = sampleRate * 120 / 1000
)

// SpeakerStats are counters since NewSpeaker.
type SpeakerStats struct {
	PacketsReceived uint64
	PacketsDecoded  uint64
	DecodeErrors    uint64
	Underruns       uint64 // times a playing stream ran dry
	ChimesPlayed    uint64
	// GreetingsPlayed counts callers' greetings played to their end (with
	// KindTest: decoded).
	GreetingsPlayed uint64
	Streams         map[string]StreamStats
}

// StreamStats are one remote stream's counters.
type StreamStats struct {
	PacketsReceived uint64
	PacketsDecoded  uint64
	DecodeErrors    uint64
}

// Speaker decodes remote Opus audio (pure-Go pion/opus) and plays up to
// MaxSpeakerStreams streams mixed, plus the incoming-call chime. With KindTest
// it decodes and discards. Its methods are safe for concurrent use.
type Speaker struct {
	log  *slog.Logger
	kind Kind

	mu      sync.Mutex
	streams map[string]*speakerStream
	chime   []int16 // still to play: the chime, then maybe a greeting
	// greetingLeft is how many samples of chime end with a greeting.
	greetingLeft int
	// hushed: StopChime was called after the last PlayChime; a greeting
	// decoded meanwhile is not played.
	hushed bool
	stats  SpeakerStats
	closed bool
	gain   int32 // volume in percent of full scale; 100 by default

	ctx *malgo.AllocatedContext
	dev *malgo.Device
}

type speakerStream struct {
	dec       opus.Decoder
	pcm       []int16 // decoded, waiting to play
	playing   bool    // false while (re)filling prebuffer
	lastPush  time.Time
	stats     StreamStats
	decodeBuf []int16
}

// NewSpeaker opens the default playback device (PulseAudio, else ALSA) for
// KindReal; without one it returns an error matching ErrNoSpeaker. KindTest
// needs no device.
func NewSpeaker(kind Kind, logger *slog.Logger) (*Speaker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !kind.Valid() {
		return nil, fmt.Errorf("new speaker: %w %q", ErrUnknownKind, kind)
	}
	s := &Speaker{log: logger.With("kind", kind), kind: kind, streams: map[string]*speakerStream{}, gain: 100}
	if kind == KindReal {
		if err := s.openDevice(); err != nil {
			return nil, fmt.Errorf("new speaker: %w: %w", ErrNoSpeaker, err)
		}
	}
	return s, nil
}

func (s *Speaker) openDevice() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open playback device: panic: %v", r)
		}
	}()
	ctx, err := initAudioContext(s.log)
	if err != nil {
		return err
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = 1
	cfg.SampleRate = sampleRate
	cfg.PeriodSizeInMilliseconds = 20
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: s.onPlayback})
	if err != nil {
		freeAudioContext(ctx)
		return fmt.Errorf("init playback device: %w", err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		freeAudioContext(ctx)
		return fmt.Errorf("start playback device: %w", err)
	}
	s.ctx, s.dev = ctx, dev
	return nil
}

// Push decodes one Opus packet (an RTP payload) of the remote stream
// streamID (e.g. the track's StreamID) and queues it for playing. A fourth
// concurrent stream gets ErrTooManyStreams unless one has been silent for 5 s.
// Decode errors are counted and returned; the stream continues.
func (s *Speaker) Push(streamID string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.stats.PacketsReceived++
	st, err := s.stream(streamID)
	if err != nil {
		return err
	}
	st.stats.PacketsReceived++
	st.lastPush = time.Now()
	n, err := decodeOpus(&st.dec, payload, st.decodeBuf)
	if err != nil {
		st.stats.DecodeErrors++
		s.stats.DecodeErrors++
		return fmt.Errorf("decode opus from %s: %w", streamID, err)
	}
	st.stats.PacketsDecoded++
	s.stats.PacketsDecoded++
	if s.kind == KindTest {
		return nil // decoded, nowhere to play
	}
	st.pcm = append(st.pcm, st.decodeBuf[:n]...)
	if over := len(st.pcm) - maxStreamBuffer; over > 0 {
		st.pcm = append(st.pcm[:0], st.pcm[over:]...)
	}
	return nil
}

// decodeOpus decodes one packet from a remote caller into buf. The packet
// is outside input: a decoder that panics on it costs that packet, not the
// daemon.
func decodeOpus(dec *opus.Decoder, payload []byte, buf []int16) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("opus decoder failed on a %d-byte packet: %v", len(payload), r)
		}
	}()
	n, err = dec.DecodeToInt16(payload, buf)
	if err == nil && (n < 0 || n > len(buf)) {
		return 0, fmt.Errorf("opus decoder returned %d samples for a %d-sample buffer", n, len(buf))
	}
	return n, err
}

// stream finds or makes streamID's state; s.mu is held.
func (s *Speaker) stream(id string) (*speakerStream, error) {
	if st, ok := s.streams[id]; ok {
		return st, nil
	}
	if len(s.streams) >= MaxSpeakerStreams {
		var stale string
		for sid, st := range s.streams {
			if time.Since(st.lastPush) > staleStream {
				stale = sid
			}
		}
		if stale == "" {
			return nil, fmt.Errorf("push audio from %s: %w", id, ErrTooManyStreams)
		}
		s.log.Info("audio stream replaced", "old", stale, "new", id)
		delete(s.streams, stale)
	}
	dec, err := opus.NewDecoderWithOutput(sampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("new opus decoder: %w", err)
	}
	st := &speakerStream{dec: dec, decodeBuf: make([]int16, maxOpusSamples)}
	s.streams[id] = st
	s.log.Info("audio stream added", "stream", id)
	return st, nil
}

// RemoveStream forgets a remote stream, e.g. when its track ends.
func (s *Speaker) RemoveStream(streamID string) {
	s.mu.Lock()
	delete(s.streams, streamID)
	s.mu.Unlock()
}

// onPlayback runs on miniaudio's thread: mix what is queued, pad with silence.
func (s *Speaker) onPlayback(out, _ []byte, frames uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(int(frames), len(out)/2)
	for i := range n {
		var sum int32
		if i < len(s.chime) {
			sum += int32(s.chime[i])
		}
		for _, st := range s.streams {
			if st.playing && i < len(st.pcm) {
				sum += int32(st.pcm[i])
			}
		}
		sum = sum * s.gain / 100
		sum = max(math.MinInt16, min(math.MaxInt16, sum))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(int16(sum)))
	}
	s.chime = s.chime[min(n, len(s.chime)):]
	if s.greetingLeft > 0 {
		if s.greetingLeft -= n; s.greetingLeft <= 0 {
			s.greetingLeft = 0
			s.stats.GreetingsPlayed++
		}
	}
	for _, st := range s.streams {
		switch {
		case !st.playing:
			st.playing = len(st.pcm) >= prebuffer
		case len(st.pcm) < n:
			st.playing = false
			st.pcm = st.pcm[:0]
			s.stats.Underruns++
		default:
			st.pcm = append(st.pcm[:0], st.pcm[n:]...)
		}
	}
}

// SetVolume sets the output level, 0 to 100 percent (an admin's setting).
func (s *Speaker) SetVolume(percent int) {
	s.mu.Lock()
	s.gain = int32(max(0, min(100, percent)))
	s.mu.Unlock()
}

// Volume is the output level in percent.
func (s *Speaker) Volume() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.gain)
}

// PlayChime plays a short, soft two-tone chime (660 Hz then 880 Hz) over
// whatever else is playing, cutting off a chime or greeting still playing
// (PlayGreeting queues one after it). With KindTest it only counts.
func (s *Speaker) PlayChime() error {
	var pcm []int16
	if s.kind == KindReal {
		pcm = chimePCM() // before s.mu: made once, it must not hold up playback
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.stats.ChimesPlayed++
	s.hushed = false
	if s.kind == KindReal {
		s.chime = append(s.chime[:0], pcm...)
		s.greetingLeft = 0
	}
	s.log.Info("chime")
	return nil
}

// StopChime cuts off the chime and a caller's greeting (playing, or still
// being decoded for PlayGreeting): the call they announced has ended, and
// a voice must not go on speaking into the room. The next PlayChime
// plays again.
func (s *Speaker) StopChime() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hushed = true
	if len(s.chime) > 0 {
		s.log.Info("chime stopped")
	}
	s.chime, s.greetingLeft = s.chime[:0], 0
}

// chimePCM is the chime, made once: synthesising it takes 1-3 ms, and a
// forced call chimes on the way to its answer.
var chimePCM = sync.OnceValue(chime)

// chime synthesises the chime: two bell-like notes, each a sine with a little
// second harmonic, a 10 ms attack and an exponential decay, at about -12 dBFS.
func chime() []int16 {
	notes := []struct {
		hz  float64
		dur time.Duration
	}{{660, 220 * time.Millisecond}, {880, 420 * time.Millisecond}}
	var pcm []int16
	const amp = 0.25 * math.MaxInt16
	for _, nt := range notes {
		n := int(nt.dur.Seconds() * sampleRate)
		attack := sampleRate / 100
		for i := range n {
			t := float64(i) / sampleRate
			env := math.Exp(-t * 6 / nt.dur.Seconds())
			if i < attack {
				env *= float64(i) / float64(attack)
			}
			if tail := n - i; tail < attack { // no click at the end
				env *= float64(tail) / float64(attack)
			}
			v := math.Sin(2*math.Pi*nt.hz*t) + 0.2*math.Sin(4*math.Pi*nt.hz*t)
			pcm = append(pcm, int16(amp*env*v/1.2))
		}
	}
	return pcm
}

// Stats returns the counters.
func (s *Speaker) Stats() SpeakerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Streams = make(map[string]StreamStats, len(s.streams))
	for id, ss := range s.streams {
		st.Streams[id] = ss.stats
	}
	return st
}

// Close stops playback and releases the device. Safe to call more than once.
func (s *Speaker) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	dev, ctx := s.dev, s.ctx
	s.mu.Unlock()
	if dev != nil {
		// Not under s.mu: Uninit waits for a running callback, which takes s.mu.
		func() {
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("close speaker: panic", "panic", r)
				}
			}()
			dev.Uninit()
			freeAudioContext(ctx)
		}()
	}
	s.log.Info("speaker closed")
	return nil
}
