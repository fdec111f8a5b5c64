// Package media captures, encodes, decodes and plays the audio and video of
// Hearth's calls. It is the only package with cgo for media: libvpx (VP8, via
// pion/mediadevices), a bundled libopus (Opus encoding, via mediadevices) and
// miniaudio (via gen2brain/malgo). Opus decoding is pure Go (pion/opus).
//
// # Capture: encoded samples, not mediadevices' Pion binding
//
// OpenCapture opens the camera and microphone for one call and hands out
// encoded VP8 frames and Opus packets (ReadVideo, ReadAudio) for the caller
// to write into Pion's TrackLocalStaticSample. mediadevices' tracks can bind
// themselves to a PeerConnection, but their unbind waits for a writer
// goroutine that has already exited when a call never connected, and then
// PeerConnection.Close blocks forever. Using mediadevices only to capture and
// encode (track.NewEncodedReader) keeps Pion's lifecycle ours.
//
// Capture.Close closes the sources first, so blocked encoder reads return,
// then the encoders; it is bounded in time even if a camera misbehaves.
//
// VP8 runs in libvpx's realtime mode at a fixed speed (cpu-used -8 by
// default), set by reaching into mediadevices' encoder (see vp8Builder):
// mediadevices v0.9.4 has no option for it.
//
// # Devices
//
// KindReal uses mediadevices' V4L2 camera driver and Hearth's own microphone
// source on malgo: mediadevices' microphone driver panics in init() when audio
// setup fails and enumerates devices in every process that links it, so it is
// never imported. miniaudio's null backend is excluded, so no hardware means
// ErrNoCamera, ErrNoMicrophone or ErrNoSpeaker, never a silent fake. A device
// with only a camera or only a microphone still calls with what it has.
//
// KindTest generates colour bars and a tone with Hearth's own sources rather
// than mediadevices' videotest and audiotest drivers, which are process-wide
// singletons (two Captures in one test process could not both open them) and
// can block forever in Read after Close.
//
// # Keyframes
//
// libvpx cannot decode inter frames before a keyframe. VideoDecoder has its
// own sample builder in front of libvpx (vp8Assembler): it reassembles each
// frame from its RTP packets and releases it the moment the packet with the
// marker bit completes it, where Pion's samplebuilder would hold it until a
// packet of the next frame arrived (a whole frame time). Late and duplicate
// packets are dropped, a frame with a lost packet is skipped, and memory is
// bounded by a window of 512 packets. The decoder skips everything until a
// keyframe (VP8: first byte's bit 0 clear) and calls OnNeedKeyframe (send an
// RTCP PLI) when it has to skip, after loss or a decode error, and again every
// KeyframeRetry while nothing decodes. Keyframe sizes are checked before
// libvpx sees them, so a remote cannot make it allocate huge frames.
//
// On the sending side, a PLI from the remote maps to Capture.RequestKeyframe,
// which the video tap applies to the frame the camera delivers next, even if
// the encoder is already waiting for it (mediadevices' ForceKeyFrame would
// wait for that frame to be encoded and land on the one after); inter frames
// encoded before the keyframe are not returned by ReadVideo.
package media
