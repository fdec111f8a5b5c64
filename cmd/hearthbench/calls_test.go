package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLogEntry(t *testing.T) {
	tests := []struct {
		name string
		line string
		ok   bool
		want logEntry
	}{
		{"stats", `{"time":"2026-11-28T18:15:32.5Z","level":"INFO","msg":"call: stats","call":"c-1","video_frames_decoded":19,` +
			`"audio_packets":40,"video_packets_sent":100,"ice_connected_ms":121,"first_frame_ms":444}`, true,
			logEntry{Time: time.Date(2026, 11, 28, 18, 15, 32, 5e8, time.UTC), Msg: "call: stats", Call: "c-1",
				VideoFramesDecoded: 19, AudioPackets: 40, ICEConnectedMs: 121, FirstFrameMs: 444}},
		{"answered", `{"msg":"call: answered","call":"c-2","invite_to_connected_ms":130}`, true,
			logEntry{Msg: "call: answered", Call: "c-2", InviteToConnected: 130}},
		{"plain text from a library", `[vpx] something`, false, logEntry{}},
		{"broken JSON", `{"msg":"call: stats",`, false, logEntry{}},
		{"no msg", `{"level":"INFO"}`, false, logEntry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseLogEntry(tt.line)
			if ok != tt.ok || !got.Time.Equal(tt.want.Time) {
				t.Fatalf("parseLogEntry(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("parseLogEntry(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseCallResult(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		usable  string // "" or a piece of usable()'s error
		connect int64
	}{
		{"answered", `{"device":"d","call":"c-1","mode":"forced","answered":true,"answer_ms":111,"ice_connected_ms":122,
			"first_video_packet_ms":142,"first_frame_ms":282,"video_frames_received":21,"audio_packets_received":60}` + "\n", "", 122},
		{"refused", `{"call":"c-2","answered":false,"refused_reason":"unknown caller","end_reason":"refused"}`, "refused: unknown caller", 0},
		{"busy", `{"call":"c-3","busy":true,"end_reason":"busy"}`, "busy", 0},
		{"no answer", `{"call":"c-4","end_reason":"no answer within 20s"}`, "not answered (no answer within 20s)", 0},
		{"no picture", `{"call":"c-5","answered":true,"ice_connected_ms":100,"first_frame_ms":0}`, "first frame at 0 ms", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseCallResult([]byte(tt.out))
			if err != nil {
				t.Fatalf("parseCallResult: %v", err)
			}
			if r.ICEConnectedMs != tt.connect {
				t.Errorf("ICEConnectedMs = %d, want %d", r.ICEConnectedMs, tt.connect)
			}
			err = r.usable()
			switch {
			case tt.usable == "" && err != nil:
				t.Errorf("usable() = %v, want nil", err)
			case tt.usable != "" && (err == nil || !strings.Contains(err.Error(), tt.usable)):
				t.Errorf("usable() = %v, want an error with %q", err, tt.usable)
			}
		})
	}
	if _, err := parseCallResult([]byte("hearthctl: call: no such caller\n")); err == nil {
		t.Error("parseCallResult(an error message) = nil error")
	}
}

func TestCPUShare(t *testing.T) {
	for _, tt := range []struct {
		cpu, wall time.Duration
		want      float64
	}{
		{2 * time.Second, 20 * time.Second, 0.1},
		{30 * time.Second, 20 * time.Second, 1.5}, // two cores busy for a while
		{time.Second, 0, 0},
		{0, time.Second, 0},
	} {
		if got := cpuShare(tt.cpu, tt.wall); got != tt.want {
			t.Errorf("cpuShare(%v, %v) = %v, want %v", tt.cpu, tt.wall, got, tt.want)
		}
	}
}

func TestLoopbackResultTimes(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name       string
		in         loopbackResult
		ice, frame time.Duration
		err        bool
	}{
		{"shown frame", loopbackResult{IceMs: f(20.5), FrameMs: f(130), DecodedMs: f(120)}, 20500 * time.Microsecond, 130 * time.Millisecond, false},
		{"no requestVideoFrameCallback", loopbackResult{IceMs: f(20), DecodedMs: f(120)}, 20 * time.Millisecond, 120 * time.Millisecond, false},
		{"never connected", loopbackResult{FrameMs: f(130)}, 0, 0, true},
		{"no frame", loopbackResult{IceMs: f(20)}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ice, frame, err := tt.in.times()
			if (err != nil) != tt.err || ice != tt.ice || frame != tt.frame {
				t.Errorf("times() = %v, %v, %v; want %v, %v, error %v", ice, frame, err, tt.ice, tt.frame, tt.err)
			}
		})
	}
}

func TestWebStatsEnded(t *testing.T) {
	for state, want := range map[string]bool{
		"calling": false, "connecting": false, "active": false, "announcing": false,
		"ended": true, "busy": true, "refused": true, "failed": true, "no_answer": true,
	} {
		if got := (webStats{State: state}).ended(); got != want {
			t.Errorf("webStats{State: %q}.ended() = %v, want %v", state, got, want)
		}
	}
}

// The anchor encodes as media/ does: its defaults, not numbers of its own.
func TestFFmpegArgs(t *testing.T) {
	args := ffmpegArgs(20 * time.Second)
	val := func(flag string) string {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("ffmpegArgs has no %s: %q", flag, args)
		}
		return args[i+1]
	}
	for flag, want := range map[string]string{
		"-t": "20.000", "-c:v": "libvpx", "-deadline": "realtime", "-cpu-used": "-8",
		"-b:v": "500k", "-minrate": "500k", "-maxrate": "500k", "-g": "45", "-threads": "1", "-f": "lavfi",
	} {
		if got := val(flag); got != want {
			t.Errorf("ffmpegArgs: %s %s, want %s", flag, got, want)
		}
	}
	if src := val("-i"); !strings.Contains(src, "size=640x480:rate=15") || !strings.Contains(src, "overlay=") {
		t.Errorf("ffmpegArgs source = %q, want 640x480 at 15 fps with a moving block", src)
	}
	if !slices.Contains(args, "-re") {
		t.Errorf("ffmpegArgs = %q, want -re (real time, as a camera)", args)
	}
}

// The second anchor encodes as the first, and encodes the tone and
// decodes the caller's stream besides, each in real time.
func TestFFmpegCodecsArgs(t *testing.T) {
	args := strings.Join(ffmpegCodecsArgs(20*time.Second, "caller.webm"), " ")
	for _, want := range []string{
		strings.Join(vp8Encoder(), " "),
		"-c:a libopus -ac 1 -b:a 32k -application voip -frame_duration 20",
		"-re -f lavfi -i " + testTone,
		"-re -c:v libvpx -c:a libopus -i caller.webm",
		"-map 2:v -map 2:a -f null -",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("ffmpegCodecsArgs = %q, want %q in it", args, want)
		}
	}
	if n := strings.Count(args, "-t 20.000"); n != 3 {
		t.Errorf("ffmpegCodecsArgs has -t 20.000 %d times, want once for each of its 3 outputs", n)
	}
}

