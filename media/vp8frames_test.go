package media

import (
	"bytes"
	"image"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Pkt is an RTP packet with a one-byte VP8 descriptor (S=1, PID=0 on a
// frame head) followed by body.
func vp8Pkt(seq uint16, ts uint32, head, marker bool, body ...byte) *rtp.Packet {
	desc := byte(0)
	if head {
		desc = 0x10
	}
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, Marker: marker},
		Payload: append([]byte{desc}, body...),
	}
}

// vp8Frame3 is a frame of three packets from seq: bodies a, b, c.
func vp8Frame3(seq uint16, ts uint32, a, b, c byte) []*rtp.Packet {
	return []*rtp.Packet{
		vp8Pkt(seq, ts, true, false, a),
		vp8Pkt(seq+1, ts, false, false, b),
		vp8Pkt(seq+2, ts, false, true, c),
	}
}

// pushPop pushes packets and returns every frame popped after each push,
// checking that none comes out before the last push.
func pushPop(t *testing.T, a *vp8Assembler, pkts ...*rtp.Packet) []vp8Frame {
	t.Helper()
	var out []vp8Frame
	for i, p := range pkts {
		a.Push(p)
		for f, ok := a.Pop(); ok; f, ok = a.Pop() {
			if i < len(pkts)-1 {
				t.Fatalf("frame %x released after packet %d of %d", f.Data, i+1, len(pkts))
			}
			out = append(out, f)
		}
	}
	return out
}

func wantFrames(t *testing.T, got []vp8Frame, want ...vp8Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Timestamp != want[i].Timestamp || got[i].AfterLoss != want[i].AfterLoss {
			t.Errorf("frame %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A frame is released as soon as its own last packet arrives: no packet of
// the next frame is needed (Pion's samplebuilder waits for one).
func TestAssemblerInOrderReleasesAtMarker(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	got := pushPop(t, a, vp8Frame3(100, 3000, 1, 2, 3)...)
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 3000})
	got = pushPop(t, a, vp8Frame3(103, 6000, 4, 5, 6)...)
	wantFrames(t, got, vp8Frame{Data: []byte{4, 5, 6}, Timestamp: 6000})
	got = pushPop(t, a, vp8Pkt(106, 9000, true, true, 7))
	wantFrames(t, got, vp8Frame{Data: []byte{7}, Timestamp: 9000})
}

func TestAssemblerOutOfOrderWithinFrame(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	wantFrames(t, pushPop(t, a, vp8Frame3(10, 1, 1, 2, 3)...), vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
	p := vp8Frame3(13, 2, 4, 5, 6)
	got := pushPop(t, a, p[2], p[0], p[1])
	wantFrames(t, got, vp8Frame{Data: []byte{4, 5, 6}, Timestamp: 2})
}

// The stream may start with reordered packets: the head arriving after the
// rest of the first frame still completes it.
func TestAssemblerReorderedFirstFrame(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	p := vp8Frame3(65000, 7, 1, 2, 3)
	got := pushPop(t, a, p[1], p[2], p[0])
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 7})
}

func TestAssemblerDuplicateAndLate(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	p := vp8Frame3(10, 1, 1, 2, 3)
	got := pushPop(t, a, p[0], p[1], p[1], p[0], p[2])
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
	if a.Duplicate != 2 {
		t.Errorf("Duplicate = %d, want 2", a.Duplicate)
	}
	for _, q := range p { // all already released
		a.Push(q)
	}
	if f, ok := a.Pop(); ok {
		t.Errorf("late packets made frame %+v", f)
	}
	if a.Late != 3 {
		t.Errorf("Late = %d, want 3", a.Late)
	}
}

