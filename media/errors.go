package media

import "errors"

var (
	// ErrNoCamera means the device has no usable camera: no V4L2 capture node, or
	// it could not be opened. A call can still go ahead with audio only.
	ErrNoCamera = errors.New("no camera")

	// ErrNoMicrophone means no usable microphone: no audio backend, no capture
	// device, or the device failed to start. A call can still go ahead with video only.
	ErrNoMicrophone = errors.New("no microphone")

	// ErrNoSpeaker means no usable playback device; calls can still show video.
	ErrNoSpeaker = errors.New("no speaker")

	// ErrClosed is returned by reads and writes after Close.
	ErrClosed = errors.New("media: closed")

	// ErrTooManyStreams is returned by Speaker.Push for a fourth concurrent
	// remote audio stream; Hearth mixes at most MaxSpeakerStreams.
	ErrTooManyStreams = errors.New("too many audio streams")

	// ErrUnknownKind is returned for a Kind other than KindTest or KindReal.
	ErrUnknownKind = errors.New("unknown media kind")
)
