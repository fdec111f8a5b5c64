// Package callmedia adapts media/ (camera, microphone, decoders, speaker)
// to what a call needs (device/call.Media), for hearthd, hearthctl call and
// the tests, so device/ itself links no cgo.
package callmedia

import (
	"image"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/pion/rtp"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/media"
)

// speakerIdle is how long the speaker stays open after its last sound: a
// call's chime, ring and voices keep it open, and between calls the sound
// device is free.
const speakerIdle = 30 * time.Second

// Media is call.Media over media/.
type Media struct {
	Capture media.CaptureOptions
	Log     *slog.Logger
	// Light is the privacy light (the screen's badge, an LED, the log):
	// on before a capture opens, off the moment it has closed. Set it
	// before the first call; nil: none.
	Light   device.PrivacyLight
	speaker *lazySpeaker
	stuck   bool // KindStuck: captures never finish closing
	// open opens the devices (media.OpenCapture; tests watch it).
	open func(media.CaptureOptions) (source, error)

	// lightMu orders the light's changes as the captures' opens and
	// closes happen; lit is what each capture not yet closed holds open.
	lightMu gosync.Mutex
	lit     map[*capture]device.Privacy
	shown   device.Privacy // what the light shows
}

// source is an open camera and microphone: a *media.Capture.
type source interface {
	HasVideo() bool
	HasAudio() bool
	Missing() []error
	ReadVideo() (media.Sample, error)
	ReadAudio() (media.Sample, error)
	RequestKeyframe()
	SelfFrames() <-chan image.Image
	Close() error
}

func openMedia(o media.CaptureOptions) (source, error) { return media.OpenCapture(o) }

// New returns the media of the given kind ("test" or "real").
func New(kind media.Kind, log *slog.Logger) *Media {
	if log == nil {
		log = slog.Default()
	}
	return &Media{Capture: media.CaptureOptions{Kind: kind, Logger: log}, Log: log,
		speaker: &lazySpeaker{kind: kind, log: log, volume: 100},
		open:    openMedia, lit: map[*capture]device.Privacy{}}
}

// OpenCapture opens camera and microphone; a device with only one of them
// still calls, and says what is missing. The privacy light is on for both
// before either opens (opening reads the first frame), and shows what
// did open once they have.
func (m *Media) OpenCapture() (call.Capture, error) {
	cp := &capture{m: m}
	lit := time.Now()
	m.setLight(cp, device.Privacy{Camera: true, Microphone: true})
	// light_took is how long the light took to show (the screen: one
	// painted frame).
	m.Log.Info("capture opening", "light_took", time.Since(lit))
	c, err := m.open(m.Capture)
	if err != nil {
		m.setLight(cp, device.Privacy{})
		return nil, err
	}
	cp.c = c
	m.setLight(cp, device.Privacy{Camera: c.HasVideo(), Microphone: c.HasAudio()})
	for _, miss := range c.Missing() {
		m.Log.Warn("call without a device", "missing", miss)
	}
	if m.stuck {
		m.Log.Warn("test media: this capture will never finish closing (--media " + KindStuck + ")")
		return stuckCapture{cp}, nil
	}
	return cp, nil
}

// setLight records what capture cp holds open (nothing: it is closed)
// and sets the light to what all captures hold: a capture still closing
// after its call keeps the light on through the next call's, and its
// close does not put out the next call's light.
func (m *Media) setLight(cp *capture, p device.Privacy) {
	m.lightMu.Lock()
	defer m.lightMu.Unlock()
	if p.On() {
		m.lit[cp] = p
	} else {
		delete(m.lit, cp)
	}
	var all device.Privacy
	for _, q := range m.lit {
		all.Camera = all.Camera || q.Camera
		all.Microphone = all.Microphone || q.Microphone
	}
	if m.Light != nil && all != m.shown {
		m.Light.SetPrivacy(all)
	}
	m.shown = all
}

// NewVideoDecoder returns a VP8 decoder; when libvpx cannot start, the
// error is logged and the picture stays dark.
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

// Stats are the speaker's counters while it is open.
func (m *Media) Stats() (media.SpeakerStats, bool) { return m.speaker.stats() }

// SetVolume sets the speaker's level in percent, now and for every call.
func (m *Media) SetVolume(percent int) {
	l := m.speaker
	l.mu.Lock()
	defer l.mu.Unlock()
	l.volume = max(0, min(100, percent))
	if l.s != nil {
		l.s.SetVolume(l.volume)
	}
}

