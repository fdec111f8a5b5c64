package media

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func openTestCapture(t testing.TB, o CaptureOptions) *Capture {
	t.Helper()
	o.Kind = KindTest
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	c, err := OpenCapture(o)
	if err != nil {
		t.Fatalf("OpenCapture(test) = %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		k     Kind
		valid bool
	}{{KindTest, true}, {KindReal, true}, {"", false}, {"fake", false}} {
		t.Run(tc.k.String(), func(t *testing.T) {
			if got := tc.k.Valid(); got != tc.valid {
				t.Errorf("Kind(%q).Valid() = %v, want %v", tc.k, got, tc.valid)
			}
		})
	}
	if _, err := OpenCapture(CaptureOptions{Kind: "fake"}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("OpenCapture(fake) = %v, want ErrUnknownKind", err)
	}
}

func TestCaptureTestKind(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{FPS: 30})
	if !c.HasVideo() || !c.HasAudio() || len(c.Missing()) != 0 {
		t.Fatalf("HasVideo, HasAudio, Missing = %v, %v, %v; want true, true, none", c.HasVideo(), c.HasAudio(), c.Missing())
	}
	const frames = 20
	for i := range frames {
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatalf("ReadVideo #%d: %v", i, err)
		}
		if len(s.Data) == 0 {
			t.Fatalf("ReadVideo #%d: empty", i)
		}
		if i == 0 && !s.Keyframe {
			t.Errorf("first frame: Keyframe = false, want true")
		}
		if i > 0 && s.Duration <= 0 {
			t.Errorf("frame %d: Duration = %v, want > 0", i, s.Duration)
		}
	}
	// Audio is paced in real time: 20 ms per packet. Skip what queued up while
	// reading video, then time a run.
	for len(c.audio) > 0 {
		<-c.audio
	}
	if _, err := c.ReadAudio(); err != nil {
		t.Fatalf("ReadAudio: %v", err)
	}
	const packets = 25
	start := time.Now()
	for i := range packets {
		s, err := c.ReadAudio()
		if err != nil {
			t.Fatalf("ReadAudio #%d: %v", i, err)
		}
		if len(s.Data) == 0 || s.Duration != 20*time.Millisecond {
			t.Fatalf("ReadAudio #%d = %d bytes, %v; want data, 20ms", i, len(s.Data), s.Duration)
		}
	}
	// Paced like a microphone, not as fast as the encoder can go (a slow
	// machine only makes this longer).
	per := time.Since(start) / packets
	if per < 15*time.Millisecond {
		t.Errorf("audio packet interval = %v, want ~20ms: the tone is not paced", per)
	}
	st := c.Stats()
	t.Logf("stats %+v; encode per frame %v", st, st.VideoEncodeTime/time.Duration(max(st.VideoFrames, 1)))

	start = time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v: hung", d)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := c.ReadVideo(); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadVideo after Close = %v, want ErrClosed", err)
	}
	if _, err := c.ReadAudio(); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAudio after Close = %v, want ErrClosed", err)
	}
	for range c.SelfFrames() { // must be closed
	}
}

func TestCaptureKeyframeAndDisable(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{FPS: 30, SelfViewInterval: time.Millisecond})
	for range 3 {
		if _, err := c.ReadVideo(); err != nil {
			t.Fatal(err)
		}
	}
	c.RequestKeyframe()
	if s, err := c.ReadVideo(); err != nil || !s.Keyframe {
		t.Errorf("ReadVideo after RequestKeyframe = keyframe %v, %v; want a keyframe", s.Keyframe, err)
	}

	c.SetVideoEnabled(false)
	if c.VideoEnabled() {
		t.Errorf("VideoEnabled() = true after SetVideoEnabled(false)")
	}
	// Wait for a black self-view frame: what is sent is what is shown.
	deadline := time.After(2 * time.Second)
	for black := false; !black; {
		select {
		case img := <-c.SelfFrames():
			r, g, b, _ := img.At(img.Bounds().Dx()/2, img.Bounds().Dy()/2).RGBA()
			black = r < 0x2000 && g < 0x2000 && b < 0x2000 // Y=16 is RGB 16 in Go's full-range conversion
		case <-deadline:
			t.Fatal("no black self frame after SetVideoEnabled(false)")
		}
		if _, err := c.ReadVideo(); err != nil {
			t.Fatal(err)
		}
	}
	var small int
	for range 5 {
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatal(err)
		}
		if !s.Keyframe && len(s.Data) < 200 {
			small++
		}
	}
	if small == 0 {
		t.Errorf("no small (black) inter frames while video disabled")
	}
	c.SetVideoEnabled(true)
}

