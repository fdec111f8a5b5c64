package media

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera" // V4L2 cameras, registered in init
	"github.com/pion/mediadevices/pkg/prop"
)

// Kind selects where media comes from and goes to.
type Kind string

const (
	// KindTest uses generated colour bars and a sine tone for capture, and a
	// speaker that decodes and discards. It needs no hardware.
	KindTest Kind = "test"
	// KindReal uses the V4L2 camera, the default microphone and the default
	// speaker (PulseAudio, else ALSA).
	KindReal Kind = "real"
)

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// Valid reports whether k is KindTest or KindReal.
func (k Kind) Valid() bool { return k == KindTest || k == KindReal }

// Defaults for CaptureOptions.
const (
	DefaultWidth        = 640
	DefaultHeight       = 480
	DefaultFPS          = 15
	DefaultVideoBitrate = 500_000
	DefaultAudioBitrate = 32_000
	// DefaultVP8Speed is libvpx's realtime speed (cpu-used -8). See vp8Builder.
	DefaultVP8Speed = 8
)

// CaptureOptions configures OpenCapture. Zero values take the defaults.
type CaptureOptions struct {
	Kind          Kind
	Width, Height int // default 640x480
	FPS           int // default 15
	VideoBitrate  int // bits per second, default 500 kbit/s
	AudioBitrate  int // bits per second, default 32 kbit/s
	// VP8Speed is libvpx's realtime speed, 1 (slow, best) to 16 (fastest);
	// default 8. It is set as a fixed cpu-used of -VP8Speed.
	VP8Speed int
	// KeyframeInterval is the longest gap between keyframes; default 3 s.
	// Keyframes are also sent on RequestKeyframe.
	KeyframeInterval time.Duration
	// SelfViewInterval is the least time between SelfFrames; default 200 ms.
	SelfViewInterval time.Duration
	Logger           *slog.Logger
}

func (o *CaptureOptions) setDefaults() {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = DefaultWidth, DefaultHeight
	}
	// libvpx and I420 want even sizes.
	o.Width, o.Height = o.Width&^1, o.Height&^1
	if o.FPS <= 0 {
		o.FPS = DefaultFPS
	}
	if o.VideoBitrate <= 0 {
		o.VideoBitrate = DefaultVideoBitrate
	}
	if o.AudioBitrate <= 0 {
		o.AudioBitrate = DefaultAudioBitrate
	}
	if o.VP8Speed <= 0 {
		o.VP8Speed = DefaultVP8Speed
	}
	o.VP8Speed = min(o.VP8Speed, 16)
	if o.KeyframeInterval <= 0 {
		o.KeyframeInterval = 3 * time.Second
	}
	if o.SelfViewInterval <= 0 {
		o.SelfViewInterval = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Sample is one encoded media unit: a whole VP8 frame or one 20 ms Opus packet.
// It maps onto Pion's media.Sample for TrackLocalStaticSample.WriteSample.
type Sample struct {
	Data     []byte
	Duration time.Duration
	Keyframe bool // VP8 only
}

// CaptureStats are counters since OpenCapture.
type CaptureStats struct {
	VideoFrames     uint64
	VideoBytes      uint64
	Keyframes       uint64
	KeyframeForced  uint64 // keyframes encoded for RequestKeyframe
	VideoStale      uint64 // inter frames not returned because a requested keyframe follows
	AudioPackets    uint64
	AudioBytes      uint64
	VideoEncodeTime time.Duration // total time in the VP8 encoder, excluding waiting for the camera
}

// Capture is an open camera and microphone with their encoders, for one call.
// Its methods are safe for concurrent use.
type Capture struct {
	log     *slog.Logger
	opts    CaptureOptions
	missing []error

	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	pumps     sync.WaitGroup

	videoTrack, audioTrack mediadevices.Track
	videoEnc, audioEnc     mediadevices.EncodedReadCloser
	video                  chan videoSample
	audio                  chan Sample
	self                   chan image.Image
	tap                    *videoTap
	videoErr, audioErr     atomic.Pointer[error] // why a pump stopped

	videoEnabled atomic.Bool
	keyframeReqs atomic.Uint64 // RequestKeyframe calls
	encodeNanos  atomic.Int64

	videoFrames, videoBytes, keyframes, forced, stale atomic.Uint64
	audioPackets, audioBytes                          atomic.Uint64
}

// OpenCapture opens the camera and the microphone of kind o.Kind and starts
// encoding. A device with only one of them still gets a Capture, with the
// other reported by Missing. OpenCapture fails only when it has neither; the
// error then matches both ErrNoCamera and ErrNoMicrophone with errors.Is.
func OpenCapture(o CaptureOptions) (*Capture, error) {
	o.setDefaults()
	if !o.Kind.Valid() {
		return nil, fmt.Errorf("open capture: %w %q", ErrUnknownKind, o.Kind)
	}
	c := &Capture{
		log:   o.Logger.With("kind", o.Kind),
		opts:  o,
		done:  make(chan struct{}),
		video: make(chan videoSample, 2),
		audio: make(chan Sample, 4),
		self:  make(chan image.Image, 1),
	}
	c.videoEnabled.Store(true)
	start := time.Now()

	vp8, err := vpx.NewVP8Params()
	if err != nil {
		return nil, fmt.Errorf("open capture: vp8 params: %w", err)
	}
	vp8.BitRate = o.VideoBitrate
	vp8.KeyFrameInterval = max(1, int(o.KeyframeInterval.Seconds()*float64(o.FPS)))
	vp8.RateControlEndUsage = vpx.RateControlCBR
	vp8.ErrorResilient = vpx.ErrorResilientDefault
	opusParams, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("open capture: opus params: %w", err)
	}
	opusParams.BitRate = o.AudioBitrate
	selector := mediadevices.NewCodecSelector(
		mediadevices.WithVideoEncoders(&vp8Builder{params: vp8, cpuUsed: -o.VP8Speed, log: c.log}),
		mediadevices.WithAudioEncoders(&opusParams),
	)

	// mediadevices builds each encoder only once its source has delivered a
	// first frame or buffer (it reads one to learn the format), so open both
	// at once: OpenCapture then waits for the slower, not for the sum.
	var videoErr error
	var opened sync.WaitGroup
	opened.Go(func() { videoErr = c.openVideo(selector) })
	audioErr := c.openAudio(selector)
	opened.Wait()
	if videoErr != nil {
		c.log.Warn("no camera", "err", videoErr)
		c.missing = append(c.missing, videoErr)
		close(c.self)
	}
	if audioErr != nil {
		c.log.Warn("no microphone", "err", audioErr)
		c.missing = append(c.missing, audioErr)
	}
	if c.videoEnc == nil && c.audioEnc == nil {
		return nil, fmt.Errorf("open capture: %w", errors.Join(c.missing...))
	}
	if c.videoEnc != nil {
		c.pumps.Add(1)
		go c.pumpVideo()
	}
	if c.audioEnc != nil {
		c.pumps.Add(1)
		go c.pumpAudio()
	}
	c.log.Info("capture open", "video", c.HasVideo(), "audio", c.HasAudio(),
		"size", fmt.Sprintf("%dx%d", o.Width, o.Height), "fps", o.FPS, "took", time.Since(start))
	return c, nil
}

