package media

import (
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Assembler is the sample builder in front of the VP8 decoder: it turns
// RTP packets into whole VP8 frames. It replaces Pion's samplebuilder, which
// holds every frame until a packet of the next one arrives (a whole frame
// time, 67 ms at 15 fps); the marker bit already says a frame is complete.
//
// Packets are kept by sequence number in a ring of window slots. A frame is
// complete when the packets from a partition head (VP8 descriptor S=1,
// PID=0) to the one with the marker bit are all present, contiguous and of
// one RTP timestamp; it is released at once, and frames are released in
// sequence order. Late and duplicate packets are dropped. A frame with a
// missing packet is skipped as soon as a later frame is complete (or when it
// falls out of the window), and the next frame released carries AfterLoss so
// the decoder waits for a keyframe. Memory is bounded by the window whatever
// arrives.
type vp8Assembler struct {
	slots []asmSlot // indexed by sequence number mod len(slots)
	// next is the sequence number of the first packet not yet released or
	// skipped; packets before it are late.
	next    uint16
	started bool
	// span is one more than the distance from next to the newest packet
	// held; 0 when nothing is held.
	span int
	// lost is set when packets were skipped since the last released frame.
	lost bool
	// released is set once a frame has been released. Before that, the
	// stream may have started with reordered packets: an earlier packet
	// extends the window backwards instead of being late, and a first packet
	// that is no frame head may still get its head.
	released bool

	Late, Duplicate, Malformed uint64 // packets dropped on arrival
	Skipped                    uint64 // frames skipped for loss or eviction
}

type asmSlot struct {
	used    bool
	seq     uint16
	ts      uint32
	marker  bool
	head    bool // VP8 S=1, PID=0: first packet of a frame
	payload []byte
}

// vp8Frame is one reassembled VP8 frame.
type vp8Frame struct {
	Data      []byte
	Timestamp uint32
	// AfterLoss reports packets lost or skipped before this frame, so that an
	// inter frame cannot be decoded.
	AfterLoss bool
}

// assemblerWindow is how many packets the assembler holds: about a second of
// 500 kbit/s video, and far more than one frame.
const assemblerWindow = 512

// newVP8Assembler holds window packets, rounded up to a power of two (at
// most 2^15) so that slots stay distinct across the sequence wrap.
func newVP8Assembler(window int) *vp8Assembler {
	n := 1
	for n < window && n < 1<<15 {
		n <<= 1
	}
	return &vp8Assembler{slots: make([]asmSlot, n)}
}

func (a *vp8Assembler) slot(seq uint16) *asmSlot { return &a.slots[int(seq)%len(a.slots)] }

// Push adds one packet. The payload is kept, not copied.
func (a *vp8Assembler) Push(p *rtp.Packet) {
	var vp codecs.VP8Packet
	payload, err := vp.Unmarshal(p.Payload)
	if err != nil {
		a.Malformed++ // its sequence number stays a gap: lost
		return
	}
	seq := p.SequenceNumber
	if !a.started {
		a.started, a.next = true, seq
	}
	w := len(a.slots)
	d := int(int16(seq - a.next)) // distance ahead of next, across wrap-around
	switch {
	case d < -w:
		// Further behind than the window reaches, so not a late packet: the
		// sender jumped (restarted its sequence). Start again from here.
		a.reset(seq)
		d = 0
	case d < 0 && !a.released && a.span-d <= w:
		a.next, a.span, d = seq, a.span-d, 0
	case d < 0:
		a.Late++
		return
	case d >= w:
		// Evict the oldest packets so that seq fits in the window.
		a.skipTo(seq - uint16(w) + 1)
		d = w - 1
	}
	s := a.slot(seq)
	if s.used && s.seq == seq {
		a.Duplicate++
		return
	}
	*s = asmSlot{used: true, seq: seq, ts: p.Timestamp, marker: p.Marker,
		head: vp.S == 1 && vp.PID == 0, payload: payload}
	a.span = max(a.span, d+1)
}

// reset forgets every packet and continues from seq.
func (a *vp8Assembler) reset(seq uint16) {
	if a.span > 0 {
		a.lost = true
		a.Skipped++
	}
	clear(a.slots)
	a.next, a.span = seq, 0
}

// skipTo drops every packet before seq (which is ahead of next), counting
// the frames they belonged to as skipped.
func (a *vp8Assembler) skipTo(seq uint16) {
	n := int(uint16(seq - a.next))
	if n == 0 {
		return
	}
	a.lost = true
	var lastTS uint32
	frames := 0
	for i := range min(n, a.span) {
		s := a.slot(a.next + uint16(i))
		if s.used && s.seq == a.next+uint16(i) {
			if frames == 0 || s.ts != lastTS {
				frames++
				lastTS = s.ts
			}
			*s = asmSlot{}
		}
	}
	// Frames of which nothing arrived are not counted; their loss still
	// shows as AfterLoss on the next frame.
	a.Skipped += uint64(frames)
	a.next += uint16(n)
	a.span = max(a.span-n, 0)
}

// has reports whether the packet with sequence number seq is held.
func (a *vp8Assembler) has(seq uint16) bool {
	s := a.slot(seq)
	return s.used && s.seq == seq
}

// frameAt checks for a complete frame whose head is at offset i from next
// (i < span). It returns the number of packets in it, or 0 with end, the
// offset just past what was examined, when the frame is not (yet) complete.
// broken reports a frame that can never complete: a packet at i that is no
// head, or a timestamp change before the marker.
func (a *vp8Assembler) frameAt(i int) (n int, end int, broken bool) {
	first := a.slot(a.next + uint16(i))
	if !a.has(a.next+uint16(i)) || !first.head {
		return 0, i + 1, a.has(a.next + uint16(i))
	}
	for j := i; j < a.span; j++ {
		seq := a.next + uint16(j)
		if !a.has(seq) {
			return 0, j, false
		}
		s := a.slot(seq)
		if s.ts != first.ts {
			// A new timestamp right after the previous packet: the sender
			// left out the marker, and the frame ended there.
			if s.head && j > i {
				return j - i, j, false
			}
			return 0, j, true
		}
		if j > i && s.head {
			return 0, j, true // two frame heads in one timestamp
		}
		if s.marker {
			return j - i + 1, j + 1, false
		}
	}
	return 0, a.span, false
}

// Pop returns the next complete frame in order, if there is one.
func (a *vp8Assembler) Pop() (vp8Frame, bool) {
	for a.span > 0 {
		n, _, broken := a.frameAt(0)
		if broken && !a.released && !a.slot(a.next).head {
			broken = false // its head may still come
		}
		if n > 0 {
			return a.take(n), true
		}
		if broken {
			// The frame at next can never complete: drop up to the next head.
			j := 1
			for j < a.span && !(a.has(a.next+uint16(j)) && a.slot(a.next+uint16(j)).head) {
				j++
			}
			a.skipTo(a.next + uint16(j))
			continue
		}
		// Incomplete: skip it if a later frame is already complete, so that
		// loss costs no more than the frame time it takes to be sure.
		later := -1
		for i := 1; i < a.span; {
			n, end, _ := a.frameAt(i)
			if n > 0 {
				later = i
				break
			}
			i = max(end, i+1)
		}
		if later < 0 {
			return vp8Frame{}, false
		}
		a.skipTo(a.next + uint16(later))
	}
	return vp8Frame{}, false
}

// take releases the n packets at next as one frame.
func (a *vp8Assembler) take(n int) vp8Frame {
	size := 0
	for i := range n {
		size += len(a.slot(a.next + uint16(i)).payload)
	}
	f := vp8Frame{Data: make([]byte, 0, size), Timestamp: a.slot(a.next).ts, AfterLoss: a.lost}
	for i := range n {
		s := a.slot(a.next + uint16(i))
		f.Data = append(f.Data, s.payload...)
		*s = asmSlot{}
	}
	a.next += uint16(n)
	a.span -= n
	a.lost, a.released = false, true
	return f
}
