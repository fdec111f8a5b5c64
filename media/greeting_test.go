package media

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"os"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// recordTestGreeting records length of the test tone as hearthctl does.
func recordTestGreeting(t testing.TB, length time.Duration) []byte {
	t.Helper()
	ogg, err := RecordGreeting(CaptureOptions{Kind: KindTest, Logger: testLogger(t)}, length)
	if err != nil {
		t.Fatalf("RecordGreeting(test, %v) = %v", length, err)
	}
	return ogg
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum/float64(max(len(pcm), 1))) / math.MaxInt16
}

// A greeting recorded through the call's Opus encoder and Pion's oggwriter
// passes the allowlist's checks, lasts what was asked, and decodes to the
// tone it was recorded from.
func TestRecordedGreetingDecodes(t *testing.T) {
	ogg := recordTestGreeting(t, time.Second)
	g, err := proto.ParseGreeting(ogg)
	if err != nil {
		t.Fatalf("ParseGreeting(recorded) = %v", err)
	}
	if g.Duration() != time.Second || g.Channels != 1 {
		t.Errorf("recorded greeting: %v, %d channels; want 1s mono", g.Duration(), g.Channels)
	}
	t.Logf("1 s greeting: %d bytes, %d packets", len(ogg), len(g.Packets))
	pcm, err := DecodeGreeting(ogg)
	if err != nil {
		t.Fatalf("DecodeGreeting = %v", err)
	}
	if len(pcm) != sampleRate {
		t.Errorf("DecodeGreeting = %d samples, want %d (1 s at 48 kHz)", len(pcm), sampleRate)
	}
	want := testToneVolume / math.Sqrt2
	if got := rms(pcm[sampleRate/4:]); got < want*0.7 || got > want*1.3 {
		t.Errorf("decoded RMS = %.3f, want about %.3f", got, want)
	}
	if _, err := RecordGreeting(CaptureOptions{Kind: KindTest}, 6*time.Second); err == nil {
		t.Errorf("RecordGreeting(6s) = nil error, want a refusal (limit %v)", proto.MaxGreetingLength)
	}
	if _, err := DecodeGreeting(ogg[:len(ogg)-1]); !errors.Is(err, proto.ErrInvalid) {
		t.Errorf("DecodeGreeting(cut off) = %v, want proto.ErrInvalid", err)
	}
}

// The greeting plays after the chime and a short gap, whole, and is
// counted once its last sample went to the device; a new chime cuts it.
func TestGreetingAfterChime(t *testing.T) {
	ogg := recordTestGreeting(t, time.Second)
	sp := &Speaker{log: slog.New(slog.DiscardHandler), kind: KindReal, streams: map[string]*speakerStream{}, gain: 100}
	if err := sp.PlayChime(); err != nil {
		t.Fatal(err)
	}
	if err := sp.PlayGreeting(ogg); err != nil {
		t.Fatalf("PlayGreeting = %v", err)
	}
	chimeLen, gap := len(chime()), int(greetingGap.Seconds()*sampleRate)
	total := chimeLen + gap + sampleRate
	var played []int16
	out := make([]byte, 2*chunkSamples)
	for len(played) < total {
		if sp.Stats().GreetingsPlayed != 0 {
			t.Fatalf("GreetingsPlayed = 1 after %d of %d samples", len(played), total)
		}
		sp.onPlayback(out, nil, chunkSamples)
		for i := range chunkSamples {
			played = append(played, int16(binary.LittleEndian.Uint16(out[2*i:])))
		}
	}
	if got := sp.Stats().GreetingsPlayed; got != 1 {
		t.Fatalf("GreetingsPlayed = %d after the whole greeting, want 1", got)
	}
	if r := rms(played[chimeLen : chimeLen+gap]); r != 0 {
		t.Errorf("gap between chime and greeting has RMS %.3f, want silence", r)
	}
	want := testToneVolume / math.Sqrt2
	if r := rms(played[chimeLen+gap+sampleRate/4 : total]); r < want*0.7 || r > want*1.3 {
		t.Errorf("greeting played at RMS %.3f, want about %.3f", r, want)
	}
	// A chime while a greeting plays cuts the greeting off.
	_ = sp.PlayChime()
	_ = sp.PlayGreeting(ogg)
	sp.onPlayback(out, nil, chunkSamples)
	_ = sp.PlayChime()
	for range (total + chunkSamples) / chunkSamples {
		sp.onPlayback(out, nil, chunkSamples)
	}
	if got := sp.Stats().GreetingsPlayed; got != 1 {
		t.Errorf("GreetingsPlayed = %d after a greeting cut off by a chime, want 1", got)
	}
}