func (c *Capture) openVideo(selector *mediadevices.CodecSelector) error {
	var track mediadevices.Track
	switch c.opts.Kind {
	case KindTest:
		track = mediadevices.NewVideoTrack(newTestVideoSource(c.opts.Width, c.opts.Height, c.opts.FPS), selector)
	case KindReal:
		t, err := openCamera(c.opts, selector)
		if err != nil {
			return err
		}
		track = t
	}
	vt, ok := track.(*mediadevices.VideoTrack)
	if !ok {
		_ = track.Close()
		return fmt.Errorf("%w: open camera: unexpected track type %T", ErrNoCamera, track)
	}
	tap := &videoTap{enabled: c.videoEnabled.Load, self: c.self, every: c.opts.SelfViewInterval, requests: &c.keyframeReqs}
	vt.Transform(tap.transform)
	c.tap = tap
	enc, err := vt.NewEncodedReader("vp8")
	if err != nil {
		_ = track.Close()
		return fmt.Errorf("%w: start vp8 encoder: %w", ErrNoCamera, err)
	}
	if force, err := vp8KeyframeFlag(enc.Controller()); err != nil {
		c.log.Warn("keyframe requests will land one frame late", "err", err)
	} else {
		tap.force = force // read by the tap only inside the pump's reads, which start later
	}
	c.videoTrack, c.videoEnc = track, enc
	return nil
}

// openCamera opens the best V4L2 camera for the wanted size through
// mediadevices' driver manager.
func openCamera(o CaptureOptions, selector *mediadevices.CodecSelector) (t mediadevices.Track, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%w: open camera: panic: %v", ErrNoCamera, r)
		}
	}()
	// Look again: mediadevices registers the V4L2 devices it finds at
	// start-up, and a USB camera may have been plugged in, or pulled out,
	// since. One capture is open at a time, so no driver in use is dropped.
	camera.Initialize()
	if len(cameraDrivers()) == 0 {
		return nil, fmt.Errorf("%w: no V4L2 capture device", ErrNoCamera)
	}
	stream, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Video: func(mc *mediadevices.MediaTrackConstraints) {
			mc.Width = prop.Int(o.Width)
			mc.Height = prop.Int(o.Height)
			mc.FrameRate = prop.Float(float32(o.FPS))
		},
		Codec: selector,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: open camera: %w", ErrNoCamera, err)
	}
	tracks := stream.GetVideoTracks()
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: open camera: no video track", ErrNoCamera)
	}
	return tracks[0], nil
}

