package proto

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func validSignal(typ, data string) Signal {
	return Signal{V: 1, Type: typ, Call: "c-1", Device: "mum-kitchen", Caller: "anna", Time: t0, Data: data, Sig: []byte{1}}
}

const hostCandidate = `{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}`

func TestDecodeCallIn(t *testing.T) {
	in := validInvite()
	in.Type = SignalInvite
	got, err := DecodeCallIn("mum-kitchen", encode(t, in))
	if err != nil || got.Invite == nil || got.Signal != nil {
		t.Fatalf("DecodeCallIn(invite) = %+v, %v", got, err)
	}
	for _, s := range []Signal{
		validSignal(SignalCandidate, hostCandidate),
		validSignal(SignalHangup, ""),
		validSignal(SignalControl, ControlExtend),
		validSignal(SignalControl, "add:bertil"),
	} {
		got, err := DecodeCallIn("mum-kitchen", encode(t, s))
		if err != nil || got.Signal == nil || got.Signal.Data != s.Data {
			t.Fatalf("DecodeCallIn(%s %q) = %+v, %v", s.Type, s.Data, got, err)
		}
	}
	for name, tc := range map[string]struct {
		s    Signal
		want error
	}{
		"type":       {validSignal("dance", ""), ErrInvalid},
		"control":    {validSignal(SignalControl, "self_destruct"), ErrInvalid},
		"add bad id": {validSignal(SignalControl, "add:a/b"), ErrInvalid},
		"candidate":  {validSignal(SignalCandidate, "{not json"), ErrMalformed},
		"big":        {validSignal(SignalCandidate, `{"candidate":"`+string(make([]byte, 2000))+`"}`), ErrTooLarge},
		"device":     {func() Signal { s := validSignal(SignalHangup, ""); s.Device = "dad-hall"; return s }(), ErrWrongDevice},
		"unsigned":   {func() Signal { s := validSignal(SignalHangup, ""); s.Sig = nil; return s }(), ErrInvalid},
		"no time":    {func() Signal { s := validSignal(SignalHangup, ""); s.Time = time.Time{}; return s }(), ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := json.Marshal(tc.s)
			if _, err := DecodeCallIn("mum-kitchen", b); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeCallIn = %v, want %v", err, tc.want)
			}
		})
	}
	in.Offer = ""
	if _, err := DecodeCallIn("mum-kitchen", encode(t, in)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invite without offer: %v", err)
	}
}

// The signing bytes are what a browser rebuilds with WebCrypto: pin them.
func TestSigningBytesStable(t *testing.T) {
	s := validSignal(SignalControl, ControlEnd)
	want := "hearth-signal-v1\ncontrol\nc-1\nmum-kitchen\nanna\n2026-11-22T18:00:00Z\n" +
		"8d2c9c6c0b2cfb4e5b7f6e7d6f2a1c4d5d5bba6b1e1b94a7a8d64b0b9b1d3f6c"
	got := string(s.SigningBytes())
	if got[:len(got)-64] != want[:len(want)-64] {
		t.Fatalf("signal signing bytes:\n%s", got)
	}
	in := validInvite()
	in.LimitS = 1800
	in.Join = "c-0"
	wantIn := "hearth-invite-v1\nc-1\nmum-kitchen\nanna\nAnna\nsignalled\n\nc-0\n1800\n2026-11-22T18:00:00Z\n2026-11-22T18:01:00Z\n"
	if g := string(in.SigningBytes()); g[:len(wantIn)] != wantIn {
		t.Fatalf("invite signing bytes:\n%s", g)
	}
}

func TestDecodeReply(t *testing.T) {
	r := Reply{V: 1, Type: SignalAnswer, Call: "c-1", Device: "mum-kitchen", Time: t0, SDP: "v=0"}
	if _, err := DecodeReply(encode(t, r)); err != nil {
		t.Fatal(err)
	}
	r.SDP = ""
	if _, err := DecodeReply(encode(t, r)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("answer without sdp: %v", err)
	}
	r.Type = "gossip"
	if _, err := DecodeReply(encode(t, r)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown type: %v", err)
	}
}

func FuzzDecodeCallIn(f *testing.F) {
	in := validInvite()
	in.Type = SignalInvite
	b, _ := json.Marshal(in)
	f.Add(b)
	for _, s := range []Signal{validSignal(SignalCandidate, hostCandidate), validSignal(SignalControl, "add:bo")} {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := DecodeCallIn("mum-kitchen", payload)
		if err != nil {
			return
		}
		if (m.Invite == nil) == (m.Signal == nil) {
			t.Fatalf("exactly one of invite and signal must be set: %+v", m)
		}
		if s := m.Signal; s != nil && (s.Device != "mum-kitchen" || !ValidID(s.Call) || len(s.Sig) == 0) {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"answer","call":"c-1","device":"d","time":"2026-11-22T18:00:00Z","sdp":"v=0"}`))
	f.Add([]byte(`{"v":1,"type":"state","call":"c-1","device":"d","phase":"active","camera":true,"participants":["a"]}`))
	f.Add([]byte(`{"v":1,"type":"refused","call":"c-1","device":"d","reason":"unknown caller"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := DecodeReply(payload)
		if err == nil && (!ValidID(r.Call) || (r.Type == SignalAnswer && r.SDP == "")) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzDecodeAvailability(f *testing.F) {
	f.Add([]byte(`{"v":1,"device":"d","state":"available","answer":{"forced":"auto","signalled":"rings"},"camera":true,"microphone":true}`))
	f.Add([]byte(`{"v":1,"device":"d","state":"ready"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if a, err := DecodeAvailability(payload); err == nil && !ValidID(a.Device) {
			t.Fatalf("accepted %+v", a)
		}
		if s, err := DecodeState(payload); err == nil && !ValidID(s.Device) {
			t.Fatalf("accepted %+v", s)
		}
	})
}
