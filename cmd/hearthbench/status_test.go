package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	twenty := make([]time.Duration, 20)
	for i := range twenty {
		twenty[i] = time.Duration(20-i) * time.Second // 20 s down to 1 s
	}
	for _, tt := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 95, 7},
		{[]time.Duration{5, 1, 3}, 50, 3},
		{[]time.Duration{4, 1, 3, 2}, 50, 2}, // nearest rank: the 2nd of 4, not the mean of two
		{[]time.Duration{5, 1, 4, 2, 3}, 95, 5},
		{[]time.Duration{5, 1, 4, 2, 3}, 50, 3},
		{twenty, 50, 10 * time.Second},
		{twenty, 95, 19 * time.Second},
		{twenty, 100, 20 * time.Second},
		{twenty, 1, time.Second},
	} {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
	if twenty[0] != 20*time.Second {
		t.Error("percentile sorted its argument")
	}
}

func TestParseStatusMessage(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e, ok := parseStatusMessage("hearth/v1/dev/mum-kitchen/state",
		[]byte(`{"v":1,"device":"mum-kitchen","state":"lost","session":7,"time":"2026-12-01T09:59:59.5Z"}`), at, true)
	if !ok || e.kind != "state" || e.device != "mum-kitchen" || e.state.State != "lost" || e.state.Session != 7 || !e.retained {
		t.Fatalf("state: %+v %v", e, ok)
	}
	if want := at.Add(-500 * time.Millisecond); !e.when().Equal(want) {
		t.Errorf("retained when() = %v, want the time in the message %v", e.when(), want)
	}
	e.retained = false
	if !e.when().Equal(at) {
		t.Errorf("live when() = %v, want its arrival %v", e.when(), at)
	}

	hb := `{"v":1,"device":"mum-kitchen","session":9,"seq":3,"time":"2026-12-01T10:00:00Z","interval_s":10,` +
		`"time_synced":null,"uptime_s":5,"boots":1,"restarts":0,"version":"dev","reconnects":0,` +
		`"storage":{"used":0,"free":0},"memory_rss":0,"memory_available":0,"items":0,"display":"on",` +
		`"camera":false,"microphone":false,"speaker":false}`
	e, ok = parseStatusMessage("hearth/v1/dev/mum-kitchen/heartbeat", []byte(hb), at, false)
	if !ok || e.kind != "heartbeat" || e.state.Session != 9 {
		t.Fatalf("heartbeat: %+v %v", e, ok)
	}

	for _, tt := range []struct{ topic, payload string }{
		{"hearth/v1/dev/mum-kitchen/state", ""}, // a cleared topic
		{"hearth/v1/dev/mum-kitchen/state", `{"v":1,"device":"mum-kitchen","state":"asleep"}`},
		{"hearth/v1/dev/mum-kitchen/state", `{"v":1,"device":"other","state":"ready"}`},
		{"hearth/v1/dev/mum-kitchen/inventory", `{"v":1,"device":"mum-kitchen","state":"ready"}`},
		{"elsewhere/state", `{"v":1,"device":"mum-kitchen","state":"ready"}`},
	} {
		if e, ok := parseStatusMessage(tt.topic, []byte(tt.payload), at, false); ok {
			t.Errorf("%s %q: parsed as %+v", tt.topic, tt.payload, e)
		}
	}
}

func TestLinkLine(t *testing.T) {
	for _, tt := range []struct {
		line   string
		up, ok bool
	}{
		{`{"time":"x","level":"INFO","msg":"connected to broker","component":"sync","session":4}`, true, true},
		{`{"time":"x","level":"WARN","msg":"broker link down","err":"connection lost: EOF","retry_in":1000000000}`, false, true},
		{`{"time":"x","level":"INFO","msg":"carousel","broker":"x"}`, false, false},
		{`connected to broker`, false, false},
		{`{"msg":"connected to broker"`, false, false},
	} {
		if up, ok := linkLine(tt.line); up != tt.up || ok != tt.ok {
			t.Errorf("linkLine(%s) = %v, %v; want %v, %v", tt.line, up, ok, tt.up, tt.ok)
		}
	}
}

func TestLinkLogOutage(t *testing.T) {
	var l linkLog
	t0 := time.Unix(1000, 0)
	if _, ok := l.lastOutage(); ok {
		t.Fatal("an outage before any")
	}
	l.mark(true, t0)
	l.mark(false, t0.Add(time.Second))
	if _, ok := l.lastOutage(); ok {
		t.Fatal("an outage while down")
	}
	l.mark(false, t0.Add(2*time.Second)) // a failed retry: the outage began at the first
	l.mark(true, t0.Add(3*time.Second))
	if d, ok := l.lastOutage(); !ok || d != 2*time.Second {
		t.Errorf("outage = %v, %v; want 2s", d, ok)
	}
	l.mark(false, t0.Add(10*time.Second))
	l.mark(true, t0.Add(10500*time.Millisecond))
	if d, ok := l.lastOutage(); !ok || d != 500*time.Millisecond {
		t.Errorf("second outage = %v, %v; want 500ms", d, ok)
	}
}

func TestStatusBound(t *testing.T) {
	if got := statusBound(5 * time.Second); got != 7500*time.Millisecond {
		t.Errorf("bound = %v", got)
	}
}
