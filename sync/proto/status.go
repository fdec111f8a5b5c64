package proto

import (
	"fmt"
	"strings"
	"time"
)

// Status upward, after Homie and Sparkplug: a retained lifecycle state with a
// session number (a "birth" on every connect, the MQTT Will on loss), a
// retained heartbeat, and the activity log as QoS 1 events.

// HeartbeatTopic holds the device's last heartbeat, retained.
func HeartbeatTopic(device string) string { return Root + "/" + device + "/heartbeat" }

// HeartbeatFilter matches every device's heartbeat.
const HeartbeatFilter = Root + "/+/heartbeat"

// ActivityTopic carries one event of the activity log, QoS 1, retained, so
// the broker holds the device's recent log for readers that come later
// (hearthctl activity); the device clears events beyond MaxRetainedActivity
// by publishing an empty retained message. Events may arrive more than once:
// readers drop duplicates by ID.
func ActivityTopic(device, id string) string { return Root + "/" + device + "/activity/" + id }

// ActivityFilter matches every event of one device.
func ActivityFilter(device string) string { return Root + "/" + device + "/activity/+" }

// MaxRetainedActivity is how many recent events a device keeps on the broker.
const MaxRetainedActivity = 500

// DeviceOf returns the device id in a topic under Root, or "".
func DeviceOf(topic string) string {
	rest, ok := strings.CutPrefix(topic, Root+"/")
	if !ok {
		return ""
	}
	dev, _, ok := strings.Cut(rest, "/")
	if !ok || !ValidID(dev) {
		return ""
	}
	return dev
}

// Lifecycle is a device's state on StateTopic.
type Lifecycle string

// The lifecycle states.
const (
	LifeInit         Lifecycle = "init"         // connected, setting up
	LifeReady        Lifecycle = "ready"        // running normally
	LifeDisconnected Lifecycle = "disconnected" // a clean stop
	LifeLost         Lifecycle = "lost"         // the broker's Will: gone without a word
	LifeAlert        Lifecycle = "alert"        // running, but needs a person (Reason says why)
)

