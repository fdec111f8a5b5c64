package call

import (
	"image"
	"time"

	"github.com/pion/rtp"
)

// Sample is one encoded frame (VP8) or packet (Opus) from the capture.
type Sample struct {
	Data     []byte
	Duration time.Duration
}

// Capture is the device's camera and microphone for one call, encoding
// VP8 and Opus. It is opened when a call is answered (during a forced
// call's announcement) and closed when the call ends.
type Capture interface {
	HasVideo() bool
	HasAudio() bool
	// ReadVideo and ReadAudio block for the next sample; they fail once the
	// capture is closed.
	ReadVideo() (Sample, error)
	ReadAudio() (Sample, error)
	// RequestKeyframe makes the next video frame a keyframe.
	RequestKeyframe()
	// SelfFrames delivers the resident's own picture for the small view.
	SelfFrames() <-chan image.Image
	Close() error
}

// VideoDecoder turns a participant's VP8 RTP into pictures.
type VideoDecoder interface {
	Push(p *rtp.Packet)
	FramesDecoded() int
	Close()
}

// Speaker plays the participants' Opus and the chime.
type Speaker interface {
	Push(stream string, opus []byte)
	// RemoveStream forgets a participant who left.
	RemoveStream(stream string)
	// PlayChime plays the announcement's chime and then, when not nil, the
	// caller's recorded greeting (an Ogg Opus file from the allowlist).
	PlayChime(greeting []byte)
	// StopChime cuts off a chime and greeting still playing (the call
	// ended during its announcement or ring).
	StopChime()
}

// Media opens what a call needs. The composition root adapts media/ to it;
// tests may use the same with mediadevices' test drivers.
type Media interface {
	OpenCapture() (Capture, error)
	// NewVideoDecoder calls onFrame with each decoded picture and
	// needKeyframe when it lost the picture and wants a keyframe (PLI).
	NewVideoDecoder(onFrame func(image.Image), needKeyframe func()) VideoDecoder
	Speaker() Speaker
}
