package media

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/rtp"
)

// VideoDecoderOptions configures NewVideoDecoder.
type VideoDecoderOptions struct {
	// OnFrame receives each decoded frame on the decoder's delivery goroutine.
	// It may be slow: while it runs, newer frames replace older undelivered ones.
	OnFrame func(image.Image)
	// OnNeedKeyframe asks the caller to send an RTCP PLI. It is called when a
	// frame arrives that cannot be decoded without a keyframe first (at the
	// start, after packet loss or after a decode error), and again every
	// KeyframeRetry while nothing decodes. It must not block.
	OnNeedKeyframe func()
	// KeyframeRetry is the least time between OnNeedKeyframe calls; default 500 ms.
	KeyframeRetry time.Duration
	// MaxWidth and MaxHeight bound the frame size the remote may send (checked
	// on keyframes before libvpx allocates); default 1920x1080.
	MaxWidth, MaxHeight int
	Logger              *slog.Logger
}

// DecoderStats are counters since NewVideoDecoder.
type DecoderStats struct {
	PacketsReceived  uint64
	PacketsDropped   uint64 // queue full
	PacketsLate      uint64 // late, duplicate or malformed, dropped by the frame assembler
	FramesDecoded    uint64
	FramesSkipped    uint64 // waiting for a keyframe, lost packets or too large
	FramesDropped    uint64 // decoded but replaced before OnFrame took them
	DecodeErrors     uint64
	KeyframeRequests uint64
	FirstFrameAt     time.Time // zero until the first frame decodes
	Width, Height    int       // of the last decoded frame
}

// VideoDecoder turns the RTP packets of a remote VP8 track into images.
// WriteRTP queues; one goroutine reassembles frames (vp8Assembler, released
// as soon as their last packet arrives) and decodes them with libvpx, another
// hands frames to OnFrame.
type VideoDecoder struct {
	log  *slog.Logger
	opts VideoDecoderOptions

	packets chan *rtp.Packet
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	latest chan image.Image // one slot: the newest undelivered frame

	mu    sync.Mutex // guards stats
	stats DecoderStats
}

// decoderQueue is how many packets may wait for the decode goroutine: about a
// second of 500 kbit/s video.
const decoderQueue = 512

// NewVideoDecoder starts a VP8 decoder.
func NewVideoDecoder(o VideoDecoderOptions) (*VideoDecoder, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeyframeRetry <= 0 {
		o.KeyframeRetry = 500 * time.Millisecond
	}
	if o.MaxWidth <= 0 || o.MaxHeight <= 0 {
		o.MaxWidth, o.MaxHeight = 1920, 1080
	}
	if o.OnFrame == nil {
		o.OnFrame = func(image.Image) {}
	}
	if o.OnNeedKeyframe == nil {
		o.OnNeedKeyframe = func() {}
	}
	in := &frameInput{}
	dec, err := vpx.NewDecoder(in, prop.Media{})
	if err != nil {
		return nil, fmt.Errorf("new video decoder: %w", err)
	}
	d := &VideoDecoder{
		log:     o.Logger,
		opts:    o,
		packets: make(chan *rtp.Packet, decoderQueue),
		done:    make(chan struct{}),
		latest:  make(chan image.Image, 1),
	}
	d.wg.Add(1)
	go d.decodeLoop(dec, in)
	go d.deliverLoop() // not waited for: it may be inside a slow OnFrame
	return d, nil
}

// WriteRTP queues one packet of the remote VP8 track. It never blocks: when
// the decoder is behind the packet is dropped (and a keyframe requested). The
// packet is copied. It returns ErrClosed after Close.
func (d *VideoDecoder) WriteRTP(p *rtp.Packet) error {
	select {
	case <-d.done:
		return ErrClosed
	default:
	}
	d.mu.Lock()
	d.stats.PacketsReceived++
	d.mu.Unlock()
	select {
	case d.packets <- p.Clone():
	default:
		d.mu.Lock()
		d.stats.PacketsDropped++
		d.mu.Unlock()
	}
	return nil
}

// Stats returns the counters.
func (d *VideoDecoder) Stats() DecoderStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// FramesDecoded is Stats().FramesDecoded.
func (d *VideoDecoder) FramesDecoded() uint64 { return d.Stats().FramesDecoded }

// FirstFrameAt is when the first frame decoded; zero before.
func (d *VideoDecoder) FirstFrameAt() time.Time { return d.Stats().FirstFrameAt }

// Close stops decoding and waits for the goroutines. It does not wait for an
// OnFrame call in progress. Safe to call more than once.
func (d *VideoDecoder) Close() error {
	d.once.Do(func() { close(d.done) })
	d.wg.Wait()
	return nil
}

// frameInput hands one whole frame at a time to mediadevices' decoder, which
// expects exactly one frame per Read.
type frameInput struct{ frame []byte }

