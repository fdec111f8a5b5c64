package device

import (
	"image"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

// CallPhase is where a call stands, as the screen shows it; defined with
// its one text encoding in sync/proto, where callers read it too.
type CallPhase = proto.CallPhase

// The phases of a call on screen (see proto.CallPhase). CallNone means no
// call: the carousel.
const (
	CallNone       = proto.CallNone
	CallAnnouncing = proto.CallAnnouncing
	CallRinging    = proto.CallRinging
	CallConnecting = proto.CallConnecting
	CallActive     = proto.CallActive
	CallEnded      = proto.CallEnded
)

// Participant is one remote person in a call.
type Participant struct {
	ID   string // caller id from the allowlist
	Name string // display name, e.g. "Anna"
}

// CallView is everything the screen shows about a call. The call goroutine
// sends a fresh value on every change; the screen keeps no call state of
// its own.
type CallView struct {
	Phase  CallPhase
	Call   string // call id
	Forced bool
	// Name is who is calling ("Anna"); Reason is a forced call's purpose
	// ("Morning medicine check"), shown while announcing.
	Name, Reason string
	// Participants are the remote people, first the one who called.
	Participants []Participant
	// Ends is when the call's time runs out; Warning is set from five
	// minutes before.
	Ends    time.Time
	Warning bool
	// CameraOn lights the camera indicator: true whenever the camera is
	// open, announcement included. MicOn likewise for the microphone.
	CameraOn, MicOn bool
	// EndReason says why an ended call ended ("Anna hung up").
	EndReason string
	// Hangup ends the call (the red button, one touch). It never blocks and
	// may be nil when there is nothing to end.
	Hangup func()
}

// CallDisplay shows calls. Implementations must be safe to call from any
// goroutine and must not block: frames arrive at the camera's rate.
type CallDisplay interface {
	// ShowCall replaces what is shown about the call; Phase CallNone
	// returns to the carousel.
	ShowCall(v CallView)
	// RemoteFrame shows the latest decoded picture of a participant.
	RemoteFrame(participant string, img image.Image)
	// SelfFrame shows the resident's own camera picture (the small view).
	SelfFrame(img image.Image)
}
