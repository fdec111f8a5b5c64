// Package callmedia adapts media/ (camera, microphone, decoders, speaker)
// to what a call needs (device/call.Media), for hearthd, hearthctl call and
// the tests, so device/ itself links no cgo.
package callmedia

import (
	"image"
	"log/slog"

	"github.com/pion/rtp"

	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/media"
)

// Media is call.Media over media/.
type Media struct {
	Capture media.CaptureOptions
	Log     *slog.Logger
	speaker call.Speaker
}

// New returns the media of the given kind ("test" or "real"). A missing
// speaker is logged and calls go on without sound.
func New(kind media.Kind, log *slog.Logger) *Media {
	if log == nil {
		log = slog.Default()
	}
	m := &Media{Capture: media.CaptureOptions{Kind: kind, Logger: log}, Log: log}
	sp, err := media.NewSpeaker(kind, log)
	if err != nil {
		log.Warn("no speaker: calls will be silent", "err", err)
		m.speaker = silent{}
	} else {
		m.speaker = speaker{sp, log}
	}
	return m
}

// OpenCapture opens camera and microphone; a device with only one of them
// still calls, and says what is missing.
func (m *Media) OpenCapture() (call.Capture, error) {
	c, err := media.OpenCapture(m.Capture)
	if err != nil {
		return nil, err
	}
	for _, miss := range c.Missing() {
		m.Log.Warn("call without a device", "missing", miss)
	}
	return capture{c}, nil
}

// NewVideoDecoder returns a VP8 decoder; when libvpx cannot start, frames
// are counted as lost and the error is logged.
func (m *Media) NewVideoDecoder(onFrame func(image.Image), needKeyframe func()) call.VideoDecoder {
	d, err := media.NewVideoDecoder(media.VideoDecoderOptions{OnFrame: onFrame, OnNeedKeyframe: needKeyframe, Logger: m.Log})
	if err != nil {
		m.Log.Error("video decoder", "err", err)
		return noDecoder{}
	}
	return decoder{d}
}

// Speaker plays the call's sound.
func (m *Media) Speaker() call.Speaker { return m.speaker }

type capture struct{ c *media.Capture }

func (c capture) HasVideo() bool                 { return c.c.HasVideo() }
func (c capture) HasAudio() bool                 { return c.c.HasAudio() }
func (c capture) RequestKeyframe()               { c.c.RequestKeyframe() }
func (c capture) SelfFrames() <-chan image.Image { return c.c.SelfFrames() }
func (c capture) Close() error                   { return c.c.Close() }
func (c capture) ReadVideo() (call.Sample, error) {
	s, err := c.c.ReadVideo()
	return call.Sample{Data: s.Data, Duration: s.Duration}, err
}
func (c capture) ReadAudio() (call.Sample, error) {
	s, err := c.c.ReadAudio()
	return call.Sample{Data: s.Data, Duration: s.Duration}, err
}

type decoder struct{ d *media.VideoDecoder }

func (d decoder) Push(p *rtp.Packet) { _ = d.d.WriteRTP(p) }
func (d decoder) FramesDecoded() int { return int(d.d.FramesDecoded()) }
func (d decoder) Close()             { _ = d.d.Close() }

type noDecoder struct{}

func (noDecoder) Push(*rtp.Packet)   {}
func (noDecoder) FramesDecoded() int { return 0 }
func (noDecoder) Close()             {}

type speaker struct {
	s   *media.Speaker
	log *slog.Logger
}

func (s speaker) Push(stream string, opus []byte) { _ = s.s.Push(stream, opus) }
func (s speaker) RemoveStream(stream string)      { s.s.RemoveStream(stream) }
func (s speaker) PlayChime() {
	if err := s.s.PlayChime(); err != nil {
		s.log.Warn("chime", "err", err)
	}
}

// Stats are the speaker's counters, when there is one.
func (m *Media) Stats() (media.SpeakerStats, bool) {
	if sp, ok := m.speaker.(speaker); ok {
		return sp.s.Stats(), true
	}
	return media.SpeakerStats{}, false
}

type silent struct{}

func (silent) Push(string, []byte) {}
func (silent) PlayChime()          {}
func (silent) RemoveStream(string) {}
