package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// fakeALSAConf makes ALSA's default device files instead of a sound card:
// capture reads raw S16 from in, playback writes raw S16 to out. The file
// plugin has no clock, so capture runs as fast as it is read.
const fakeALSAConf = `
pcm.!default {
	type asym
	playback.pcm { type plug; slave.pcm { type file; slave.pcm "null"; file "%s"; format "raw" } }
	capture.pcm { type plug; slave.pcm { type file; slave.pcm "null"; file "/dev/null"; infile "%s"; format "raw" } }
	hint { show on }
}
`

// TestRealAudioWithFakeALSA drives the real microphone and speaker code
// through ALSA. It runs in a child process because ALSA's configuration is
// process-global.
func TestRealAudioWithFakeALSA(t *testing.T) {
	if os.Getenv("HEARTH_FAKE_ALSA_CHILD") == "1" {
		realAudioChild(t)
		return
	}
	pcm := make([]byte, 2*sampleRate*10) // 10 s of 440 Hz
	for i := range sampleRate * 10 {
		v := int16(0.3 * math.MaxInt16 * math.Sin(2*math.Pi*440*float64(i)/sampleRate))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	runFakeALSAChild(t, "TestRealAudioWithFakeALSA", pcm)
}

// runFakeALSAChild runs test again in a child process whose ALSA default
// device captures pcm (raw S16 mono) and plays into the file named by
// $HEARTH_FAKE_ALSA_OUT; the child sees HEARTH_FAKE_ALSA_CHILD=1.
func runFakeALSAChild(t *testing.T, test string, pcm []byte) {
	t.Helper()
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("no ALSA configuration")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
	if err := os.WriteFile(in, pcm, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "asound.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, fakeALSAConf, out, in), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "HEARTH_FAKE_ALSA_CHILD=1", "HEARTH_FAKE_ALSA_OUT="+out,
		"ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:"+conf,
		"PULSE_SERVER=unix:"+filepath.Join(dir, "no-pulse")) // never a real PulseAudio
	outb, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", outb)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
}

func realAudioChild(t *testing.T) {
	log := testLogger(t)
	d := Probe(KindReal)
	t.Logf("Probe(real) = %+v", d)
	c, err := OpenCapture(CaptureOptions{Kind: KindReal, Logger: log})
	if err != nil {
		t.Fatalf("OpenCapture(real) = %v, want audio only", err)
	}
	defer c.Close()
	if c.HasVideo() || !c.HasAudio() {
		t.Fatalf("HasVideo, HasAudio = %v, %v; want false, true", c.HasVideo(), c.HasAudio())
	}
	if m := c.Missing(); len(m) != 1 || !errors.Is(m[0], ErrNoCamera) {
		t.Errorf("Missing() = %v, want [ErrNoCamera]", m)
	}
	if _, err := c.ReadVideo(); !errors.Is(err, ErrNoCamera) {
		t.Errorf("ReadVideo without camera = %v, want ErrNoCamera", err)
	}
	sp, err := NewSpeaker(KindReal, log)
	if err != nil {
		t.Fatalf("NewSpeaker(real) = %v", err)
	}
	for i := range 50 {
		s, err := c.ReadAudio()
		if err != nil {
			t.Fatalf("ReadAudio #%d: %v", i, err)
		}
		if err := sp.Push("remote", s.Data); err != nil {
			t.Fatalf("Push #%d: %v", i, err)
		}
	}
	if err := sp.PlayChime(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	st := sp.Stats()
	t.Logf("speaker stats %+v", st)
	if st.PacketsDecoded != 50 {
		t.Errorf("PacketsDecoded = %d, want 50", st.PacketsDecoded)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Capture.Close = %v", err)
	}
	if err := sp.Close(); err != nil {
		t.Errorf("Speaker.Close = %v", err)
	}
	t.Logf("closed in %v", time.Since(start))
	raw, err := os.ReadFile(os.Getenv("HEARTH_FAKE_ALSA_OUT"))
	if err != nil {
		t.Fatalf("played audio: %v", err)
	}
	var peak int16
	for i := 0; i+1 < len(raw); i += 2 {
		v := int16(binary.LittleEndian.Uint16(raw[i:]))
		peak = max(peak, v, -v)
	}
	t.Logf("played %d bytes, peak %d", len(raw), peak)
	if peak < 1000 {
		t.Errorf("played audio peak = %d, want sound", peak)
	}
}
