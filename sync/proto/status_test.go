package proto

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeStatus(t *testing.T) {
	synced := true
	h := Heartbeat{V: 1, Device: "mum-kitchen", Session: 3, Seq: 9, Time: t0, IntervalS: 60, TimeSynced: &synced, Version: "v1", Display: "on"}
	got, err := DecodeHeartbeat(encode(t, h))
	if err != nil || got.Seq != 9 || got.TimeSynced == nil || !*got.TimeSynced {
		t.Fatalf("DecodeHeartbeat = %+v, %v", got, err)
	}
	h.Device = "a/b"
	if _, err := DecodeHeartbeat(encode(t, h)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad device: %v", err)
	}
	s := State{V: 1, Device: "mum-kitchen", State: LifeLost, Session: 4}
	if got, err := DecodeState(encode(t, s)); err != nil || got.Session != 4 {
		t.Fatalf("DecodeState = %+v, %v", got, err)
	}
	if _, err := DecodeState([]byte(`{"v":1,"device":"mum-kitchen","state":"sleepy","session":4}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}
	a := Activity{V: 1, Device: "mum-kitchen", ID: "a-1", Seq: 1, Time: t0, Type: "item_shown", Item: "p-1"}
	if got, err := DecodeActivity(encode(t, a)); err != nil || got.Item != "p-1" {
		t.Fatalf("DecodeActivity = %+v, %v", got, err)
	}
	a.ID = ""
	if _, err := DecodeActivity(encode(t, a)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no id: %v", err)
	}
	for topic, want := range map[string]string{
		"hearth/v1/dev/mum/heartbeat": "mum", "hearth/v1/dev/mum": "", "other/mum/x": "", "hearth/v1/dev/a+b/state": "",
	} {
		if got := DeviceOf(topic); got != want {
			t.Errorf("DeviceOf(%q) = %q, want %q", topic, got, want)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"v":1,"device":"d","session":2,"seq":1,"time":"2026-11-28T10:00:00Z","interval_s":60,"time_synced":null,"uptime_s":5,"boots":1,"restarts":0,"version":"x","reconnects":0,"storage":{"used":1,"free":2},"memory_rss":1,"memory_available":2,"items":0,"display":"on","camera":true,"microphone":true,"speaker":true}`))
	f.Add([]byte(`{"v":1,"device":"d","id":"a-1","seq":1,"time":"2026-11-28T10:00:00Z","type":"call_refused","reason":"unknown caller"}`))
	f.Add([]byte(`{"v":1,"device":"d","state":"lost","session":7}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if h, err := DecodeHeartbeat(payload); err == nil && (!ValidID(h.Device) || h.IntervalS < 0) {
			t.Fatalf("accepted heartbeat %+v", h)
		}
		if a, err := DecodeActivity(payload); err == nil && (a.ID == "" || a.Type == "") {
			t.Fatalf("accepted activity %+v", a)
		}
		if s, err := DecodeState(payload); err == nil {
			if b, _ := json.Marshal(s); len(b) == 0 {
				t.Fatal("state does not encode")
			}
		}
	})
}
