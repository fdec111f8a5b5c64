package media

import (
	"bytes"
	"fmt"
	"image"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	pionopus "github.com/pion/opus"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/hearth-home/hearth/sync/proto"
)

// greetingGap is the pause between the chime and the caller's greeting,
// so the voice does not run into the bell.
const greetingGap = 200 * time.Millisecond

// oggPreSkip is the pre-skip Pion's oggwriter writes (80 ms, RFC 7845's
// recommendation), recorded on top of the asked length so that all of it
// plays.
const oggPreSkip = 3840

// DecodeGreeting decodes a caller's recorded greeting (Ogg Opus, checked by
// proto.ParseGreeting) to 48 kHz mono PCM, without its pre-skip and with the
// end trimmed as its last granule position says. A stereo greeting is mixed
// down by the decoder.
func DecodeGreeting(ogg []byte) ([]int16, error) {
	g, err := proto.ParseGreeting(ogg)
	if err != nil {
		return nil, fmt.Errorf("decode greeting: %w", err)
	}
	dec, err := pionopus.NewDecoderWithOutput(sampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("decode greeting: new opus decoder: %w", err)
	}
	buf := make([]int16, maxOpusSamples)
	pcm := make([]int16, 0, g.PreSkip+g.Samples+maxOpusSamples)
	for i, p := range g.Packets {
		n, err := decodeOpus(&dec, p, buf)
		if err != nil {
			return nil, fmt.Errorf("decode greeting: packet %d: %w", i, err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	from := min(g.PreSkip, len(pcm))
	to := min(g.PreSkip+g.Samples, len(pcm))
	return pcm[from:to], nil
}

// PlayGreeting decodes a caller's greeting (see DecodeGreeting) and plays
// it after the chime that PlayChime queued, or at once when none is
// playing. Decoding takes a while (pure Go), so callers on a call's way run
// it off their own goroutine; a later PlayChime cuts it off. With KindTest it
// decodes and counts only.
func (s *Speaker) PlayGreeting(ogg []byte) error {
	pcm, err := DecodeGreeting(ogg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.hushed {
		s.log.Info("greeting not played: its call has ended")
		return nil
	}
	if s.kind == KindTest {
		s.stats.GreetingsPlayed++
		s.log.Info("greeting", "length", time.Duration(len(pcm))*time.Second/sampleRate)
		return nil
	}
	if len(s.chime) > 0 {
		s.chime = append(s.chime, make([]int16, int(greetingGap.Seconds()*sampleRate))...)
	}
	s.chime = append(s.chime, pcm...)
	s.greetingLeft = len(s.chime)
	s.log.Info("greeting", "length", time.Duration(len(pcm))*time.Second/sampleRate)
	return nil
}

// RecordGreeting records length (at most proto.MaxGreetingLength) from the
// microphone of kind o.Kind, with the same Opus encoder as calls, and
// returns it as Ogg Opus (Pion's oggwriter) that proto.ParseGreeting takes.
// Only the microphone is opened, never the camera.
func RecordGreeting(o CaptureOptions, length time.Duration) ([]byte, error) {
	if length <= 0 || length > proto.MaxGreetingLength {
		return nil, fmt.Errorf("record greeting: length %v (up to %v)", length, proto.MaxGreetingLength)
	}
	c, err := openAudioCapture(o)
	if err != nil {
		return nil, fmt.Errorf("record greeting: %w", err)
	}
	defer c.Close()
	var out bytes.Buffer
	w, err := oggwriter.NewWith(&out, sampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("record greeting: %w", err)
	}
	want := int(length.Seconds()*sampleRate) + oggPreSkip
	for samples, seq := 0, uint16(0); samples < want; seq++ {
		s, err := c.ReadAudio()
		if err != nil {
			return nil, fmt.Errorf("record greeting: %w", err)
		}
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(samples)}, Payload: s.Data}
		if err := w.WriteRTP(p); err != nil {
			return nil, fmt.Errorf("record greeting: write ogg: %w", err)
		}
		samples += int(s.Duration.Seconds() * sampleRate)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("record greeting: write ogg: %w", err)
	}
	if _, err := proto.ParseGreeting(out.Bytes()); err != nil {
		return nil, fmt.Errorf("record greeting: %w", err)
	}
	return out.Bytes(), nil
}

// openAudioCapture is OpenCapture with the microphone only.
func openAudioCapture(o CaptureOptions) (*Capture, error) {
	o.setDefaults()
	if !o.Kind.Valid() {
		return nil, fmt.Errorf("open microphone: %w %q", ErrUnknownKind, o.Kind)
	}
	c := &Capture{log: o.Logger.With("kind", o.Kind), opts: o, done: make(chan struct{}),
		audio: make(chan Sample, 4), self: make(chan image.Image)}
	close(c.self) // no camera
	params, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("open microphone: opus params: %w", err)
	}
	params.BitRate = o.AudioBitrate
	if err := c.openAudio(mediadevices.NewCodecSelector(mediadevices.WithAudioEncoders(&params))); err != nil {
		return nil, err
	}
	c.pumps.Add(1)
	go c.pumpAudio()
	return c, nil
}