// A lost packet: its frame is skipped once a later frame is complete, and
// that frame says so (AfterLoss), so the decoder waits for a keyframe.
func TestAssemblerLossSkipsFrame(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	wantFrames(t, pushPop(t, a, vp8Frame3(0, 1, 1, 2, 3)...), vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
	lost := vp8Frame3(3, 2, 4, 5, 6)
	a.Push(lost[0])
	a.Push(lost[2]) // lost[1] never comes
	if f, ok := a.Pop(); ok {
		t.Fatalf("incomplete frame released: %+v", f)
	}
	got := pushPop(t, a, vp8Frame3(6, 3, 7, 8, 9)...)
	wantFrames(t, got, vp8Frame{Data: []byte{7, 8, 9}, Timestamp: 3, AfterLoss: true})
	if a.Skipped != 1 {
		t.Errorf("Skipped = %d, want 1", a.Skipped)
	}
	a.Push(lost[1]) // too late now
	if _, ok := a.Pop(); ok || a.Late != 1 {
		t.Errorf("late packet of a skipped frame: popped %v, Late = %d; want nothing, 1", ok, a.Late)
	}
	got = pushPop(t, a, vp8Frame3(9, 4, 10, 11, 12)...)
	wantFrames(t, got, vp8Frame{Data: []byte{10, 11, 12}, Timestamp: 4})
}

func TestAssemblerSequenceWrap(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	got := pushPop(t, a, vp8Frame3(65534, 1, 1, 2, 3)...) // 65534, 65535, 0
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
	p := vp8Frame3(1, 2, 4, 5, 6)
	wantFrames(t, pushPop(t, a, p[1], p[0], p[2]), vp8Frame{Data: []byte{4, 5, 6}, Timestamp: 2})
	a.Push(vp8Pkt(65535, 1, false, false, 2))
	if a.Late != 1 {
		t.Errorf("Late = %d after a packet from before the wrap, want 1", a.Late)
	}
}

// A sender that sets no marker bits: a frame ends where a new timestamp
// starts with a head.
func TestAssemblerNoMarker(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	a.Push(vp8Pkt(5, 1, true, false, 1))
	a.Push(vp8Pkt(6, 1, false, false, 2))
	if _, ok := a.Pop(); ok {
		t.Fatal("frame released before its end is known")
	}
	got := pushPop(t, a, vp8Pkt(7, 2, true, false, 3))
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2}, Timestamp: 1})
}

// Packets far ahead evict the oldest ones; a jump of the sequence far behind
// restarts. The window never holds more than its size.
func TestAssemblerEvictionAndJump(t *testing.T) {
	a := newVP8Assembler(16)
	a.Push(vp8Pkt(0, 1, true, false, 1)) // its frame never completes
	for i := range uint16(40) {
		a.Push(vp8Pkt(2+i, 2+uint32(i), false, false, 2)) // non-head junk
		if a.span > 16 {
			t.Fatalf("span %d > window", a.span)
		}
	}
	if _, ok := a.Pop(); ok {
		t.Fatal("frame from junk")
	}
	got := pushPop(t, a, vp8Frame3(42, 100, 7, 8, 9)...)
	wantFrames(t, got, vp8Frame{Data: []byte{7, 8, 9}, Timestamp: 100, AfterLoss: true})
	got = pushPop(t, a, vp8Frame3(30000, 200, 1, 2, 3)...) // sender restarted
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 200, AfterLoss: true})
}

