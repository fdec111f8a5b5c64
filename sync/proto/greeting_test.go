package proto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// celtSilence is a 20 ms CELT frame of silence (TOC 0xf8: 960 samples).
var celtSilence = []byte{0xf8, 0xff, 0xfe}

// pionGreeting is what hearthctl records: n packets of 20 ms written by
// Pion's oggwriter (one packet a page, pre-skip 3840).
func pionGreeting(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := oggwriter.NewWith(&buf, GreetingSampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: celtSilence}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// oggPageOf builds one Ogg page holding packets (the last one left open
// when open is set) with a correct checksum.
func oggPageOf(flags byte, granule int64, seq uint32, open bool, packets ...[]byte) []byte {
	var lacing, body []byte
	for i, p := range packets {
		body = append(body, p...)
		n := len(p)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		if !(open && i == len(packets)-1) {
			lacing = append(lacing, byte(n))
		}
	}
	page := make([]byte, 27, 27+len(lacing)+len(body))
	copy(page, "OggS")
	page[5] = flags
	binary.LittleEndian.PutUint64(page[6:], uint64(granule))
	binary.LittleEndian.PutUint32(page[14:], 7)
	binary.LittleEndian.PutUint32(page[18:], seq)
	page[26] = byte(len(lacing))
	page = append(append(page, lacing...), body...)
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	return page
}

func opusHead(channels byte, preSkip uint16, family byte) []byte {
	h := []byte("OpusHead\x01\x00\x00\x00\x80\xbb\x00\x00\x00\x00\x00")
	h[9] = channels
	binary.LittleEndian.PutUint16(h[10:], preSkip)
	h[18] = family
	return h
}

var opusTags = []byte("OpusTags\x04\x00\x00\x00test\x00\x00\x00\x00")

// headers are the two header pages of an opusenc-like stream.
func headers(channels byte, preSkip uint16) []byte {
	return append(oggPageOf(oggBOS, 0, 0, false, opusHead(channels, preSkip, 0)), oggPageOf(0, 0, 1, false, opusTags)...)
}

func repeat(p []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = p
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseGreeting(t *testing.T) {
	big := append([]byte{0xfc}, bytes.Repeat([]byte{0x55}, 600)...) // CELT 20 ms, spans pages
	for _, tc := range []struct {
		name     string
		data     []byte
		samples  int
		packets  int
		channels int
	}{
		{"pion's writer, 5 s", pionGreeting(t, 250), 250*960 - 3840, 250, 1},
		// opusenc-like: many packets a page, end trimmed by the granule,
		// a stereo stream, EOS on the last page.
		{"packets per page, trimmed end", cat(headers(2, 312),
			oggPageOf(0, 50*960, 2, false, repeat(celtSilence, 50)...),
			oggPageOf(oggEOS, 100*960-500, 3, false, repeat(celtSilence, 50)...)), 100*960 - 500 - 312, 100, 2},
		{"a packet across pages", cat(headers(1, 0),
			oggPageOf(0, -1, 2, true, big[:255]),
			oggPageOf(oggContinued, 960, 3, false, big[255:])), 960, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGreeting(tc.data)
			if err != nil {
				t.Fatalf("ParseGreeting = %v", err)
			}
			if g.Samples != tc.samples || len(g.Packets) != tc.packets || g.Channels != tc.channels {
				t.Errorf("ParseGreeting = %d samples, %d packets, %d channels; want %d, %d, %d",
					g.Samples, len(g.Packets), g.Channels, tc.samples, tc.packets, tc.channels)
			}
			if want := time.Duration(tc.samples) * time.Second / 48000; g.Duration() != want {
				t.Errorf("Duration() = %v, want %v", g.Duration(), want)
			}
		})
	}
	if g, _ := ParseGreeting(cat(headers(1, 0), oggPageOf(0, -1, 2, true, big[:255]), oggPageOf(oggContinued, 960, 3, false, big[255:]))); len(g.Packets) == 1 && !bytes.Equal(g.Packets[0], big) {
		t.Errorf("packet across pages reassembled wrong")
	}
}

func TestParseGreetingRefuses(t *testing.T) {
	good := pionGreeting(t, 100)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	var hidden []byte // 3000 packets in pages of 200, the last granule 1 s
	for i := range 15 {
		hidden = append(hidden, oggPageOf(0, map[bool]int64{true: 48000, false: -1}[i == 14], uint32(2+i), false, repeat(celtSilence, 200)...)...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"too long (6 s)", pionGreeting(t, 300+4), ErrTooLarge},
		{"too large", append(bytes.Clone(good), make([]byte, MaxGreeting)...), ErrTooLarge},
		{"empty", nil, ErrInvalid},
		{"not ogg: a WAV header", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), ErrInvalid},
		{"not ogg: JPEG", jpegOf(t, 8, 8), ErrInvalid},
		{"bad checksum", flip(40), ErrInvalid},
		{"cut off", good[:len(good)-2], ErrInvalid},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrInvalid},
		{"Ogg Vorbis", cat(oggPageOf(oggBOS, 0, 0, false, []byte("\x01vorbis\x00\x00\x00\x00\x01\x80\xbb\x00\x00")),
			oggPageOf(0, 960, 1, false, opusTags, celtSilence)), ErrInvalid},
		{"no OpusTags", cat(oggPageOf(oggBOS, 0, 0, false, opusHead(1, 0, 0)), oggPageOf(0, 960, 1, false, celtSilence)), ErrInvalid},
		{"no audio", headers(1, 0), ErrInvalid},
		{"nothing after the pre-skip", pionGreeting(t, 4), ErrInvalid}, // 80 ms, all pre-skip
		{"surround (family 1, 6 channels)", cat(oggPageOf(oggBOS, 0, 0, false, opusHead(6, 0, 1)), oggPageOf(0, 0, 1, false, opusTags),
			oggPageOf(0, 960, 2, false, celtSilence)), ErrInvalid},
		{"missing page", cat(headers(1, 0), oggPageOf(0, 960, 3, false, celtSilence)), ErrInvalid},
		{"second stream", cat(headers(1, 0), oggPageOf(oggBOS, 960, 2, false, celtSilence)), ErrInvalid},
		{"granule goes back", cat(headers(1, 0), oggPageOf(0, 1920, 2, false, celtSilence, celtSilence),
			oggPageOf(0, 960, 3, false, celtSilence)), ErrInvalid},
		// The granule claims 1 s, the packets hold 60 s (3 bytes each):
		// the device would play them all.
		{"granule hides the length", cat(headers(1, 0), hidden), ErrInvalid},
		{"granule longer than the packets", cat(headers(1, 0), oggPageOf(0, 48000, 2, false, celtSilence)), ErrInvalid},
		{"empty audio packet", cat(headers(1, 0), oggPageOf(0, 960, 2, false, celtSilence, []byte{})), ErrInvalid},
		{"code 3 packet of no frames", cat(headers(1, 0), oggPageOf(0, 0, 2, false, []byte{0xfb, 0x00})), ErrInvalid},
		{"last packet open", cat(headers(1, 0), oggPageOf(0, -1, 2, true, bytes.Repeat([]byte{0xfc}, 255))), ErrInvalid},
		{"continued flag without a packet to continue", cat(headers(1, 0), oggPageOf(oggContinued, 960, 2, false, celtSilence)), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseGreeting(tc.data); !errors.Is(err, tc.want) {
				t.Errorf("ParseGreeting = %v, want %v", err, tc.want)
			}
		})
	}
}