// After RequestKeyframe, the very next sample ReadVideo returns is a
// keyframe, whenever the request comes: while the pump waits for the camera,
// while it encodes, or while samples are queued for a slow reader.
func TestRequestKeyframeNextSample(t *testing.T) {
	c := openTestCapture(t, CaptureOptions{Width: 160, Height: 120, FPS: 30, KeyframeInterval: time.Hour})
	if _, err := c.ReadVideo(); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 12 {
		for range 2 {
			if _, err := c.ReadVideo(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(rnd.IntN(100)) * time.Millisecond)
		c.RequestKeyframe()
		s, err := c.ReadVideo()
		if err != nil {
			t.Fatal(err)
		}
		if !s.Keyframe {
			t.Errorf("request %d: next sample is not a keyframe", i)
		}
	}
	st := c.Stats()
	t.Logf("stats %+v", st)
	if st.KeyframeForced < 12 {
		t.Errorf("KeyframeForced = %d, want >= 12", st.KeyframeForced)
	}
}

func TestTwoTestCapturesAtOnce(t *testing.T) {
	a := openTestCapture(t, CaptureOptions{})
	b := openTestCapture(t, CaptureOptions{})
	for _, c := range []*Capture{a, b} {
		if _, err := c.ReadVideo(); err != nil {
			t.Fatalf("ReadVideo: %v", err)
		}
		if _, err := c.ReadAudio(); err != nil {
			t.Fatalf("ReadAudio: %v", err)
		}
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits for goroutines of closed captures to exit.
func settle(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func TestCaptureOpenCloseNoLeak(t *testing.T) {
	// Warm up: first use starts runtime and library goroutines that stay.
	c := openTestCapture(t, CaptureOptions{})
	_, _ = c.ReadVideo()
	_ = c.Close()
	g0, fd0 := settle(0), countFDs(t)

	log := slog.New(slog.DiscardHandler)
	for i := range 20 {
		c, err := OpenCapture(CaptureOptions{Kind: KindTest, Logger: log})
		if err != nil {
			t.Fatalf("OpenCapture #%d: %v", i, err)
		}
		if _, err := c.ReadVideo(); err != nil {
			t.Fatalf("ReadVideo #%d: %v", i, err)
		}
		if _, err := c.ReadAudio(); err != nil {
			t.Fatalf("ReadAudio #%d: %v", i, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i, err)
		}
	}
	if g := settle(g0); g > g0 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines after 20 open/close = %d, want <= %d\n%s", g, g0, buf[:runtime.Stack(buf, true)])
	}
	if fd := countFDs(t); fd > fd0 {
		t.Errorf("open fds after 20 open/close = %d, want <= %d", fd, fd0)
	}
}

// This machine has no /dev/video* and no sound card: the real kind must say so
// and not panic.
func TestCaptureRealWithoutHardware(t *testing.T) {
	if len(cameraDrivers()) > 0 || Probe(KindReal).Microphone {
		t.Skip("this machine has a camera or microphone")
	}
	c, err := OpenCapture(CaptureOptions{Kind: KindReal, Logger: testLogger(t)})
	if err == nil {
		_ = c.Close()
		t.Fatal("OpenCapture(real) = nil error, want ErrNoCamera and ErrNoMicrophone")
	}
	if !errors.Is(err, ErrNoCamera) || !errors.Is(err, ErrNoMicrophone) {
		t.Errorf("OpenCapture(real) = %v, want ErrNoCamera and ErrNoMicrophone", err)
	}
	t.Logf("OpenCapture(real) = %v", err)
}

func TestProbe(t *testing.T) {
	if got, want := Probe(KindTest), (Devices{true, true, true}); got != want {
		t.Errorf("Probe(test) = %+v, want %+v", got, want)
	}
	got := Probe(KindReal)
	t.Logf("Probe(real) = %+v", got)
	if _, err := os.Stat("/dev/snd"); err != nil && (got.Microphone || got.Speaker) {
		t.Errorf("Probe(real) = %+v without /dev/snd, want no microphone or speaker", got)
	}
	if nodes, _ := filepath.Glob("/dev/video*"); got.Camera != (len(nodes) > 0) {
		t.Errorf("Probe(real).Camera = %v with V4L2 nodes %v", got.Camera, nodes)
	}
}
