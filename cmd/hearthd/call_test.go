package main

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/store"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// callResult is the part of `hearthctl call --json` the tests read.
type callResult struct {
	Answered             bool   `json:"answered"`
	Busy                 bool   `json:"busy"`
	RefusedReason        string `json:"refused_reason"`
	EndReason            string `json:"end_reason"`
	ICEConnectedMs       int64  `json:"ice_connected_ms"`
	FirstVideoMs         int64  `json:"first_video_packet_ms"`
	FirstFrameMs         int64  `json:"first_frame_ms"`
	VideoFramesReceived  int    `json:"video_frames_received"`
	AudioPacketsReceived int64  `json:"audio_packets_received"`
}

// callKeys makes an organisation, a nurse (forced and signalled), Anna
// (signalled) and a stranger, and publishes the allowlist for device.
func callKeys(t *testing.T, broker, device string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	ctl(t, broker, "provision", "ca", "init", "--out", filepath.Join(dir, "org"))
	for _, p := range []struct{ name, dir string }{{"Nurse Eva", "nurse"}, {"Anna", "anna"}, {"Stranger", "stranger"}} {
		ctl(t, broker, "caller", "new", "--name", p.name, "--out", filepath.Join(dir, p.dir))
	}
	ctl(t, broker, "allow", "--org", filepath.Join(dir, "org"), "--device", device, "--caller", filepath.Join(dir, "nurse"), "--may", "both")
	ctl(t, broker, "allow", "--org", filepath.Join(dir, "org"), "--device", device, "--caller", filepath.Join(dir, "anna"), "--may", "signalled")
	return dir
}

// ctlCall runs hearthctl call --json and returns its result.
func ctlCall(t *testing.T, broker string, args ...string) callResult {
	t.Helper()
	return startCtlCall(t, broker, args...).wait(t)
}

// ctlCallRun is a hearthctl call running in the background.
type ctlCallRun struct {
	args   []string
	stderr syncBuffer
	done   chan struct{}
	out    []byte
	err    error
}

// startCtlCall starts hearthctl call --json; wait takes its result. Only
// wait may fail the test (never from another goroutine).
func startCtlCall(t *testing.T, broker string, args ...string) *ctlCallRun {
	t.Helper()
	r := &ctlCallRun{args: args, done: make(chan struct{})}
	cmd := exec.Command(filepath.Join(binDir, "hearthctl"), append([]string{"--broker", broker, "call"}, append(args, "--json")...)...)
	cmd.Stderr = &r.stderr
	go func() {
		defer close(r.done)
		r.out, r.err = cmd.Output()
	}()
	return r
}

func (r *ctlCallRun) wait(t *testing.T) callResult {
	t.Helper()
	<-r.done
	var res callResult
	if jerr := json.Unmarshal(r.out, &res); jerr != nil {
		t.Fatalf("hearthctl call %v: %v / %v\n%s\n%s", r.args, r.err, jerr, r.out, r.stderr.String())
	}
	return res
}