// errNoInput tells decodeLoop that libvpx consumed the frame without output.
var errNoInput = errors.New("no input")

func (f *frameInput) Read(p []byte) (int, error) {
	if f.frame == nil {
		return 0, errNoInput
	}
	if len(f.frame) > len(p) {
		f.frame = nil
		return 0, io.ErrShortBuffer
	}
	n := copy(p, f.frame)
	f.frame = nil
	return n, nil
}

// maxFrameBytes is mediadevices' decoder input buffer size.
const maxFrameBytes = 1 << 20

func (d *VideoDecoder) decodeLoop(dec codec.VideoDecoder, in *frameInput) {
	defer d.wg.Done()
	defer func() { _ = dec.Close() }()
	asm := newVP8Assembler(assemblerWindow)
	var late, skipped uint64 // asm's counters already in stats
	waiting := true          // for a keyframe
	var waitingSince, lastRequest time.Time
	request := func(why string) {
		if time.Since(lastRequest) < d.opts.KeyframeRetry {
			return
		}
		lastRequest = time.Now()
		d.count(func(s *DecoderStats) { s.KeyframeRequests++ })
		d.log.Debug("requesting keyframe", "why", why)
		d.opts.OnNeedKeyframe()
	}
	for {
		var p *rtp.Packet
		select {
		case <-d.done:
			return
		case p = <-d.packets:
		}
		if waitingSince.IsZero() {
			waitingSince = time.Now()
		}
		asm.Push(p)
		for f, ok := asm.Pop(); ok; f, ok = asm.Pop() {
			frame := f.Data
			if len(frame) == 0 {
				continue
			}
			key := frame[0]&1 == 0
			if f.AfterLoss && !key && !waiting {
				waiting, waitingSince = true, time.Now()
			}
			if key {
				w, h, ok := vp8KeyframeSize(frame)
				if !ok || w == 0 || h == 0 || w > d.opts.MaxWidth || h > d.opts.MaxHeight || len(frame) > maxFrameBytes {
					d.count(func(s *DecoderStats) { s.FramesSkipped++ })
					d.log.Warn("bad keyframe skipped", "width", w, "height", h, "bytes", len(frame))
					waiting, waitingSince = true, time.Now()
					request("bad keyframe")
					continue
				}
				waiting = false
			}
			if waiting {
				d.count(func(s *DecoderStats) { s.FramesSkipped++ })
				request("waiting for keyframe")
				continue
			}
			in.frame = frame
			img, release, err := dec.Read()
			in.frame = nil
			if errors.Is(err, errNoInput) {
				continue // a frame without a picture
			}
			if err != nil {
				d.count(func(s *DecoderStats) { s.DecodeErrors++ })
				d.log.Debug("vp8 decode failed", "err", err)
				waiting, waitingSince = true, time.Now()
				request("decode error")
				continue
			}
			if release != nil {
				release()
			}
			b := img.Bounds()
			d.count(func(s *DecoderStats) {
				s.FramesDecoded++
				if s.FirstFrameAt.IsZero() {
					s.FirstFrameAt = time.Now()
				}
				s.Width, s.Height = b.Dx(), b.Dy()
			})
			d.offer(img)
		}
		if l, sk := asm.Late+asm.Duplicate+asm.Malformed, asm.Skipped; l != late || sk != skipped {
			d.count(func(s *DecoderStats) {
				s.PacketsLate += l - late
				s.FramesSkipped += sk - skipped
			})
			late, skipped = l, sk
		}
		// Keep asking while nothing decodes, e.g. when the PLI was lost, or
		// when the first frames never completed.
		if waiting && time.Since(waitingSince) >= d.opts.KeyframeRetry {
			request("still waiting for keyframe")
		}
	}
}

// offer puts img in the one-slot queue, replacing an undelivered frame.
func (d *VideoDecoder) offer(img image.Image) {
	for {
		select {
		case d.latest <- img:
			return
		default:
		}
		select {
		case <-d.latest:
			d.count(func(s *DecoderStats) { s.FramesDropped++ })
		default:
		}
	}
}

func (d *VideoDecoder) deliverLoop() {
	for {
		select {
		case <-d.done:
			return
		case img := <-d.latest:
			d.opts.OnFrame(img)
		}
	}
}

func (d *VideoDecoder) count(f func(*DecoderStats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// vp8KeyframeSize reads the picture size from a VP8 keyframe header
// (RFC 6386 section 9.1): 3-byte frame tag, start code 9d 01 2a, then 14-bit
// width and height.
func vp8KeyframeSize(f []byte) (w, h int, ok bool) {
	if len(f) < 10 || f[0]&1 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	w = int(f[6]) | int(f[7]&0x3f)<<8
	h = int(f[8]) | int(f[9]&0x3f)<<8
	return w, h, true
}