// State is the device's lifecycle message. Session rises on every connect
// and restart (it is kept on disk), and the Will carries the session it was
// set for, so a reader can drop a late "lost" from an older session.
type State struct {
	V       int       `json:"v"`
	Device  string    `json:"device"`
	State   Lifecycle `json:"state"`
	Session uint64    `json:"session,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	Reason  string    `json:"reason,omitempty"`
	Version string    `json:"version,omitempty"`
}

// DecodeState parses a lifecycle message.
func DecodeState(payload []byte) (State, error) {
	var s State
	if err := decodeStrict("decode state", payload, &s); err != nil {
		return State{}, err
	}
	if !ValidID(s.Device) {
		return State{}, fmt.Errorf("decode state: %w: device %q", ErrInvalid, s.Device)
	}
	switch s.State {
	case LifeInit, LifeReady, LifeDisconnected, LifeLost, LifeAlert:
	default:
		return State{}, fmt.Errorf("decode state: %w: state %q", ErrInvalid, s.State)
	}
	return s, nil
}

// Heartbeat is the device's periodic health report (and on change).
// Pointers are null when the device does not know.
type Heartbeat struct {
	V         int       `json:"v"`
	Device    string    `json:"device"`
	Session   uint64    `json:"session"`
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	IntervalS int       `json:"interval_s"` // the next one is due within this
	// AllowlistSerial is the serial of the allowlist the device holds
	// (absent: none), so the organisation never signs a list the device
	// would ignore as older.
	AllowlistSerial uint64 `json:"allowlist_serial,omitempty"`
	// TimeSynced is systemd-timedated's NTPSynchronized.
	TimeSynced *bool `json:"time_synced"`
	// ClockTrusted says whether the device believes its wall clock: not
	// known to be unsynchronised, and not before the build's date. While
	// it is false the screen hides its clock and keeps its carousel as at
	// the last trusted time. Absent when the device does not say.
	ClockTrusted *bool  `json:"clock_trusted,omitempty"`
	UptimeS      int64  `json:"uptime_s"`
	Boots        uint64 `json:"boots"`
	Restarts     uint64 `json:"restarts"`
	LastExit     string `json:"last_exit,omitempty"`
	Version      string `json:"version"`
	Build        string `json:"build,omitempty"`
	Network      *Net   `json:"network,omitempty"`
	Reconnects   int64  `json:"reconnects"`
	Storage      Usage  `json:"storage"`
	// MemoryRSS is the daemon's resident memory; MemoryAvailable the system's.
	MemoryRSS       uint64            `json:"memory_rss"`
	MemoryAvailable uint64            `json:"memory_available"`
	CPUTempC        *float64          `json:"cpu_temp_c,omitempty"`
	Items           int               `json:"items"`
	OnScreen        string            `json:"on_screen,omitempty"`
	LastSync        time.Time         `json:"last_sync,omitzero"`
	Display         string            `json:"display"` // on, dimmed, off
	Camera          bool              `json:"camera"`
	Microphone      bool              `json:"microphone"`
	Speaker         bool              `json:"speaker"`
	Availability    AvailabilityState `json:"availability,omitempty"`
	// DNDUntil is when do-not-disturb ends, while it is on.
	DNDUntil time.Time `json:"dnd_until,omitzero"`
}

// Net is the device's network as NetworkManager reports it.
type Net struct {
	Interface string `json:"interface,omitempty"`
	Type      string `json:"type,omitempty"`
	SSID      string `json:"ssid,omitempty"`
	Signal    *int   `json:"signal,omitempty"` // 0-100
	IP        string `json:"ip,omitempty"`
	State     string `json:"state,omitempty"`
}

// Usage is storage used and free, in bytes.
type Usage struct {
	Used uint64 `json:"used"`
	Free uint64 `json:"free"`
}

// DecodeHeartbeat parses a heartbeat.
func DecodeHeartbeat(payload []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := decodeStrict("decode heartbeat", payload, &h); err != nil {
		return Heartbeat{}, err
	}
	if !ValidID(h.Device) {
		return Heartbeat{}, fmt.Errorf("decode heartbeat: %w: device %q", ErrInvalid, h.Device)
	}
	if h.IntervalS < 0 {
		return Heartbeat{}, fmt.Errorf("decode heartbeat: %w: interval %d", ErrInvalid, h.IntervalS)
	}
	return h, nil
}

// Activity is one event of a device's activity log.
type Activity struct {
	V      int       `json:"v"`
	Device string    `json:"device"`
	ID     string    `json:"id"` // unique per device: readers drop duplicates by it
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	// Type: item_shown, item_expired, call_answered, call_ended,
	// call_refused, call_missed (busy included), booking_kept,
	// booking_cancelled, input_refused, config_changed, gap.
	Type string `json:"type"`
	Item string `json:"item,omitempty"`
	// ItemKind and ItemText say what the item of an item_* event (and an
	// input_refused of an item the device holds or could read) is: its
	// kind and its text cut to 80 characters. Absent otherwise.
	ItemKind   Kind   `json:"item_kind,omitempty"`
	ItemText   string `json:"item_text,omitempty"`
	Call       string `json:"call,omitempty"`
	Caller     string `json:"caller,omitempty"`
	Mode       string `json:"mode,omitempty"`
	Reason     string `json:"reason,omitempty"`
	DurationMs int64  `json:"duration_ms,omitempty"`
	// Count is how many refusals of one caller and reason a call_refused
	// event stands for (absent: one).
	Count int `json:"count,omitempty"`
	// Dropped counts events lost to the device's bound (type "gap").
	Dropped uint64 `json:"dropped,omitempty"`
}

// DecodeActivity parses one activity event.
func DecodeActivity(payload []byte) (Activity, error) {
	var a Activity
	if err := decodeStrict("decode activity", payload, &a); err != nil {
		return Activity{}, err
	}
	if !ValidID(a.Device) || a.ID == "" || a.Type == "" {
		return Activity{}, fmt.Errorf("decode activity: %w: device %q id %q type %q", ErrInvalid, a.Device, a.ID, a.Type)
	}
	return a, nil
}
