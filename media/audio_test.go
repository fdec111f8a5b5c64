package media

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// Opus from the Capture's encoder (libopus) decodes in the Speaker (pion/opus).
func TestCaptureOpusIntoSpeaker(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{})
	sp, err := NewSpeaker(KindTest, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	const n = 10
	for range n {
		s, err := c.ReadAudio()
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Push("caller", s.Data); err != nil {
			t.Fatalf("Push = %v", err)
		}
	}
	st := sp.Stats()
	if st.PacketsReceived != n || st.PacketsDecoded != n || st.DecodeErrors != 0 {
		t.Errorf("Stats() = %+v, want %d received and decoded", st, n)
	}
	if got := st.Streams["caller"].PacketsDecoded; got != n {
		t.Errorf("Streams[caller].PacketsDecoded = %d, want %d", got, n)
	}
}

// The decoded test tone has the level it was sent with: the codec pair works,
// not just "no error".
func TestOpusDecodedLevel(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{})
	sp, err := NewSpeaker(KindTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sp.stream("x")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var count int
	for i := range 25 {
		s, err := c.ReadAudio()
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.dec.DecodeToInt16(s.Data, st.decodeBuf)
		if err != nil {
			t.Fatal(err)
		}
		if n != chunkSamples {
			t.Fatalf("decoded %d samples, want %d", n, chunkSamples)
		}
		if i >= 5 { // past the encoder's start-up
			for _, v := range st.decodeBuf[:n] {
				sum += float64(v) * float64(v)
				count++
			}
		}
	}
	rms := math.Sqrt(sum/float64(count)) / math.MaxInt16
	want := testToneVolume / math.Sqrt2
	if rms < want*0.7 || rms > want*1.3 {
		t.Errorf("decoded RMS = %.3f, want about %.3f", rms, want)
	}
}

func TestSpeakerStreamsLimit(t *testing.T) {
	sp, _ := NewSpeaker(KindTest, nil)
	defer sp.Close()
	silence := []byte{0xf8, 0xff, 0xfe} // a valid CELT silence frame (TOC 0xf8)
	for i := range MaxSpeakerStreams {
		if err := sp.Push(fmt.Sprint("s", i), silence); err != nil {
			t.Fatalf("Push stream %d = %v", i, err)
		}
	}
	if err := sp.Push("one too many", silence); !errors.Is(err, ErrTooManyStreams) {
		t.Errorf("Push 4th stream = %v, want ErrTooManyStreams", err)
	}
	sp.RemoveStream("s0")
	if err := sp.Push("one too many", silence); err != nil {
		t.Errorf("Push after RemoveStream = %v", err)
	}
	if err := sp.Push("s1", []byte{}); err == nil {
		t.Errorf("Push(empty) = nil, want a decode error")
	}
	if sp.Stats().DecodeErrors != 1 {
		t.Errorf("DecodeErrors = %d, want 1", sp.Stats().DecodeErrors)
	}
}

func TestSpeakerMix(t *testing.T) {
	sp := &Speaker{kind: KindReal, streams: map[string]*speakerStream{}, gain: 100}
	a := &speakerStream{playing: true, pcm: []int16{1000, 30000, -30000}}
	b := &speakerStream{playing: true, pcm: []int16{2000, 30000, -30000}}
	sp.streams["a"], sp.streams["b"] = a, b
	out := make([]byte, 6)
	sp.onPlayback(out, nil, 3)
	got := []int16{int16(uint16(out[0]) | uint16(out[1])<<8), int16(uint16(out[2]) | uint16(out[3])<<8), int16(uint16(out[4]) | uint16(out[5])<<8)}
	if want := []int16{3000, math.MaxInt16, math.MinInt16}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mixed = %v, want %v (sum, clipped)", got, want)
	}
	// At 50 % (an admin's volume) the same mix is halved before clipping.
	half := &Speaker{kind: KindReal, streams: map[string]*speakerStream{
		"a": {playing: true, pcm: []int16{1000, 30000}}, "b": {playing: true, pcm: []int16{2000, 30000}}}, gain: 100}
	half.SetVolume(50)
	out2 := make([]byte, 4)
	half.onPlayback(out2, nil, 2)
	if g := []int16{int16(uint16(out2[0]) | uint16(out2[1])<<8), int16(uint16(out2[2]) | uint16(out2[3])<<8)}; fmt.Sprint(g) != "[1500 30000]" {
		t.Errorf("mixed at 50%% = %v, want [1500 30000]", g)
	}
	if len(a.pcm) != 0 || len(b.pcm) != 0 {
		t.Errorf("queues not consumed: %d, %d", len(a.pcm), len(b.pcm))
	}
}

func TestChime(t *testing.T) {
	sp, _ := NewSpeaker(KindTest, nil)
	if err := sp.PlayChime(); err != nil {
		t.Fatal(err)
	}
	if got := sp.Stats().ChimesPlayed; got != 1 {
		t.Errorf("ChimesPlayed = %d, want 1", got)
	}
	pcm := chime()
	if d := float64(len(pcm)) / sampleRate; d < 0.3 || d > 1 {
		t.Errorf("chime lasts %.2fs, want 0.3-1s", d)
	}
	var peak int16
	for _, v := range pcm {
		peak = max(peak, v, -v)
	}
	if peak < math.MaxInt16/8 || peak > math.MaxInt16/2 {
		t.Errorf("chime peak = %d, want soft but audible", peak)
	}
	if pcm[0] != 0 || math.Abs(float64(pcm[len(pcm)-1])) > 100 {
		t.Errorf("chime starts at %d, ends at %d; want no clicks", pcm[0], pcm[len(pcm)-1])
	}
	_ = sp.Close()
	if err := sp.PlayChime(); !errors.Is(err, ErrClosed) {
		t.Errorf("PlayChime after Close = %v, want ErrClosed", err)
	}
}

func TestSpeakerRealWithoutHardware(t *testing.T) {
	if Probe(KindReal).Speaker {
		t.Skip("this machine has a speaker")
	}
	sp, err := NewSpeaker(KindReal, testLogger(t))
	if err == nil {
		_ = sp.Close()
		t.Fatal("NewSpeaker(real) = nil error, want ErrNoSpeaker")
	}
	if !errors.Is(err, ErrNoSpeaker) {
		t.Errorf("NewSpeaker(real) = %v, want ErrNoSpeaker", err)
	}
}

// FuzzSpeakerPush: whatever a caller sends as Opus, the speaker decodes it
// or counts a decode error; it never panics, and a stream goes on after a
// bad packet.
func FuzzSpeakerPush(f *testing.F) {
	c := openTestCapture(f, CaptureOptions{Width: 160, Height: 120, FPS: 15})
	for range 3 {
		s, err := c.ReadAudio()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.Data) // real packets of the test tone
	}
	c.Close()
	for _, seed := range [][]byte{{0xf8, 0xff, 0xfe}, {}, {0xfc}, {0x03, 0x81}, {0xff, 0xff, 0xff, 0xff}, {0x4b, 0x41}} {
		f.Add(seed)
	}
	silence := []byte{0xf8, 0xff, 0xfe}
	f.Fuzz(func(t *testing.T, payload []byte) {
		sp, err := NewSpeaker(KindTest, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		_ = sp.Push("caller", payload)
		if err := sp.Push("caller", silence); err != nil {
			t.Fatalf("a good packet after %x: %v", payload, err)
		}
		st := sp.Stats()
		if st.PacketsReceived != 2 || st.PacketsDecoded+st.DecodeErrors != 2 {
			t.Fatalf("stats %+v after two packets", st)
		}
	})
}