func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckPicture(t *testing.T) {
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	noisy := image.NewRGBA(image.Rect(0, 0, 1000, 1000))
	for i := range noisy.Pix {
		noisy.Pix[i] = byte(i * 7919 >> 3)
	}
	var noisyBuf bytes.Buffer
	_ = jpeg.Encode(&noisyBuf, noisy, &jpeg.Options{Quality: 100})
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"256x256", jpegOf(t, 256, 256), nil},
		{"1024x600", jpegOf(t, 1024, 600), nil},
		{"too wide", jpegOf(t, 1025, 16), ErrTooLarge},
		{"too many bytes", noisyBuf.Bytes(), ErrTooLarge},
		{"PNG", pngBuf.Bytes(), ErrInvalid},
		{"JPEG header only", jpegOf(t, 16, 16)[:4], ErrInvalid},
		{"text", []byte("not a picture"), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPicture(tc.data); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("CheckPicture = %v, want %v", err, tc.want)
			}
		})
	}
}

// An allowlist with a bad picture or greeting is refused as a whole (it is
// signed as a whole); good ones pass.
func TestDecodeAllowlistPictureAndGreeting(t *testing.T) {
	list := func(c AllowedCaller) []byte {
		c.ID, c.Key, c.Mode = "nurse-eva", make([]byte, 32), []CallMode{ModeForced}
		b, _ := json.Marshal(Allowlist{V: 1, Serial: 1, Sig: []byte{1}, Callers: []AllowedCaller{c}})
		return b
	}
	pic, greet := jpegOf(t, 256, 256), pionGreeting(t, 200)
	a, err := DecodeAllowlist(list(AllowedCaller{Picture: pic, Greeting: greet}))
	if err != nil {
		t.Fatalf("DecodeAllowlist(picture and greeting) = %v", err)
	}
	if c := a.Callers[0]; !bytes.Equal(c.Picture, pic) || !bytes.Equal(c.Greeting, greet) {
		t.Errorf("picture or greeting changed on the way")
	}
	for name, c := range map[string]AllowedCaller{
		"PNG picture":         {Picture: []byte("\x89PNG\r\n\x1a\n")},
		"greeting too long":   {Greeting: pionGreeting(t, 300)},
		"greeting not Ogg":    {Greeting: []byte("ID3\x03")},
		"picture too large":   {Picture: append(jpegOf(t, 8, 8), make([]byte, MaxPicture)...)},
		"greeting too large ": {Greeting: make([]byte, MaxGreeting+1)},
	} {
		if _, err := DecodeAllowlist(list(c)); err == nil || !strings.Contains(err.Error(), "nurse-eva") {
			t.Errorf("DecodeAllowlist(%s) = %v, want a refusal naming the caller", name, err)
		}
	}
}

