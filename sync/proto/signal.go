package proto

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Call signalling. A caller publishes on the device's call/in topic (QoS 1,
// not retained): an Invite carrying its SDP offer, then Signals (trickled ICE
// candidates, controls, hangup), each signed with its Ed25519 key. The device
// answers each caller on call/out/{caller}. The caller always offers; the
// device only answers.

// CallInTopic is where callers write to a device.
func CallInTopic(device string) string { return Root + "/" + device + "/call/in" }

// CallOutTopic is where a device writes to one caller.
func CallOutTopic(device, caller string) string {
	return Root + "/" + device + "/call/out/" + caller
}

// CallOutFilter matches what every device writes to caller.
func CallOutFilter(caller string) string { return Root + "/+/call/out/" + caller }

// AllowlistTopic holds the device's signed allowlist, QoS 1, retained.
func AllowlistTopic(device string) string { return Root + "/" + device + "/allowlist" }

// AvailabilityTopic holds whether and how the device answers now, retained.
func AvailabilityTopic(device string) string { return Root + "/" + device + "/availability" }

// AvailabilityFilter matches every device's availability.
const AvailabilityFilter = Root + "/+/availability"

// StateTopic holds the device's lifecycle state, retained; the broker
// publishes "lost" there (the MQTT Will) when the device vanishes.
func StateTopic(device string) string { return Root + "/" + device + "/state" }

// StateFilter matches every device's lifecycle state.
const StateFilter = Root + "/+/state"

// Limits on signalling.
const (
	MaxSDP          = 64 << 10
	MaxCandidate    = 1 << 10
	MaxCallLimit    = 4 * time.Hour
	MaxParticipants = 3 // remote people in one call; 4 with the resident
	// SignalSkew is how far a Signal's time may lie from the device's clock.
	SignalSkew = 2 * time.Minute
)

// The message types on call/in and call/out.
const (
	SignalInvite    = "invite"
	SignalCandidate = "candidate"
	SignalHangup    = "hangup"
	SignalControl   = "control"
	// Device to caller only.
	SignalAnswer  = "answer"
	SignalBusy    = "busy"
	SignalRefused = "refused"
	SignalState   = "state"
	// SignalJoin tells a caller that the first caller of call Call added
	// them: they may send an invite with Join set to it.
	SignalJoin = "join"
)

// The controls a caller may send (Signal.Data of a "control"). Camera and
// microphone controls are a carer's right: only callers allowed forced calls
// may use them (VideoVisit's remote mute).
const (
	ControlExtend    = "extend" // 15 more minutes
	ControlCameraOff = "camera_off"
	ControlCameraOn  = "camera_on"
	ControlMicOff    = "mic_off"
	ControlMicOn     = "mic_on"
	ControlEnd       = "end"  // end the call for everyone
	ControlAdd       = "add:" // "add:ID" lets caller ID join this call
)

// ExtendBy is how much time one "extend" adds.
const ExtendBy = 15 * time.Minute

// Signal is a signed message from a caller about a call in progress.
type Signal struct {
	V      int       `json:"v"`
	Type   string    `json:"type"`
	Call   string    `json:"call"`
	Device string    `json:"device"`
	Caller string    `json:"caller"`
	Time   time.Time `json:"time"`
	// Data is the candidate (the JSON of an RTCIceCandidateInit, as a
	// browser's JSON.stringify(candidate) gives it) or the control.
	Data string `json:"data,omitempty"`
	Sig  []byte `json:"sig"`
}

// SigningBytes is what the caller signs, one field a line like an Invite's.
func (s Signal) SigningBytes() []byte {
	sum := sha256.Sum256([]byte(s.Data))
	return []byte(strings.Join([]string{
		"hearth-signal-v1", s.Type, s.Call, s.Device, s.Caller,
		s.Time.UTC().Format(time.RFC3339Nano), hex.EncodeToString(sum[:]),
	}, "\n"))
}

// Candidate is an ICE candidate as browsers and Pion write it.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
	UFrag         *string `json:"usernameFragment,omitempty"`
}

// Candidate parses a candidate Signal's Data.
func (s Signal) Candidate() (Candidate, error) {
	var c Candidate
	if err := json.Unmarshal([]byte(s.Data), &c); err != nil {
		return c, fmt.Errorf("candidate: %w: %v", ErrMalformed, err)
	}
	return c, nil
}

// CallIn is one message arriving on call/in: exactly one of the two is set.
type CallIn struct {
	Invite *Invite
	Signal *Signal
}

// DecodeCallIn parses and checks the form of a message for device on its
// call/in topic. Signatures and rights are the device's to check.
func DecodeCallIn(device string, payload []byte) (CallIn, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if len(payload) <= MaxPayload {
		_ = json.Unmarshal(payload, &probe) // decodeStrict reports malformed input
	}
	if probe.Type == SignalInvite {
		in, err := DecodeInvite(device, payload)
		if err != nil {
			return CallIn{}, err
		}
		return CallIn{Invite: &in}, nil
	}
	var s Signal
	if err := decodeStrict("decode signal", payload, &s); err != nil {
		return CallIn{}, err
	}
	switch {
	case s.Device != device:
		return CallIn{}, fmt.Errorf("decode signal: for %q: %w", s.Device, ErrWrongDevice)
	case !ValidID(s.Call):
		return CallIn{}, fmt.Errorf("decode signal: %w: call id %q", ErrInvalid, s.Call)
	case !ValidID(s.Caller):
		return CallIn{}, fmt.Errorf("decode signal: %w: caller id %q", ErrInvalid, s.Caller)
	case s.Time.IsZero():
		return CallIn{}, fmt.Errorf("decode signal: %w: no time", ErrInvalid)
	case len(s.Sig) == 0:
		return CallIn{}, fmt.Errorf("decode signal: %w: not signed", ErrInvalid)
	}
	switch s.Type {
	case SignalCandidate:
		if len(s.Data) > MaxCandidate {
			return CallIn{}, fmt.Errorf("decode signal: candidate of %d bytes: %w", len(s.Data), ErrTooLarge)
		}
		if _, err := s.Candidate(); err != nil {
			return CallIn{}, fmt.Errorf("decode signal: %w", err)
		}
	case SignalHangup:
	case SignalControl:
		if !validControl(s.Data) {
			return CallIn{}, fmt.Errorf("decode signal: %w: control %q", ErrInvalid, s.Data)
		}
	default:
		return CallIn{}, fmt.Errorf("decode signal: %w: type %q", ErrInvalid, s.Type)
	}
	return CallIn{Signal: &s}, nil
}

