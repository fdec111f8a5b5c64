package callmedia

import (
	"testing"
	"time"

	"github.com/hearth-home/hearth/media"
)

func TestSpeakerOpensOnSoundAndClosesWhenIdle(t *testing.T) {
	m := New(media.KindTest, nil)
	defer m.Close()
	if _, open := m.Stats(); open {
		t.Fatal("speaker open before any sound")
	}
	m.Speaker().PlayChime(nil)
	st, open := m.Stats()
	if !open || st.ChimesPlayed != 1 {
		t.Fatalf("after a chime: open %v, %+v", open, st)
	}
	// Idle: pretend the last sound was long ago and let the timer run.
	m.speaker.mu.Lock()
	m.speaker.last = time.Now().Add(-2 * speakerIdle)
	m.speaker.mu.Unlock()
	m.speaker.idle()
	if _, open := m.Stats(); open {
		t.Fatal("speaker still open after being idle")
	}
	m.Speaker().PlayChime(nil) // opens again
	if _, open := m.Stats(); !open {
		t.Fatal("speaker did not reopen")
	}
}

// A forced call's chime brings the caller's greeting after it; a broken
// greeting costs only itself.
func TestChimeWithGreeting(t *testing.T) {
	greeting, err := media.RecordGreeting(media.CaptureOptions{Kind: media.KindTest}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	m := New(media.KindTest, nil)
	defer m.Close()
	m.Speaker().PlayChime(greeting)
	m.Speaker().PlayChime([]byte("not a greeting"))
	m.speaker.greetings.Wait()
	st, _ := m.Stats()
	if st.ChimesPlayed != 2 || st.GreetingsPlayed != 1 {
		t.Errorf("after two chimes, one with a greeting: %d chimes, %d greetings; want 2, 1", st.ChimesPlayed, st.GreetingsPlayed)
	}
}