func TestPlayGreetingKindTest(t *testing.T) {
	sp, err := NewSpeaker(KindTest, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.PlayGreeting(recordTestGreeting(t, 200*time.Millisecond)); err != nil {
		t.Fatalf("PlayGreeting = %v", err)
	}
	if got := sp.Stats().GreetingsPlayed; got != 1 {
		t.Errorf("GreetingsPlayed = %d, want 1", got)
	}
	// The call ended while its greeting was being decoded: it is not played.
	if err := sp.PlayChime(); err != nil {
		t.Fatal(err)
	}
	sp.StopChime()
	if err := sp.PlayGreeting(recordTestGreeting(t, 200*time.Millisecond)); err != nil {
		t.Fatalf("PlayGreeting after StopChime = %v", err)
	}
	if got := sp.Stats().GreetingsPlayed; got != 1 {
		t.Errorf("GreetingsPlayed after StopChime = %d, want still 1", got)
	}
	if err := sp.PlayGreeting([]byte("RIFF....WAVE")); !errors.Is(err, proto.ErrInvalid) {
		t.Errorf("PlayGreeting(WAV) = %v, want proto.ErrInvalid", err)
	}
	_ = sp.Close()
	if err := sp.PlayGreeting(recordTestGreeting(t, 100*time.Millisecond)); !errors.Is(err, ErrClosed) {
		t.Errorf("PlayGreeting after Close = %v, want ErrClosed", err)
	}
}

// TestGreetingWithFakeALSA plays a chime and a greeting through the real
// speaker code and ALSA (a file device), to the end.
func TestGreetingWithFakeALSA(t *testing.T) {
	if os.Getenv("HEARTH_FAKE_ALSA_CHILD") != "1" {
		runFakeALSAChild(t, "TestGreetingWithFakeALSA", make([]byte, 2*sampleRate))
		return
	}
	ogg := recordTestGreeting(t, time.Second)
	sp, err := NewSpeaker(KindReal, testLogger(t))
	if err != nil {
		t.Fatalf("NewSpeaker(real) = %v", err)
	}
	if err := sp.PlayChime(); err != nil {
		t.Fatal(err)
	}
	if err := sp.PlayGreeting(ogg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a bound, not a speed check
	for sp.Stats().GreetingsPlayed == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := sp.Stats().GreetingsPlayed; got != 1 {
		t.Fatalf("GreetingsPlayed = %d, want 1: the greeting did not play to its end", got)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(os.Getenv("HEARTH_FAKE_ALSA_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(raw)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	// Silence until the chime was queued, the chime, silence (the file
	// device has no clock: the gap and the decoding's time are long), the
	// greeting.
	skip := func(i int) int {
		for i < len(pcm) && pcm[i] == 0 {
			i++
		}
		return i
	}
	start := skip(skip(0) + len(chime()))
	if len(pcm) < start+sampleRate {
		t.Fatalf("played %d samples, the greeting from %d; want 1 s of it", len(pcm), start)
	}
	want := testToneVolume / math.Sqrt2
	if r := rms(pcm[start+sampleRate/4 : start+sampleRate]); r < want*0.7 || r > want*1.3 {
		t.Errorf("greeting in the played audio at RMS %.3f, want about %.3f", r, want)
	}
}