func TestCallOverMQTT(t *testing.T) {
	b, data, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startConnected(t, append(args, "--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"),
		"--announce", "1s", "--ring", "1s", "--name", "Mum's kitchen"))
	d.waitLog("allowlist installed", 10*time.Second)

	// The caller can see before dialling that the device answers by itself.
	avail := retainedJSON[proto.Availability](t, b.URL(), proto.AvailabilityTopic("mum-kitchen"))
	if avail.Name != "Mum's kitchen" || avail.Answer[proto.ModeForced] != proto.AnswerAuto || avail.Answer[proto.ModeSignalled] != proto.AnswerRings {
		t.Fatalf("availability = %+v", avail)
	}
	state := retainedJSON[proto.State](t, b.URL(), proto.StateTopic("mum-kitchen"))
	if state.State != proto.LifeReady {
		t.Fatalf("state = %+v", state)
	}

	res := ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Morning medicine check", "--for", "2s")
	if !res.Answered || res.VideoFramesReceived < 10 || res.AudioPacketsReceived < 20 || res.ICEConnectedMs == 0 || res.FirstFrameMs == 0 {
		t.Fatalf("forced call: %+v", res)
	}
	if res.FirstVideoMs < 1000 {
		t.Fatalf("video reached the caller %d ms after the invite, inside the 1 s announcement", res.FirstVideoMs)
	}
	d.waitLog(`msg="call: stats"`, 5*time.Second)
	if !strings.Contains(d.log.String(), `reason="Morning medicine check"`) {
		t.Fatal("the forced call's reason is not in the device's log")
	}

	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--for", "1s")
	if !res.Answered || res.VideoFramesReceived == 0 {
		t.Fatalf("signalled call: %+v", res)
	}
	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "stranger"), "--wait", "10s")
	if res.Answered || res.RefusedReason != "unknown caller" {
		t.Fatalf("stranger: %+v", res)
	}
	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--forced", "--wait", "10s")
	if res.RefusedReason != "mode not allowed for this caller" {
		t.Fatalf("family forcing a call: %+v", res)
	}

	// Bad input on the call topics: logged, reported, and the daemon goes on.
	pub(t, b.URL(), proto.CallInTopic("mum-kitchen"), []byte(`{"v":1,"type":"invite","call":"x"`))
	pub(t, b.URL(), proto.CallInTopic("mum-kitchen"), []byte(`{"v":1,"type":"hangup","call":"c-1","device":"mum-kitchen","caller":"anna","time":"2026-11-28T10:00:00Z","sig":"AAAA"}`))
	pub(t, b.URL(), proto.AllowlistTopic("mum-kitchen"), []byte(`{"v":1,"org":"x","serial":99,"callers":[],"sig":"AAAA"}`))
	d.waitLog("call message refused", 5*time.Second)
	res = ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--for", "1s")
	if !res.Answered {
		t.Fatalf("after bad input, and a forged allowlist, Anna's call: %+v", res)
	}
	d.stop()

	// Every call and refusal is in the activity log on disk.
	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acts, err := st.Activities(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range acts {
		kinds = append(kinds, a.Type+":"+a.Reason)
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"call_answered:Morning medicine check", "call_ended:Nurse Eva hung up", "call_refused:unknown caller", "call_refused:mode not allowed for this caller"} {
		if !strings.Contains(got, want) {
			t.Errorf("activity log lacks %q: %s", want, got)
		}
	}
}

// A call on the real screen under Xvfb: the caller's picture full screen.
func TestCallOnScreenUnderXvfb(t *testing.T) {
	needBinaries(t)
	display := xvfb(t, 1280, 720)
	b := mqtttest.Start(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startDaemon(t, []string{"DISPLAY=" + display, "LANG=en_US.UTF-8"},
		"--device-id", "mum-kitchen", "--broker", b.URL(), "--data", t.TempDir(), "--screen", "1280x720",
		"--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"), "--announce", "10s")
	d.waitLog("allowlist installed", 15*time.Second)

	call := startCtlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--reason", "Morning medicine check", "--for", "8s")
	d.waitLog(`msg="call: incoming"`, 10*time.Second)
	// The announcement: the calm blue notice, the reason in gold in the
	// middle, the red "camera on" dot top-left; and no picture of the
	// caller yet, although the call is answered and may be connected.
	// (The reason is shown only while announcing: not when connecting.)
	yellow, cyan := color.RGBA{191, 191, 0, 255}, color.RGBA{0, 191, 191, 255}
	var shot image.Image
	waitFor(t, 15*time.Second, "the announcement on screen", func() bool {
		shot = screenshot(t, display)
		return announcing(shot)
	})
	saveShot(t, shot, "xvfb-call-announcing.png")
	if y, c := share(shot, yellow, 40), share(shot, cyan, 40); y > 0.001 || c > 0.001 {
		t.Fatalf("the caller's picture shows during the announcement (yellow %.1f%%, cyan %.1f%%)", 100*y, 100*c)
	}
	// The test pattern's bars: 75% yellow and cyan fill much of the screen.
	waitFor(t, 30*time.Second, "the caller's picture on screen", func() bool {
		shot = screenshot(t, display)
		return share(shot, yellow, 40) > 0.05 && share(shot, cyan, 40) > 0.05
	})
	saveShot(t, shot, "xvfb-call-active.png")
	res := call.wait(t)
	if !res.Answered {
		t.Fatalf("call: %+v", res)
	}
	waitFor(t, 15*time.Second, "the carousel back", func() bool {
		s := screenshot(t, display)
		return share(s, yellow, 40) < 0.01
	})
	d.stop()
}

