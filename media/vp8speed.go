package media

// #cgo pkg-config: vpx
// #include <vpx/vpx_encoder.h>
// #include <vpx/vp8cx.h>
//
// static int hearth_vp8_set_cpuused(void *ctx, int v) {
//   return (int)vpx_codec_control((vpx_codec_ctx_t *)ctx, VP8E_SET_CPUUSED, v);
// }
import "C"

import (
	"fmt"
	"log/slog"
	"reflect"
	"unsafe"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// vp8Builder builds mediadevices' VP8 encoder and then sets libvpx's cpu-used,
// which mediadevices v0.9.4 does not expose (vpx.Params has no such field, and
// libvpx then picks its speed adaptively from cpu-used 0, often the slow end).
//
// The encoder's libvpx context is an unexported field ("codec") of the value
// BuildVideoEncoder returns; it is read by reflection. If a later mediadevices
// renames it, the encoder still works at libvpx's default speed and a warning
// is logged (TestVP8SpeedApplied catches it).
type vp8Builder struct {
	params vpx.VP8Params
	// cpuUsed is passed to VP8E_SET_CPUUSED. In libvpx's VP8 realtime mode a
	// negative value fixes the speed at its magnitude (higher = faster, lower
	// quality); libwebrtc uses -6 on x86 and -12 on ARM.
	cpuUsed int
	log     *slog.Logger
}

func (b *vp8Builder) RTPCodec() *codec.RTPCodec { return b.params.RTPCodec() }

func (b *vp8Builder) BuildVideoEncoder(r video.Reader, p prop.Media) (codec.ReadCloser, error) {
	rc, err := b.params.BuildVideoEncoder(r, p)
	if err != nil {
		return nil, err
	}
	if err := setVP8CPUUsed(rc, b.cpuUsed); err != nil {
		b.log.Warn("vp8 speed not set; libvpx default speed", "err", err)
	}
	return rc, nil
}

// setVP8CPUUsed finds the libvpx encoder context inside mediadevices' encoder.
func setVP8CPUUsed(rc codec.ReadCloser, cpuUsed int) error {
	v := reflect.ValueOf(rc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("set vp8 cpu-used: unexpected encoder type %T", rc)
	}
	f := v.Elem().FieldByName("codec")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return fmt.Errorf("set vp8 cpu-used: no libvpx context in %T", rc)
	}
	if rc := C.hearth_vp8_set_cpuused(f.UnsafePointer(), C.int(cpuUsed)); rc != 0 {
		return fmt.Errorf("set vp8 cpu-used %d: libvpx error %d", cpuUsed, int(rc))
	}
	return nil
}

// vp8KeyframeFlag returns a function that makes mediadevices' VP8 encoder
// encode its current frame as a keyframe, from inside its Read: it sets the
// encoder's unexported requireKeyFrame, which Read consults after it has
// read the frame from the camera. ForceKeyFrame sets the same flag but takes
// the encoder's lock, which Read holds while it waits for the camera, so a
// request made then lands on the frame after; the returned function must be
// called only from the video tap, on the goroutine inside Read that holds
// that lock. Like setVP8CPUUsed it reaches the field by reflection; if a
// later mediadevices renames it, it returns an error and Capture falls back
// to ForceKeyFrame (TestVP8KeyframeFlagFound catches it).
func vp8KeyframeFlag(enc any) (func(), error) {
	v := reflect.ValueOf(enc)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("vp8 keyframe flag: unexpected encoder type %T", enc)
	}
	f := v.Elem().FieldByName("requireKeyFrame")
	if !f.IsValid() || f.Kind() != reflect.Bool {
		return nil, fmt.Errorf("vp8 keyframe flag: no requireKeyFrame in %T", enc)
	}
	p := (*bool)(unsafe.Pointer(f.UnsafeAddr()))
	return func() { *p = true }, nil
}