// Close frees the speaker.
func (m *Media) Close() { m.speaker.close() }

// capture is one call's open camera and microphone.
type capture struct {
	c      source
	m      *Media
	closed gosync.Once // the light out and the log line, once
}

func (c *capture) HasVideo() bool                 { return c.c.HasVideo() }
func (c *capture) HasAudio() bool                 { return c.c.HasAudio() }
func (c *capture) RequestKeyframe()               { c.c.RequestKeyframe() }
func (c *capture) SelfFrames() <-chan image.Image { return c.c.SelfFrames() }
func (c *capture) ReadVideo() (call.Sample, error) {
	s, err := c.c.ReadVideo()
	return call.Sample{Data: s.Data, Duration: s.Duration}, err
}
func (c *capture) ReadAudio() (call.Sample, error) {
	s, err := c.c.ReadAudio()
	return call.Sample{Data: s.Data, Duration: s.Duration}, err
}

// Close closes the devices and, the moment they are closed, puts out the
// light; a close that never returns leaves it on, as is true.
func (c *capture) Close() error {
	err := c.c.Close()
	c.closed.Do(func() {
		c.m.setLight(c, device.Privacy{})
		c.m.Log.Info("privacy light out: capture closed")
	})
	return err
}

type decoder struct{ d *media.VideoDecoder }

func (d decoder) Push(p *rtp.Packet) { _ = d.d.WriteRTP(p) }
func (d decoder) FramesDecoded() int { return int(d.d.FramesDecoded()) }
func (d decoder) Close()             { _ = d.d.Close() }

type noDecoder struct{}

func (noDecoder) Push(*rtp.Packet)   {}
func (noDecoder) FramesDecoded() int { return 0 }
func (noDecoder) Close()             {}

// lazySpeaker opens the sound device on the first sound and closes it
// after speakerIdle of silence. A missing speaker is logged once per
// attempt and the call goes on silent.
type lazySpeaker struct {
	kind media.Kind
	log  *slog.Logger

	mu     gosync.Mutex
	s      *media.Speaker
	volume int // percent, applied to every speaker opened
	last   time.Time
	timer  *time.Timer
	// failedAt stops a missing speaker from being retried on every packet.
	failedAt time.Time
	// greetings are callers' greetings being decoded; close waits for them.
	greetings gosync.WaitGroup
}

func (l *lazySpeaker) get() *media.Speaker {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
	if l.s != nil {
		return l.s
	}
	if !l.failedAt.IsZero() && time.Since(l.failedAt) < speakerIdle {
		return nil
	}
	s, err := media.NewSpeaker(l.kind, l.log)
	if err != nil {
		l.failedAt = time.Now()
		l.log.Warn("no speaker: the call is silent", "err", err)
		return nil
	}
	s.SetVolume(l.volume)
	l.s, l.failedAt = s, time.Time{}
	l.timer = time.AfterFunc(speakerIdle, l.idle)
	return s
}

func (l *lazySpeaker) idle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return
	}
	if left := speakerIdle - time.Since(l.last); left > 0 {
		l.timer.Reset(left)
		return
	}
	_ = l.s.Close()
	l.s = nil
}

func (l *lazySpeaker) close() {
	l.greetings.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.s != nil {
		_ = l.s.Close()
		l.s = nil
	}
}

func (l *lazySpeaker) stats() (media.SpeakerStats, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return media.SpeakerStats{}, false
	}
	return l.s.Stats(), true
}

func (l *lazySpeaker) Push(stream string, opus []byte) {
	if s := l.get(); s != nil {
		_ = s.Push(stream, opus)
	}
}

func (l *lazySpeaker) RemoveStream(stream string) {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	if s != nil {
		s.RemoveStream(stream)
	}
}

// StopChime cuts off the chime and a greeting: their call has ended.
func (l *lazySpeaker) StopChime() {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	if s != nil {
		s.StopChime()
	}
}

// PlayChime plays the chime and then the caller's greeting, if any. The
// greeting is decoded off the caller's goroutine (a call's): on a Pi a 5 s
// greeting takes a few hundred ms to decode, while the chime rings.
func (l *lazySpeaker) PlayChime(greeting []byte) {
	s := l.get()
	if s == nil {
		return
	}
	if err := s.PlayChime(); err != nil {
		l.log.Warn("chime", "err", err)
	}
	if len(greeting) > 0 {
		l.greetings.Go(func() {
			if err := s.PlayGreeting(greeting); err != nil {
				l.log.Warn("caller's greeting not played", "err", err)
			}
		})
	}
}
