package media

import (
	"image"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/wave"
)

// testVideoSource is the "test" camera: colour bars with a moving white block,
// I420, paced by a ticker. It stands in for mediadevices' videotest driver,
// which cannot serve here: drivers are process-wide singletons in
// mediadevices' manager (a second Capture in the same process, as in
// device+caller tests, fails to open it), importing the camera driver deletes it
// from the manager (camera.Initialize drops every video recorder), and its Read
// blocks forever on a stopped ticker if Close races a read.
type testVideoSource struct {
	w, h      int
	tick      *time.Ticker
	done      chan struct{}
	closeOnce sync.Once
	base      *image.YCbCr
	img       *image.YCbCr
	n         int
	// block is where the white block was drawn in img, to be painted
	// over from base on the next frame.
	block image.Rectangle
}

func newTestVideoSource(w, h, fps int) *testVideoSource {
	s := &testVideoSource{
		w: w, h: h,
		tick: time.NewTicker(time.Second / time.Duration(fps)),
		done: make(chan struct{}),
		base: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		img:  image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
	}
	// BT.601 75% colour bars: Y, Cb, Cr.
	bars := [][3]byte{{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
		{84, 184, 198}, {65, 100, 212}, {35, 212, 114}}
	for y := range h {
		for x := range w {
			s.base.Y[y*s.base.YStride+x] = bars[x*len(bars)/w][0]
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			c := bars[(2*x)*len(bars)/w]
			s.base.Cb[y*s.base.CStride+x] = c[1]
			s.base.Cr[y*s.base.CStride+x] = c[2]
		}
	}
	copy(s.img.Y, s.base.Y)
	copy(s.img.Cb, s.base.Cb)
	copy(s.img.Cr, s.base.Cr)
	return s
}

func (s *testVideoSource) ID() string { return "hearth-test-camera" }

// Read returns the next frame, in the same image every time. Only the
// block changes from frame to frame (it is luma only), so only the block's
// old and new places are painted: copying the whole 640x480 picture each
// frame was the test camera's main cost.
func (s *testVideoSource) Read() (image.Image, func(), error) {
	select {
	case <-s.done:
		return nil, func() {}, io.EOF
	case <-s.tick.C:
	}
	for y := s.block.Min.Y; y < s.block.Max.Y; y++ {
		i := y*s.img.YStride + s.block.Min.X
		copy(s.img.Y[i:i+s.block.Dx()], s.base.Y[i:])
	}
	// A white block that moves one block width per frame, so that every frame
	// differs and the encoder does real work.
	bw, bh := max(s.w/16, 2), max(s.h/8, 2)
	x0 := (s.n * bw) % max(s.w-bw, 1)
	y0 := s.h/2 - bh/2
	s.block = image.Rect(x0, y0, x0+bw, y0+bh)
	for y := y0; y < y0+bh; y++ {
		row := s.img.Y[y*s.img.YStride:]
		for x := x0; x < x0+bw; x++ {
			row[x] = 235
		}
	}
	s.n++
	return s.img, func() {}, nil
}

func (s *testVideoSource) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.tick.Stop()
	})
	return nil
}

// testAudioSource is the "test" microphone: a soft 440 Hz sine, 48 kHz mono,
// in 20 ms chunks paced in real time.
type testAudioSource struct {
	tick      *time.Ticker
	done      chan struct{}
	closeOnce sync.Once
	phase     float64
}

const (
	sampleRate     = 48000
	chunkSamples   = sampleRate / 50 // 20 ms
	chunkDuration  = 20 * time.Millisecond
	testToneHz     = 440
	testToneVolume = 0.2
)

func newTestAudioSource() *testAudioSource {
	return &testAudioSource{tick: time.NewTicker(chunkDuration), done: make(chan struct{})}
}

func (s *testAudioSource) ID() string { return "hearth-test-microphone" }

func (s *testAudioSource) Read() (wave.Audio, func(), error) {
	select {
	case <-s.done:
		return nil, func() {}, io.EOF
	case <-s.tick.C:
	}
	a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunkSamples, Channels: 1, SamplingRate: sampleRate})
	step := 2 * math.Pi * testToneHz / sampleRate
	for i := range chunkSamples {
		a.Data[i] = int16(testToneVolume * math.MaxInt16 * math.Sin(s.phase))
		s.phase += step
	}
	s.phase = math.Mod(s.phase, 2*math.Pi)
	return a, func() {}, nil
}

func (s *testAudioSource) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.tick.Stop()
	})
	return nil
}

// videoTap sits between the camera and the encoder. It replaces frames with
// black while video is disabled, copies a few frames a second to the self
// view and applies keyframe requests to the frame just captured. It runs on
// the encoder's goroutine, inside the encoder's Read, so it must never block.
type videoTap struct {
	enabled func() bool
	self    chan image.Image
	every   time.Duration
	last    time.Time
	black   *image.YCbCr
	// requests counts Capture.RequestKeyframe calls. force, once set (see
	// vp8KeyframeFlag), makes the encoder encode the frame being delivered
	// as a keyframe; applied is the count of requests it has served.
	requests *atomic.Uint64
	force    func()
	applied  uint64
	// The pump reads these after the encoder returns (same goroutine):
	// delivered is when the last frame left the tap for the encoder, to time
	// encoding; requested is the request count when it was captured; forced
	// says the tap forced it to be a keyframe.
	delivered time.Time
	requested uint64
	forced    bool
}

func (t *videoTap) transform(r video.Reader) video.Reader {
	return video.ReaderFunc(func() (image.Image, func(), error) {
		img, release, err := r.Read()
		if err != nil {
			return img, release, err
		}
		if !t.enabled() {
			img = t.blackLike(img)
		}
		// A keyframe request made while the encoder waited for this frame is
		// applied to this frame, not the next.
		t.requested = t.requests.Load()
		if t.force != nil && t.requested > t.applied {
			t.force()
			t.applied, t.forced = t.requested, true
		}
		if now := time.Now(); now.Sub(t.last) >= t.every {
			t.last = now
			select {
			case t.self <- copyImage(img):
			default: // the self view is behind; drop
			}
		}
		t.delivered = time.Now()
		return img, release, nil
	})
}

// blackLike returns a black I420 frame of img's size, kept between calls.
func (t *videoTap) blackLike(img image.Image) image.Image {
	b := img.Bounds()
	if t.black == nil || t.black.Rect != b {
		t.black = image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
		for i := range t.black.Y {
			t.black.Y[i] = 16
		}
		for i := range t.black.Cb {
			t.black.Cb[i] = 128
			t.black.Cr[i] = 128
		}
	}
	return t.black
}

// copyImage copies a frame; camera buffers are reused by the next read.
func copyImage(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		c := *m
		c.Y = append([]byte(nil), m.Y...)
		c.Cb = append([]byte(nil), m.Cb...)
		c.Cr = append([]byte(nil), m.Cr...)
		return &c
	default:
		b := img.Bounds()
		c := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c.Set(x, y, img.At(x, y))
			}
		}
		return c
	}
}
