package media

import (
	"testing"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/prop"
)

// BenchmarkVP8Decode640x480 times libvpx decoding of camera-like frames.
func BenchmarkVP8Decode640x480(b *testing.B) {
	enc := newTestVP8Encoder(b, DefaultVP8Speed)
	frames := make([][]byte, 30)
	for i := range frames {
		frames[i] = enc()
	}
	in := &frameInput{}
	dec, err := vpx.NewDecoder(in, prop.Media{})
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	i := 0
	for b.Loop() {
		if i == len(frames) {
			i = 0 // frames[0] is a keyframe
		}
		in.frame = frames[i]
		if _, _, err := dec.Read(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOpusDecode times pion/opus on one 20 ms packet from libopus.
func BenchmarkOpusDecode(b *testing.B) {
	c := openTestCapture(b, CaptureOptions{})
	var pkts [][]byte
	for range 20 {
		s, err := c.ReadAudio()
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, s.Data)
	}
	sp, _ := NewSpeaker(KindTest, nil)
	i := 0
	for b.Loop() {
		if err := sp.Push("b", pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