func TestCallDaemonLog(t *testing.T) {
	d := &callDaemon{proc: &proc{name: "hearthd", done: make(chan struct{}), tail: newTailBuffer(10, 100)}, changed: make(chan struct{})}
	d.onLine(`{"time":"2026-11-28T18:00:00.000Z","msg":"call: incoming","call":"c-1"}`)
	d.onLine(`not JSON`)
	d.onLine(`{"time":"2026-11-28T18:00:00.040Z","msg":"call: camera and microphone open","call":"c-1"}`)
	from := d.mark()
	if from != 2 {
		t.Fatalf("mark() = %d after two JSON lines, want 2", from)
	}
	if got := d.cameraOpen(0, "c-1"); got != 40*time.Millisecond {
		t.Errorf("cameraOpen(c-1) = %v, want 40ms", got)
	}
	if got := d.cameraOpen(from, "c-1"); got != -1 {
		t.Errorf("cameraOpen from after the lines = %v, want -1", got)
	}
	go d.onLine(`{"msg":"call: stats","call":"c-1","video_frames_decoded":7}`)
	e, err := d.ended(context.Background(), from, "c-1")
	if err != nil || e.VideoFramesDecoded != 7 {
		t.Errorf("ended(c-1) = %+v, %v; want the stats line", e, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.ended(ctx, d.mark(), "c-2"); err == nil {
		t.Error("ended(c-2) with a cancelled context = nil error")
	}
	close(d.done)
	if _, err := d.wait(context.Background(), d.mark(), time.Minute, "anything", func(logEntry) bool { return true }); err == nil ||
		!strings.Contains(err.Error(), "exited") {
		t.Errorf("wait after hearthd exited = %v, want an error saying so", err)
	}
}
