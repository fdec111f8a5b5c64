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
	// EndReason says why an ended call ended ("Anna hung up"), in English
	// for the log; the screen words End in its own language.
	EndReason string
	End       EndCause
	// Picture is the caller's picture from the allowlist (nil for none).
	Picture image.Image
	// StartsAt is when a ringing call answers itself, or when an announced
	// call's announcement ends; the screen counts down to it.
	StartsAt time.Time
	// Hangup ends the call (the red button, one touch). It never blocks and
	// may be nil when there is nothing to end.
	Hangup func()
	// Decline refuses a ringing call ("Not now"); the caller is told the
	// resident declined. Nil when the call cannot be declined (forced).
	Decline func()
}

// EndCause is why a call ended, for the screen to say in its language.
type EndCause int

// The causes of a call's end. EndOther shows EndReason as it is.
const (
	EndOther EndCause = iota
	// EndCallerHungUp: the caller (Name) hung up.
	EndCallerHungUp
	// EndResident: the resident pressed End, or Not now.
	EndResident
	// EndTimeUp: the call's time ran out.
	EndTimeUp
	// EndLost: the connection to the caller was lost.
	EndLost
	// EndNoAnswer: it rang out, or was declined.
	EndNoAnswer
	// EndPreempted: a carer's forced call took the screen.
	EndPreempted
	// EndShutdown: the device is restarting or shutting down.
	EndShutdown
	// EndNoConnect: the call could not be connected (no media in time,
	// or the device could not answer).
	EndNoConnect
)

// Privacy is which capture devices are open right now. The privacy light
// (the screen's badge and any LED the board has) shows exactly while one
// is: it comes on before the first frame is captured and goes out as the
// device closes.
type Privacy struct {
	Camera, Microphone bool
}

// On says whether anything is open.
func (p Privacy) On() bool { return p.Camera || p.Microphone }

// PrivacyLight shows Privacy. Set must not return before the light is
// visibly on (the screen has painted its badge, the LED is lit) when it
// turns something on, so the caller may open the device after it returns;
// turning off may return at once. Safe from any goroutine.
type PrivacyLight interface {
	SetPrivacy(p Privacy)
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
