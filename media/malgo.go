package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/wave"
)

// audioBackends are the only backends tried. miniaudio's default list ends with
// its null backend, which "works" with no hardware at all and would hide a
// missing microphone or speaker.
var audioBackends = []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa}

// initAudioContext opens a miniaudio context, turning a panic into an error.
func initAudioContext(log *slog.Logger) (ctx *malgo.AllocatedContext, err error) {
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("init audio context: panic: %v", r)
		}
	}()
	ctx, err = malgo.InitContext(audioBackends, malgo.ContextConfig{}, func(msg string) {
		log.Debug("miniaudio", "msg", msg)
	})
	if err != nil {
		return nil, fmt.Errorf("init audio context: %w", err)
	}
	return ctx, nil
}

func freeAudioContext(ctx *malgo.AllocatedContext) {
	defer func() { _ = recover() }()
	_ = ctx.Uninit()
	ctx.Free()
}

// micSource is the real microphone: the default capture device through
// miniaudio (PulseAudio, else ALSA), 48 kHz mono S16, cut into 20 ms chunks.
// mediadevices' own microphone driver is not used: it panics in init() when
// audio setup fails and enumerates devices in every process that links it.
type micSource struct {
	log    *slog.Logger
	ctx    *malgo.AllocatedContext
	dev    *malgo.Device
	chunks chan []int16
	done   chan struct{}

	mu      sync.Mutex // guards pending, in the miniaudio callback
	pending []int16

	closeOnce sync.Once
}

// micQueue bounds capture latency: when the encoder falls behind, the oldest
// chunks are dropped (10 x 20 ms).
const micQueue = 10

func openMicrophone(log *slog.Logger) (m *micSource, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("open microphone: panic: %v", r)
		}
	}()
	ctx, err := initAudioContext(log)
	if err != nil {
		return nil, fmt.Errorf("open microphone: %w", err)
	}
	m = &micSource{
		log:    log,
		ctx:    ctx,
		chunks: make(chan []int16, micQueue),
		done:   make(chan struct{}),
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = 1
	cfg.SampleRate = sampleRate
	cfg.PeriodSizeInMilliseconds = 20
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: m.onData})
	if err != nil {
		freeAudioContext(ctx)
		return nil, fmt.Errorf("open microphone: init device: %w", err)
	}
	m.dev = dev
	if err := dev.Start(); err != nil {
		dev.Uninit()
		freeAudioContext(ctx)
		return nil, fmt.Errorf("open microphone: start device: %w", err)
	}
	return m, nil
}

// onData runs on miniaudio's thread: copy out, never block.
func (m *micSource) onData(_, in []byte, frames uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i+1 < len(in); i += 2 {
		m.pending = append(m.pending, int16(binary.LittleEndian.Uint16(in[i:])))
	}
	for len(m.pending) >= chunkSamples {
		c := make([]int16, chunkSamples)
		copy(c, m.pending)
		m.pending = append(m.pending[:0], m.pending[chunkSamples:]...)
		select {
		case m.chunks <- c:
		default:
			select { // full: drop the oldest chunk, keep the newest
			case <-m.chunks:
			default:
			}
			select {
			case m.chunks <- c:
			default:
			}
		}
	}
}

func (m *micSource) ID() string { return "hearth-microphone" }

func (m *micSource) Read() (wave.Audio, func(), error) {
	select {
	case <-m.done:
		return nil, func() {}, io.EOF
	case c := <-m.chunks:
		a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunkSamples, Channels: 1, SamplingRate: sampleRate})
		copy(a.Data, c)
		return a, func() {}, nil
	}
}

func (m *micSource) Close() error {
	m.closeOnce.Do(func() {
		close(m.done)
		func() {
			defer func() {
				if r := recover(); r != nil {
					m.log.Error("close microphone: panic", "panic", r)
				}
			}()
			m.dev.Uninit() // stops the device; no callbacks after this
			freeAudioContext(m.ctx)
		}()
	})
	return nil
}
