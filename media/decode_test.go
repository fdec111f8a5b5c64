package media

import (
	"image"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// packetizer turns encoded VP8 samples into RTP packets as Pion's
// TrackLocalStaticSample would.
type packetizer struct{ p rtp.Packetizer }

func newVP8Packetizer() *packetizer {
	return &packetizer{rtp.NewPacketizer(1200, 96, 0x1234, &codecs.VP8Payloader{EnablePictureID: true},
		rtp.NewRandomSequencer(), 90000)}
}

func (p *packetizer) packets(s Sample) []*rtp.Packet {
	return p.p.Packetize(s.Data, uint32(s.Duration.Seconds()*90000))
}

type frameRecorder struct {
	mu     sync.Mutex
	frames []image.Rectangle
	ch     chan struct{}
}

func newFrameRecorder() *frameRecorder { return &frameRecorder{ch: make(chan struct{}, 1000)} }

func (r *frameRecorder) onFrame(img image.Image) {
	r.mu.Lock()
	r.frames = append(r.frames, img.Bounds())
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *frameRecorder) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for range n {
		select {
		case <-r.ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %d decoded frames", n)
		}
	}
}

func TestVideoRoundTrip(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{Width: 320, Height: 240, FPS: 30})
	rec := newFrameRecorder()
	var needKey atomic.Int32
	d, err := NewVideoDecoder(VideoDecoderOptions{
		OnFrame:        rec.onFrame,
		OnNeedKeyframe: func() { needKey.Add(1) },
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pk := newVP8Packetizer()
	const n = 15
	for range n { // each frame is released at its last packet
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pk.packets(s) {
			if err := d.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec.wait(t, n)
	rec.mu.Lock()
	for i, r := range rec.frames {
		if r.Dx() != 320 || r.Dy() != 240 {
			t.Errorf("frame %d size = %dx%d, want 320x240", i, r.Dx(), r.Dy())
		}
	}
	rec.mu.Unlock()
	st := d.Stats()
	if st.FramesDecoded < n || st.FirstFrameAt.IsZero() || st.DecodeErrors != 0 {
		t.Errorf("Stats() = %+v, want >= %d frames, a first frame time, no errors", st, n)
	}
	if needKey.Load() != 0 {
		t.Errorf("OnNeedKeyframe called %d times with a clean stream", needKey.Load())
	}
}

// The first keyframe is lost: the decoder must skip, ask for a keyframe, and
// recover once the sender makes one.
func TestVideoLostKeyframeRecovers(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{Width: 320, Height: 240, FPS: 30})
	rec := newFrameRecorder()
	needKey := make(chan struct{}, 100)
	d, err := NewVideoDecoder(VideoDecoderOptions{
		OnFrame:        rec.onFrame,
		OnNeedKeyframe: func() { needKey <- struct{}{} },
		KeyframeRetry:  time.Millisecond,
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pk := newVP8Packetizer()
	first, err := c.ReadVideo()
	if err != nil || !first.Keyframe {
		t.Fatalf("first ReadVideo = keyframe %v, %v; want a keyframe", first.Keyframe, err)
	}
	pk.packets(first) // lost: advances sequence numbers, never delivered
	requested := false
	var sent time.Time
	for i := 0; i < 60 && d.FramesDecoded() == 0; i++ {
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatal(err)
		}
		if s.Keyframe && requested && sent.IsZero() {
			sent = time.Now()
		}
		for _, p := range pk.packets(s) {
			_ = d.WriteRTP(p)
		}
		select {
		case <-needKey:
			if !requested {
				requested = true
				c.RequestKeyframe() // what the caller does on PLI
			}
		default:
		}
		time.Sleep(5 * time.Millisecond) // let the decoder catch up
	}
	if !requested {
		t.Fatal("OnNeedKeyframe never called after the keyframe was lost")
	}
	rec.wait(t, 1)
	st := d.Stats()
	if st.FramesSkipped == 0 || st.DecodeErrors != 0 {
		t.Errorf("Stats() = %+v, want skipped frames and no decode errors", st)
	}
	t.Logf("recovered: %+v; decoded %v after the forced keyframe was read", st, st.FirstFrameAt.Sub(sent))
}

func TestVideoDecoderCloseFast(t *testing.T) {
	block := make(chan struct{})
	d, err := NewVideoDecoder(VideoDecoderOptions{OnFrame: func(image.Image) { <-block }})
	if err != nil {
		t.Fatal(err)
	}
	defer close(block)
	// Close must not wait for an OnFrame that never returns.
	closed := make(chan struct{})
	go func() {
		_ = d.Close()
		_ = d.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a blocked OnFrame")
	}
	if err := d.WriteRTP(&rtp.Packet{}); err != ErrClosed {
		t.Errorf("WriteRTP after Close = %v, want ErrClosed", err)
	}
}

func TestVP8KeyframeSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		w, h int
		ok   bool
	}{
		{"640x480", []byte{0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}, 640, 480, true},
		{"scaling bits ignored", []byte{0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0xc2, 0xe0, 0x41}, 640, 480, true},
		{"inter frame", []byte{0x11, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}, 0, 0, false},
		{"bad start code", []byte{0x10, 0, 0, 0x9d, 0x01, 0x2b, 0x80, 0x02, 0xe0, 0x01}, 0, 0, false},
		{"short", []byte{0x10, 0, 0}, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, h, ok := vp8KeyframeSize(tc.in)
			if w != tc.w || h != tc.h || ok != tc.ok {
				t.Errorf("vp8KeyframeSize = %d, %d, %v; want %d, %d, %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
		})
	}
}

// FuzzVideoDecoder feeds arbitrary RTP payloads (and so arbitrary VP8 frames
// to libvpx) through the decoder, in order or reordered, duplicated or lost:
// it must not crash or hang.
func FuzzVideoDecoder(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}, uint8(3))
	f.Add([]byte{0x10, 0x11, 0x22, 0x33}, uint8(1))
	f.Add([]byte{}, uint8(0))
	// A real keyframe, so mutations reach deep into libvpx.
	c := openTestCapture(f, CaptureOptions{Width: 64, Height: 48})
	if s, err := c.ReadVideo(); err == nil && s.Keyframe {
		f.Add(append([]byte{0x10}, s.Data...), uint8(1)) // VP8 descriptor: start of partition
		f.Add(append([]byte{0x10}, s.Data...), uint8(4))
	}
	_ = c.Close()
	f.Fuzz(func(t *testing.T, payload []byte, split uint8) {
		d, err := NewVideoDecoder(VideoDecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		rnd := rand.New(rand.NewPCG(uint64(len(payload)), uint64(split)))
		// Cut the payload into up to 8 packets per frame for three frames,
		// with marker bits, so the assembler releases frames; split's high
		// bits then reorder, duplicate or lose packets.
		parts := int(split%8) + 1
		seq := uint16(rnd.Uint32())
		var pkts []*rtp.Packet
		for frame := range uint32(3) {
			for i := range parts {
				lo, hi := len(payload)*i/parts, len(payload)*(i+1)/parts
				seq++
				pkts = append(pkts, &rtp.Packet{
					Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: frame * 3000, Marker: i == parts-1},
					Payload: payload[lo:hi],
				})
			}
		}
		switch split >> 3 % 4 {
		case 1: // reorder
			for range len(pkts) {
				i := rnd.IntN(len(pkts))
				j := min(len(pkts)-1, i+rnd.IntN(4))
				pkts[i], pkts[j] = pkts[j], pkts[i]
			}
		case 2: // duplicate
			i := rnd.IntN(len(pkts))
			pkts = slices.Insert(pkts, rnd.IntN(len(pkts)+1), pkts[i])
		case 3: // lose
			i := rnd.IntN(len(pkts))
			pkts = slices.Delete(pkts, i, i+1)
		}
		for _, p := range pkts {
			_ = d.WriteRTP(p)
		}
		deadline := time.Now().Add(time.Second)
		for len(d.packets) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	})
}