// announcing reports whether a screenshot shows a forced call's
// announcement: the calm blue notice, the reason in gold in the middle,
// the red "camera on" dot top-left.
func announcing(shot image.Image) bool {
	blue, gold, camRed := color.RGBA{0x15, 0x29, 0x4A, 255}, color.RGBA{0xF6, 0xDE, 0xAE, 255}, color.RGBA{0xFF, 0x45, 0x3A, 255}
	b := shot.Bounds()
	middle := image.Rect(b.Min.X, b.Min.Y+b.Dy()/3, b.Max.X, b.Max.Y-b.Dy()/3)
	corner := image.Rect(b.Min.X, b.Min.Y, b.Min.X+b.Dx()/4, b.Min.Y+b.Dy()/6)
	return share(shot, blue, 12) > 0.8 && share(region(shot, middle), gold, 16) > 0.002 &&
		share(region(shot, corner), camRed, 24) > 0.002
}

// region is the part of img inside r (a screenshot is an *image.RGBA or
// *image.NRGBA).
func region(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

func retainedJSON[T any](t *testing.T, broker, topic string) T {
	t.Helper()
	return waitRetained(t, broker, topic, "retained "+topic, func(T) bool { return true })
}

// waitRetained waits (generously) for the message retained on topic to be
// a T that ok accepts.
func waitRetained[T any](t *testing.T, broker, topic, what string, ok func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var v T
	waitFor(t, 30*time.Second, what, func() bool {
		msgs, err := c.Retained(ctx, topic, 200*time.Millisecond)
		if err != nil || msgs[topic] == nil {
			return false
		}
		var got T
		if json.Unmarshal(msgs[topic], &got) != nil {
			return false
		}
		v = got
		return ok(got)
	})
	return v
}

func pub(t *testing.T, broker, topic string, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Publish(ctx, topic, payload, false); err != nil {
		t.Fatal(err)
	}
}

// A group call through the broker: the nurse adds Anna, who joins.
func TestGroupCallOverMQTT(t *testing.T) {
	b, _, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startConnected(t, append(args, "--media", "test", "--org-key", filepath.Join(keys, "org", "org.pub"), "--announce", "500ms"))
	d.waitLog("allowlist installed", 10*time.Second)
	anna := startCtlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--join", "auto", "--wait", "20s", "--for", "2s")
	// Anna listens (subscribed) before she is added.
	waitFor(t, 15*time.Second, "Anna waiting to be added", func() bool { return strings.Contains(anna.stderr.String(), "waiting up to") })
	host := ctlCall(t, b.URL(), "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--forced", "--add", "anna", "--for", "6s")
	guest := anna.wait(t)
	if !host.Answered || !guest.Answered || guest.VideoFramesReceived < 5 {
		t.Fatalf("host %+v\nguest %+v", host, guest)
	}
	if !strings.Contains(d.log.String(), `msg="call: participant joins"`) {
		t.Fatal("no participant joined on the device")
	}
	if !strings.Contains(d.log.String(), `participants="[Nurse Eva Anna]"`) {
		t.Fatalf("the screen never showed both callers:\n%s", d.log)
	}
}
