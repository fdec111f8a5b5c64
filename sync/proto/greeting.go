package proto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"time"
)

// Limits on an allowlist entry's picture and greeting. With both at their
// cap a caller's entry is about 150 KiB of base64, so some twenty callers
// with both fit in one allowlist (MaxPayload).
const (
	// MaxPicture bounds a caller's picture (JPEG); hearthctl makes 256x256
	// pictures of 10-25 KiB.
	MaxPicture = 64 << 10
	// MaxPictureSide bounds the picture's width and height as its header
	// declares them, so that decoding it for the screen costs little.
	MaxPictureSide = 1024
	// MaxGreeting bounds a caller's recorded greeting (Ogg Opus).
	MaxGreeting = 48 << 10
	// MaxGreetingLength bounds how long the greeting plays.
	MaxGreetingLength = 5 * time.Second
)

// CheckPicture checks an allowlist picture: at most MaxPicture bytes, a
// baseline or progressive JPEG whose header declares at most
// MaxPictureSide on each side. The pixels are not decoded here.
func CheckPicture(b []byte) error {
	if len(b) > MaxPicture {
		return fmt.Errorf("picture of %d bytes: %w (limit %d)", len(b), ErrTooLarge, MaxPicture)
	}
	if !bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) {
		return fmt.Errorf("picture: %w: not a JPEG", ErrInvalid)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("picture: %w: %v", ErrInvalid, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxPictureSide || cfg.Height > MaxPictureSide {
		return fmt.Errorf("picture of %dx%d: %w (at most %d on a side)", cfg.Width, cfg.Height, ErrTooLarge, MaxPictureSide)
	}
	return nil
}

// GreetingSampleRate is the rate of Opus granule positions and of the
// greeting's PCM, whatever rate the recording was made at.
const GreetingSampleRate = 48000

// Greeting is a parsed greeting: one Ogg Opus stream (RFC 7845).
type Greeting struct {
	Channels int // 1 or 2
	// PreSkip is how many decoded samples (48 kHz) to drop at the start.
	PreSkip int
	// Samples is how many samples (48 kHz, per channel) play after PreSkip:
	// the last page's granule position less PreSkip.
	Samples int
	// Packets are the Opus audio packets in order.
	Packets [][]byte
}

// Duration is how long the greeting plays.
func (g Greeting) Duration() time.Duration {
	return time.Duration(g.Samples) * time.Second / GreetingSampleRate
}

// ParseGreeting checks an allowlist greeting and returns its Opus packets:
// at most MaxGreeting bytes; one logical Ogg stream (RFC 3533) of pages
// with correct CRCs and consecutive sequence numbers, nothing after the
// last page; an OpusHead (version 0.x, 1 or 2 channels, channel mapping
// family 0) and an OpusTags packet, then audio packets, each with a valid
// TOC byte; granule positions that never go back, and a last one that
// agrees with the packets (it may trim at most one packet's length at the
// end, as encoders do); and at most MaxGreetingLength of sound after the
// pre-skip. The output gain field is ignored.
func ParseGreeting(b []byte) (Greeting, error) {
	if len(b) > MaxGreeting {
		return Greeting{}, fmt.Errorf("greeting of %d bytes: %w (limit %d)", len(b), ErrTooLarge, MaxGreeting)
	}
	g, err := parseOggOpus(b)
	if err != nil {
		return Greeting{}, fmt.Errorf("greeting: %w", err)
	}
	if g.Duration() > MaxGreetingLength {
		return Greeting{}, fmt.Errorf("greeting of %v: %w (limit %v)", g.Duration(), ErrTooLarge, MaxGreetingLength)
	}
	return g, nil
}

// maxOpusPacketSamples is the longest Opus packet: 120 ms at 48 kHz.
const maxOpusPacketSamples = GreetingSampleRate * 120 / 1000

func parseOggOpus(b []byte) (Greeting, error) {
	var (
		g          Greeting
		serial     uint32
		seq        uint32
		partial    []byte // a packet continued on the next page
		continuing bool
		granule    int64 = -1 // last page's, -1 before any
		total      int        // samples in the audio packets
		packets    int        // all packets, headers included
	)
	for page := 0; len(b) > 0; page++ {
		h, body, rest, err := oggPage(b)
		if err != nil {
			return Greeting{}, fmt.Errorf("ogg page %d: %w", page, err)
		}
		b = rest
		switch {
		case page == 0 && h.flags&oggBOS == 0:
			return Greeting{}, fmt.Errorf("%w: first ogg page does not begin a stream", ErrInvalid)
		case page == 0:
			serial, seq = h.serial, h.seq
		case h.serial != serial || h.flags&oggBOS != 0:
			return Greeting{}, fmt.Errorf("%w: ogg page %d of another stream (one stream only)", ErrInvalid, page)
		case h.seq != seq+1:
			return Greeting{}, fmt.Errorf("%w: ogg page %d has sequence %d after %d (a page is missing)", ErrInvalid, page, h.seq, seq)
		default:
			seq = h.seq
		}
		if (h.flags&oggContinued != 0) != continuing {
			return Greeting{}, fmt.Errorf("%w: ogg page %d continuation flag disagrees with the previous page", ErrInvalid, page)
		}
		if h.granule != -1 {
			if h.granule < granule {
				return Greeting{}, fmt.Errorf("%w: ogg page %d granule position goes back", ErrInvalid, page)
			}
			granule = h.granule
		}
		// Split the body into packets by its lacing values: a packet ends at
		// the first value below 255.
		off := 0
		for _, lace := range h.lacing {
			partial = append(partial, body[off:off+int(lace)]...)
			off += int(lace)
			if lace == 255 {
				continue
			}
			p := partial
			partial = nil
			switch packets {
			case 0:
				if err := g.opusHead(p); err != nil {
					return Greeting{}, err
				}
			case 1:
				if !bytes.HasPrefix(p, []byte("OpusTags")) {
					return Greeting{}, fmt.Errorf("%w: second packet is not OpusTags", ErrInvalid)
				}
			default:
				n, err := opusSamples(p)
				if err != nil {
					return Greeting{}, fmt.Errorf("%w: audio packet %d: %v", ErrInvalid, packets-2, err)
				}
				total += n
				g.Packets = append(g.Packets, p)
			}
			packets++
		}
		continuing = len(h.lacing) > 0 && h.lacing[len(h.lacing)-1] == 255
		if h.flags&oggEOS != 0 && len(b) > 0 {
			return Greeting{}, fmt.Errorf("%w: %d bytes after the end of the ogg stream", ErrInvalid, len(b))
		}
	}
	switch {
	case packets == 0:
		return Greeting{}, fmt.Errorf("%w: not an ogg stream (empty)", ErrInvalid)
	case continuing:
		return Greeting{}, fmt.Errorf("%w: the last ogg packet is cut off", ErrInvalid)
	case len(g.Packets) == 0:
		return Greeting{}, fmt.Errorf("%w: no audio packets", ErrInvalid)
	case granule < 0 || granule > int64(total) || granule < int64(total-maxOpusPacketSamples):
		return Greeting{}, fmt.Errorf("%w: last granule position %d does not match the %d samples of the packets", ErrInvalid, granule, total)
	case granule <= int64(g.PreSkip):
		return Greeting{}, fmt.Errorf("%w: no sound after the pre-skip of %d samples", ErrInvalid, g.PreSkip)
	}
	g.Samples = int(granule) - g.PreSkip
	return g, nil
}

// opusHead reads the identification header (RFC 7845 section 5.1).
func (g *Greeting) opusHead(p []byte) error {
	if len(p) < 19 || !bytes.HasPrefix(p, []byte("OpusHead")) {
		return fmt.Errorf("%w: not an Ogg Opus stream (no OpusHead)", ErrInvalid)
	}
	if p[8]&0xf0 != 0 {
		return fmt.Errorf("%w: OpusHead version %d", ErrInvalid, p[8])
	}
	g.Channels = int(p[9])
	g.PreSkip = int(binary.LittleEndian.Uint16(p[10:]))
	if family := p[18]; family != 0 || g.Channels < 1 || g.Channels > 2 {
		return fmt.Errorf("%w: %d channels with mapping family %d (want mono or stereo, family 0)", ErrInvalid, g.Channels, family)
	}
	return nil
}

// opusSamples is how many 48 kHz samples an Opus packet decodes to, from
// its TOC byte and frame count (RFC 6716 section 3.1).
func opusSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("empty")
	}
	toc := p[0]
	var frame int // samples per frame at 48 kHz
	switch cfg := toc >> 3; {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = []int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []int{120, 240, 480, 960}[cfg&3]
	}
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, fmt.Errorf("code 3 packet without a frame count")
		}
		frames = int(p[1] & 0x3f)
		if frames == 0 {
			return 0, fmt.Errorf("code 3 packet of no frames")
		}
	}
	if n := frame * frames; n <= maxOpusPacketSamples {
		return n, nil
	}
	return 0, fmt.Errorf("%d frames of %d samples: longer than 120 ms", frames, frame)
}

