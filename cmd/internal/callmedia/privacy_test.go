package callmedia

import (
	"errors"
	"slices"
	gosync "sync"
	"testing"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/media"
)

// events is the order of things across the light and the devices.
type events struct {
	mu  gosync.Mutex
	got []string
}

func (e *events) add(s string) { e.mu.Lock(); e.got = append(e.got, s); e.mu.Unlock() }

func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	got := e.got
	e.got = nil
	return got
}

// light records each change of the privacy light.
type light struct {
	e    *events
	last device.Privacy
}

func (l *light) SetPrivacy(p device.Privacy) {
	if p == l.last {
		return
	}
	l.last = p
	switch {
	case p.Camera && p.Microphone:
		l.e.add("light: camera and microphone")
	case p.Camera:
		l.e.add("light: camera")
	case p.Microphone:
		l.e.add("light: microphone")
	default:
		l.e.add("light: off")
	}
}

// watched is a capture whose close is recorded as it returns.
type watched struct {
	source
	e *events
}

func (w watched) Close() error {
	err := w.source.Close()
	w.e.add("devices closed")
	return err
}

// watchedMedia is test media whose opens and closes are recorded beside
// the light's changes.
func watchedMedia(t *testing.T) (*Media, *events) {
	e := &events{}
	m := New(media.KindTest, nil)
	t.Cleanup(m.Close)
	m.Light = &light{e: e}
	m.open = func(o media.CaptureOptions) (source, error) {
		e.add("devices opening")
		s, err := openMedia(o)
		if err != nil {
			return nil, err
		}
		return watched{s, e}, nil
	}
	return m, e
}

func expect(t *testing.T, e *events, what string, want ...string) {
	t.Helper()
	if got := e.take(); !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}

// The light comes on before the devices open (opening reads the first
// frame) and goes out only once they have closed, and right then.
func TestPrivacyLightSpansTheCapture(t *testing.T) {
	m, e := watchedMedia(t)
	c, err := m.OpenCapture()
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e, "open", "light: camera and microphone", "devices opening")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	expect(t, e, "close", "devices closed", "light: off")
}

// A capture still closing from the last call keeps the light on, and its
// close does not put out the light of the call after it.
func TestPrivacyLightOverlappingCaptures(t *testing.T) {
	m, e := watchedMedia(t)
	a, err := m.OpenCapture()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.OpenCapture()
	if err != nil {
		t.Fatal(err)
	}
	e.take()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	expect(t, e, "the first closes", "devices closed")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	expect(t, e, "the second closes", "devices closed", "light: off")
}

// A capture that cannot open puts the light out again.
func TestPrivacyLightOffWhenOpenFails(t *testing.T) {
	m, e := watchedMedia(t)
	m.open = func(media.CaptureOptions) (source, error) {
		e.add("devices opening")
		return nil, errors.New("no camera, no microphone")
	}
	if _, err := m.OpenCapture(); err == nil {
		t.Fatal("OpenCapture succeeded")
	}
	expect(t, e, "failed open", "light: camera and microphone", "devices opening", "light: off")
}