// cameraDrivers lists the V4L2 devices mediadevices found at start-up or at
// the last camera.Initialize.
func cameraDrivers() []driver.Driver {
	return driver.GetManager().Query(driver.FilterAnd(
		driver.FilterVideoRecorder(), driver.FilterDeviceType(driver.Camera)))
}

func (c *Capture) openAudio(selector *mediadevices.CodecSelector) error {
	var src mediadevices.AudioSource
	switch c.opts.Kind {
	case KindTest:
		src = newTestAudioSource()
	case KindReal:
		m, err := openMicrophone(c.log)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoMicrophone, err)
		}
		src = m
	}
	track := mediadevices.NewAudioTrack(src, selector)
	enc, err := track.NewEncodedReader("opus")
	if err != nil {
		_ = track.Close()
		return fmt.Errorf("%w: start opus encoder: %w", ErrNoMicrophone, err)
	}
	c.audioTrack, c.audioEnc = track, enc
	return nil
}

// videoSample is a Sample with the RequestKeyframe count when its frame was
// captured, so that ReadVideo can pass over inter frames that a requested
// keyframe supersedes.
type videoSample struct {
	Sample
	requested uint64
}

func (c *Capture) pumpVideo() {
	defer c.pumps.Done()
	defer close(c.self) // the tap runs only inside videoEnc.Read, and no Read follows
	// Without the tap's way to force keyframes (see vp8KeyframeFlag), force
	// them before each Read: a request made while Read waits for the camera
	// then lands a frame late.
	var kfc codec.KeyFrameController
	if c.tap.force == nil {
		kfc, _ = c.videoEnc.Controller().(codec.KeyFrameController)
	}
	var fallbackApplied uint64
	for {
		if kfc != nil {
			if n := c.keyframeReqs.Load(); n > fallbackApplied {
				fallbackApplied = n
				if err := kfc.ForceKeyFrame(); err == nil {
					c.forced.Add(1)
				}
			}
		}
		buf, release, err := c.videoEnc.Read()
		if !c.tap.delivered.IsZero() {
			c.encodeNanos.Add(int64(time.Since(c.tap.delivered)))
			c.tap.delivered = time.Time{}
		}
		if err != nil {
			c.stopped(&c.videoErr, "video", err)
			close(c.video)
			return
		}
		forced, requested := c.tap.forced, c.tap.requested
		c.tap.forced = false
		data := buf.Data
		release()
		key := len(data) > 0 && data[0]&1 == 0
		if forced {
			if key {
				c.forced.Add(1)
			} else {
				c.tap.applied = 0 // not served (libvpx dropped the frame): force the next
			}
		}
		if len(data) == 0 { // libvpx dropped the frame (rate control)
			continue
		}
		s := videoSample{Sample: Sample{
			Data:     data,
			Duration: time.Duration(buf.Samples) * time.Second / 90000,
			Keyframe: key,
		}, requested: requested}
		if c.tap.force == nil {
			s.requested = math.MaxUint64 // requests land late; never pass over frames
		}
		c.videoFrames.Add(1)
		c.videoBytes.Add(uint64(len(data)))
		if s.Keyframe {
			c.keyframes.Add(1)
		}
		select {
		case c.video <- s:
		case <-c.done:
			close(c.video)
			return
		}
	}
}

func (c *Capture) pumpAudio() {
	defer c.pumps.Done()
	for {
		buf, release, err := c.audioEnc.Read()
		if err != nil {
			c.stopped(&c.audioErr, "audio", err)
			close(c.audio)
			return
		}
		data := buf.Data
		release()
		if len(data) == 0 {
			continue
		}
		c.audioPackets.Add(1)
		c.audioBytes.Add(uint64(len(data)))
		select {
		case c.audio <- Sample{Data: data, Duration: chunkDuration}:
		case <-c.done:
			close(c.audio)
			return
		}
	}
}

func (c *Capture) stopped(slot *atomic.Pointer[error], what string, err error) {
	select {
	case <-c.done:
		err = ErrClosed
	default:
		c.log.Error("capture stopped", "media", what, "err", err)
		err = fmt.Errorf("read %s: %w", what, err)
	}
	slot.Store(&err)
}

// HasVideo reports whether a camera is capturing.
func (c *Capture) HasVideo() bool { return c.videoEnc != nil }

// HasAudio reports whether a microphone is capturing.
func (c *Capture) HasAudio() bool { return c.audioEnc != nil }

// Missing returns why the camera or microphone is absent, each matching
// ErrNoCamera or ErrNoMicrophone; nil if both capture.
func (c *Capture) Missing() []error { return append([]error(nil), c.missing...) }