func validControl(c string) bool {
	switch c {
	case ControlExtend, ControlCameraOff, ControlCameraOn, ControlMicOff, ControlMicOn, ControlEnd:
		return true
	}
	id, ok := strings.CutPrefix(c, ControlAdd)
	return ok && ValidID(id)
}

// Reply is what a device tells one caller about a call.
type Reply struct {
	V      int       `json:"v"`
	Type   string    `json:"type"` // answer, candidate, busy, refused, hangup, state
	Call   string    `json:"call"`
	Device string    `json:"device"`
	Time   time.Time `json:"time"`
	// SDP is the device's answer (type "answer").
	SDP string `json:"sdp,omitempty"`
	// Data is a candidate's JSON (type "candidate").
	Data string `json:"data,omitempty"`
	// Reason says why a call was refused or ended.
	Reason string `json:"reason,omitempty"`
	// Phase is the call's phase (type "state"): announcing, ringing,
	// connecting, active, ended.
	Phase CallPhase `json:"phase,omitempty"`
	// Ends is when the call's time runs out (type "state").
	Ends time.Time `json:"ends,omitzero"`
	// Camera and Mic say whether the device sends picture and sound.
	Camera *bool `json:"camera,omitempty"`
	Mic    *bool `json:"mic,omitempty"`
	// Participants are the callers in the call (type "state").
	Participants []string `json:"participants,omitempty"`
	// From is who added the caller (type "join"): the first caller's name.
	From string `json:"from,omitempty"`
	// With and Since tell a carer (a caller allowed forced calls) whom
	// the device is in a call with and since when (type "busy"); absent
	// for everyone else.
	With  string    `json:"with,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// DecodeReply parses a device's reply, for callers (hearthctl call).
func DecodeReply(payload []byte) (Reply, error) {
	var r Reply
	if err := decodeStrict("decode reply", payload, &r); err != nil {
		return Reply{}, err
	}
	switch r.Type {
	case SignalAnswer, SignalCandidate, SignalBusy, SignalRefused, SignalHangup, SignalState, SignalJoin:
	default:
		return Reply{}, fmt.Errorf("decode reply: %w: type %q", ErrInvalid, r.Type)
	}
	if !ValidID(r.Call) || !ValidID(r.Device) {
		return Reply{}, fmt.Errorf("decode reply: %w: call %q device %q", ErrInvalid, r.Call, r.Device)
	}
	if r.Type == SignalAnswer && (r.SDP == "" || len(r.SDP) > MaxSDP) {
		return Reply{}, fmt.Errorf("decode reply: %w: answer without a usable SDP", ErrInvalid)
	}
	return r, nil
}

// RefusedDND is the reason a signalled call is refused while the device is
// in do-not-disturb (forced calls are still answered).
const RefusedDND = "do not disturb"

// Availability is whether and how the device takes calls now, retained on
// AvailabilityTopic so a caller sees it before dialling.
type Availability struct {
	V      int       `json:"v"`
	Device string    `json:"device"`
	Name   string    `json:"name,omitempty"` // "Mum's kitchen"
	Time   time.Time `json:"time"`
	// State: see AvailabilityState.
	State AvailabilityState `json:"state"`
	// Answer maps caller modes to what happens: forced and signalled.
	Answer     map[CallMode]Answer `json:"answer"`
	Camera     bool                `json:"camera"`
	Microphone bool                `json:"microphone"`
	// DNDUntil is when do-not-disturb ends by itself, while it is on (also
	// during a call, when State says in_call).
	DNDUntil time.Time `json:"dnd_until,omitzero"`
	// NightUntil is when the night hours in force end, while they are on
	// (state night, or another state that wins during the night).
	NightUntil time.Time `json:"night_until,omitzero"`
	// Zone is the device's IANA time zone ("Europe/Stockholm"), absent
	// when it does not know it; UTCOffsetS its offset from UTC now, in
	// seconds. A caller shows the device's times (dnd_until, bookings) in
	// the device's zone, not its own.
	Zone       string `json:"zone,omitempty"`
	UTCOffsetS int    `json:"utc_offset_s"`
}

// DecodeAvailability parses a device's availability.
func DecodeAvailability(payload []byte) (Availability, error) {
	var a Availability
	if err := decodeStrict("decode availability", payload, &a); err != nil {
		return Availability{}, err
	}
	if !ValidID(a.Device) {
		return Availability{}, fmt.Errorf("decode availability: %w: device %q", ErrInvalid, a.Device)
	}
	return a, nil
}