// Ogg page header flags.
const (
	oggContinued = 0x01
	oggBOS       = 0x02
	oggEOS       = 0x04
)

type oggHeader struct {
	flags   byte
	granule int64
	serial  uint32
	seq     uint32
	lacing  []byte
}

// oggPage reads the page at the start of b (RFC 3533 section 6) and checks
// its CRC; body is its data, rest what follows it.
func oggPage(b []byte) (h oggHeader, body, rest []byte, err error) {
	const headerLen = 27
	if len(b) < headerLen || string(b[:4]) != "OggS" {
		return h, nil, nil, fmt.Errorf("%w: not an ogg page", ErrInvalid)
	}
	if b[4] != 0 {
		return h, nil, nil, fmt.Errorf("%w: ogg version %d", ErrInvalid, b[4])
	}
	h.flags = b[5]
	if h.flags&^(oggContinued|oggBOS|oggEOS) != 0 {
		return h, nil, nil, fmt.Errorf("%w: ogg flags %#x", ErrInvalid, h.flags)
	}
	h.granule = int64(binary.LittleEndian.Uint64(b[6:]))
	h.serial = binary.LittleEndian.Uint32(b[14:])
	h.seq = binary.LittleEndian.Uint32(b[18:])
	n := int(b[26])
	if len(b) < headerLen+n {
		return h, nil, nil, fmt.Errorf("%w: ogg page cut off in its segment table", ErrInvalid)
	}
	h.lacing = b[headerLen : headerLen+n]
	size := 0
	for _, l := range h.lacing {
		size += int(l)
	}
	end := headerLen + n + size
	if len(b) < end {
		return h, nil, nil, fmt.Errorf("%w: ogg page of %d bytes cut off at %d", ErrInvalid, end, len(b))
	}
	if got, want := oggCRC(b[:end]), binary.LittleEndian.Uint32(b[22:]); got != want {
		return h, nil, nil, fmt.Errorf("%w: ogg page checksum %#08x, want %#08x", ErrInvalid, want, got)
	}
	return h, b[headerLen+n : end], b[end:], nil
}

// oggCRC is Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, no initial
// or final XOR) over a page with its checksum field taken as zero.
func oggCRC(page []byte) uint32 {
	var crc uint32
	for i, c := range page {
		if i >= 22 && i < 26 {
			c = 0
		}
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()