// A frame with a head but a timestamp change before its marker is broken and
// dropped at once; so is a non-head right after a released frame.
func TestAssemblerBrokenFrames(t *testing.T) {
	a := newVP8Assembler(assemblerWindow)
	wantFrames(t, pushPop(t, a, vp8Frame3(0, 1, 1, 2, 3)...), vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
	a.Push(vp8Pkt(3, 2, false, true, 9)) // no head: its frame cannot complete
	got := pushPop(t, a, vp8Frame3(4, 3, 4, 5, 6)...)
	wantFrames(t, got, vp8Frame{Data: []byte{4, 5, 6}, Timestamp: 3, AfterLoss: true})
	a.Push(vp8Pkt(7, 4, true, false, 1))
	a.Push(vp8Pkt(8, 5, false, true, 1)) // other timestamp, not a head
	got = pushPop(t, a, vp8Frame3(9, 6, 7, 8, 9)...)
	wantFrames(t, got, vp8Frame{Data: []byte{7, 8, 9}, Timestamp: 6, AfterLoss: true})
}

// Loss in a real stream: the decoder skips until a keyframe, asks for one,
// and decodes again after it.
func TestVideoDecoderLossRequestsKeyframe(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{Width: 320, Height: 240, FPS: 30, KeyframeInterval: time.Hour})
	rec := newFrameRecorder()
	needKey := make(chan struct{}, 100)
	d, err := NewVideoDecoder(VideoDecoderOptions{
		OnFrame:        rec.onFrame,
		OnNeedKeyframe: func() { needKey <- struct{}{} },
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pk := &packetizer{rtp.NewPacketizer(300, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(65500), 90000)}
	send := func(drop int) {
		t.Helper()
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pk.packets(s) {
			if i != drop {
				_ = d.WriteRTP(p)
			}
		}
	}
	send(-1) // keyframe
	rec.wait(t, 1)
	send(-1)
	rec.wait(t, 1)
	send(0) // the next frame loses its first packet: skipped
	send(-1)
	send(-1)
	select {
	case <-needKey:
	case <-time.After(5 * time.Second):
		t.Fatal("no keyframe request after loss")
	}
	c.RequestKeyframe()
	for i := 0; i < 10 && d.Stats().FramesDecoded < 3; i++ {
		send(-1)
		time.Sleep(10 * time.Millisecond)
	}
	st := d.Stats()
	if st.FramesDecoded < 3 || st.FramesSkipped < 2 || st.DecodeErrors != 0 {
		t.Errorf("Stats() = %+v; want 3 decoded, 2 skipped, no errors", st)
	}
}

// The first keyframe is decoded and delivered from its own packets alone.
func TestVideoDecoderFrameWithoutNext(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{Width: 320, Height: 240})
	got := make(chan image.Image, 1)
	d, err := NewVideoDecoder(VideoDecoderOptions{OnFrame: func(img image.Image) { got <- img }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := c.ReadVideo()
	if err != nil {
		t.Fatal(err)
	}
	pkts := newVP8Packetizer().packets(s)
	slices.Reverse(pkts) // and out of order
	for _, p := range pkts {
		_ = d.WriteRTP(p)
	}
	select {
	case img := <-got:
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
			t.Errorf("frame %v, want 320x240", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frame not delivered from its own packets")
	}
}

// FuzzVP8Assembler pushes arbitrary packet sequences (4 bytes a packet:
// sequence step, flags, timestamp step, body) through a small assembler: it
// must not crash or hang, hold no more than its window, and release frames
// whose data is what their packets carried.
func FuzzVP8Assembler(f *testing.F) {
	f.Add([]byte{1, 0x03, 0, 1, 1, 0x01, 1, 2, 1, 0x02, 0, 3})
	f.Add([]byte{0xff, 0x01, 0, 1, 2, 0x02, 0, 3, 0x80, 0x01, 5, 1, 0, 0x03, 0, 9})
	f.Fuzz(func(t *testing.T, in []byte) {
		a := newVP8Assembler(32)
		var seq uint16 = 65530
		var ts uint32
		for len(in) >= 4 {
			seq += uint16(int16(int8(in[0])))
			ts += uint32(in[2] % 4)
			p := vp8Pkt(seq, ts, in[1]&1 != 0, in[1]&2 != 0, in[3])
			if in[1]&4 != 0 {
				p.Payload = p.Payload[:0] // malformed: no descriptor
			}
			in = in[4:]
			a.Push(p)
			for fr, ok := a.Pop(); ok; fr, ok = a.Pop() {
				if len(fr.Data) == 0 || len(fr.Data) > 32 {
					t.Fatalf("frame of %d bytes from a 32-packet window of 1-byte bodies", len(fr.Data))
				}
			}
			if a.span < 0 || a.span > len(a.slots) {
				t.Fatalf("span %d outside window %d", a.span, len(a.slots))
			}
		}
	})
}

func TestAssemblerWindowPowerOfTwo(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{1, 1}, {10, 16}, {512, 512}, {1 << 20, 1 << 15}} {
		if got := len(newVP8Assembler(tc.in).slots); got != tc.want {
			t.Errorf("newVP8Assembler(%d) holds %d, want %d", tc.in, got, tc.want)
		}
	}
	a := newVP8Assembler(10)
	got := pushPop(t, a, vp8Frame3(65534, 1, 1, 2, 3)...)
	wantFrames(t, got, vp8Frame{Data: []byte{1, 2, 3}, Timestamp: 1})
}