// ReadVideo blocks for the next encoded VP8 frame. After RequestKeyframe
// returns, the next frame ReadVideo returns is a keyframe: inter frames
// captured before the request are passed over (the keyframe replaces them).
// It returns ErrNoCamera without a camera and ErrClosed after Close.
func (c *Capture) ReadVideo() (Sample, error) {
	if c.videoEnc == nil {
		return Sample{}, ErrNoCamera
	}
	for {
		s, err := read(c, c.video, &c.videoErr)
		if err != nil || s.Keyframe || s.requested >= c.keyframeReqs.Load() {
			return s.Sample, err
		}
		c.stale.Add(1)
	}
}

// ReadAudio blocks for the next Opus packet (20 ms, 48 kHz mono). It returns
// ErrNoMicrophone without a microphone and ErrClosed after Close.
func (c *Capture) ReadAudio() (Sample, error) {
	if c.audioEnc == nil {
		return Sample{}, ErrNoMicrophone
	}
	return read(c, c.audio, &c.audioErr)
}

func read[S any](c *Capture, ch chan S, slot *atomic.Pointer[error]) (S, error) {
	var zero S
	select {
	case <-c.done: // checked first: after Close, queued samples are not returned
		return zero, ErrClosed
	default:
	}
	select {
	case s, ok := <-ch:
		if ok {
			return s, nil
		}
		if err := slot.Load(); err != nil {
			return zero, *err
		}
		return zero, ErrClosed
	case <-c.done:
		return zero, ErrClosed
	}
}

// RequestKeyframe makes the next frame ReadVideo returns a keyframe, for an
// RTCP PLI or FIR from the remote: the frame the camera delivers next is
// encoded as one, even when the request comes while the encoder is already
// waiting for it, and inter frames encoded before are not returned. It never
// blocks.
func (c *Capture) RequestKeyframe() { c.keyframeReqs.Add(1) }

// SetVideoEnabled switches the picture on or off. While off, black frames are
// encoded (a few bytes each), so the remote shows black, the stream stays
// alive and switching back on needs no renegotiation. The camera stays open.
func (c *Capture) SetVideoEnabled(on bool) {
	if c.videoEnabled.Swap(on) != on {
		c.log.Info("video enabled changed", "enabled", on)
		if on {
			c.RequestKeyframe()
		}
	}
}

// VideoEnabled reports the last SetVideoEnabled; true initially.
func (c *Capture) VideoEnabled() bool { return c.videoEnabled.Load() }

// SelfFrames delivers copies of captured frames for the self view, at most one
// per SelfViewInterval, dropping when the reader is behind. Frames are black
// while video is disabled, as sent. The channel is closed when capture stops;
// it is closed from the start without a camera.
func (c *Capture) SelfFrames() <-chan image.Image { return c.self }

// Stats returns counters since OpenCapture.
func (c *Capture) Stats() CaptureStats {
	return CaptureStats{
		VideoFrames:     c.videoFrames.Load(),
		VideoBytes:      c.videoBytes.Load(),
		Keyframes:       c.keyframes.Load(),
		KeyframeForced:  c.forced.Load(),
		VideoStale:      c.stale.Load(),
		AudioPackets:    c.audioPackets.Load(),
		AudioBytes:      c.audioBytes.Load(),
		VideoEncodeTime: time.Duration(c.encodeNanos.Load()),
	}
}

// closeTimeout bounds Close. A camera read can take up to its 5 s timeout to
// notice; after closeTimeout the rest is left to finish in the background.
const closeTimeout = 2 * time.Second

// Close stops capture and releases the camera, microphone and encoders. It is
// safe to call more than once and returns within about closeTimeout.
func (c *Capture) Close() error {
	c.closeOnce.Do(func() {
		start := time.Now()
		close(c.done)
		finished := make(chan error, 1)
		go func() {
			err := c.teardown()
			trim()
			finished <- err
		}()
		select {
		case err := <-finished:
			c.closeErr = err
		case <-time.After(closeTimeout):
			c.closeErr = fmt.Errorf("close capture: devices still closing after %v", closeTimeout)
		}
		c.log.Info("capture closed", "took", time.Since(start), "err", c.closeErr)
	})
	return c.closeErr
}

// teardown closes sources first, so that the encoders' blocked reads return,
// then waits for the pumps, then closes the encoders: mediadevices' VP8
// encoder holds its lock while reading a frame, so closing it first would wait
// for the camera.
func (c *Capture) teardown() error {
	var errs []error
	for _, t := range []mediadevices.Track{c.videoTrack, c.audioTrack} {
		if t != nil {
			if err := t.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s track: %w", t.Kind(), err))
			}
		}
	}
	c.pumps.Wait()
	for _, e := range []mediadevices.EncodedReadCloser{c.videoEnc, c.audioEnc} {
		if e != nil {
			if err := e.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close encoder: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