// FuzzParseGreeting: whatever arrives as a greeting, the parser returns an
// error or a stream that is within the limits, never panics, and the
// packets it returns are non-empty and all come from the input.
func FuzzParseGreeting(f *testing.F) {
	f.Add(pionGreeting(f, 3))
	f.Add(pionGreeting(f, 250))
	big := append([]byte{0xfc}, bytes.Repeat([]byte{0x55}, 600)...)
	f.Add(cat(headers(2, 312), oggPageOf(oggEOS, 3*960-100, 2, false, repeat(celtSilence, 3)...)))
	f.Add(cat(headers(1, 0), oggPageOf(0, -1, 2, true, big[:255]), oggPageOf(oggContinued, 960, 3, false, big[255:])))
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGreeting(data)
		if err != nil {
			return
		}
		if g.Duration() > MaxGreetingLength || g.Samples <= 0 || len(g.Packets) == 0 || g.Channels < 1 || g.Channels > 2 {
			t.Fatalf("accepted %d samples (%v), %d packets, %d channels", g.Samples, g.Duration(), len(g.Packets), g.Channels)
		}
		n := 0
		for _, p := range g.Packets {
			if len(p) == 0 {
				t.Fatal("accepted an empty packet")
			}
			n += len(p)
		}
		if n > len(data) {
			t.Fatalf("packets of %d bytes from %d bytes of input", n, len(data))
		}
	})
}
