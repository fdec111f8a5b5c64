package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/hearth-home/hearth/cmd/internal/caller"
	"github.com/hearth-home/hearth/media"
)

// The calls section: how fast a call to hearthd sets up, from the web
// caller in Chromium and from hearthctl call (Pion), each beside the same
// peers connecting inside one page or one process with nothing in between;
// and hearthd's CPU during a call beside ffmpeg encoding the same picture.
//
// Calls are forced with --announce 1ms: a forced call opens the camera and
// answers at once but sends no picture until the announcement ends, so a
// 1 ms announcement times the connection and not the notice.

const (
	callDevice   = "bench-calls"
	callAnnounce = "1ms"
	// callStay is how long hearthctl call stays once answered, in the
	// timing runs: enough for the first frame, which comes within ~0.3 s.
	callStay = 1500 * time.Millisecond
	// cpuWarm passes between the call becoming active and the CPU window:
	// the encoder's first keyframes and ICE's last checks are not the
	// steady state.
	cpuWarm = 2 * time.Second
)

func (b *bench) calls(ctx context.Context) ([]Result, error) {
	dir := filepath.Join(b.work, "calls")
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, err
	}
	org, nurse := filepath.Join(keys, "org"), filepath.Join(keys, "nurse")
	for _, args := range [][]string{
		{"provision", "ca", "init", "--out", org, "--name", "Bench Care"},
		{"caller", "new", "--name", "Nurse", "--id", "nurse", "--out", nurse},
		{"--broker", b.broker, "allow", "--org", org, "--device", callDevice, "--caller", nurse, "--may", "both"},
	} {
		if out, err := exec.CommandContext(ctx, filepath.Join(b.bin, "hearthctl"), args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("hearthctl %s: %w\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
	b.log.Info("calls: forced calls with --announce " + callAnnounce +
		" (the device gates its picture until the announcement ends; 1 ms times the connection, not the notice)")
	d, err := startCallDaemon(b.ps, b.bin, b.broker, filepath.Join(dir, "data"), filepath.Join(org, "org.pub"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.stop(10 * time.Second) }()
	if _, err := d.wait(ctx, 0, 30*time.Second, "allowlist installed", func(e logEntry) bool {
		return e.Msg == "allowlist installed"
	}); err != nil {
		return nil, err
	}

	var rows []Result
	var errs []error
	n := b.p.callReps

	// 1. Chromium: the web caller, then two peer connections in one page.
	br, err := b.browserCalls(ctx, d, nurse, n)
	if err != nil {
		errs = append(errs, fmt.Errorf("browser: %w", err))
	} else {
		const anchor = "Chromium, pc1+pc2 in one page"
		rows = append(rows,
			newResult("calls.browser_ice_connected", ms(median(br.hearth.ice)), "ms", anchor, ms(median(br.loop.ice)), goal{MaxRatio: 1.3}),
			newResult("calls.browser_first_frame", ms(median(br.hearth.frame)), "ms", anchor, ms(median(br.loop.frame)), goal{Max: 150}),
		)
	}

	// 2. Pion: hearthctl call, then two Pion peers in one process.
	gr, err := b.goCalls(ctx, d, nurse, n)
	if err != nil {
		errs = append(errs, fmt.Errorf("hearthctl call: %w", err))
	} else {
		const anchor = "Pion, 2 peers in one process"
		rows = append(rows,
			newResult("calls.hearthctl_connected", ms(median(gr.hearth.ice)), "ms", anchor, ms(median(gr.pair.ice)), goal{MaxRatio: 1.3}),
			newResult("calls.hearthctl_first_frame", ms(median(gr.hearth.frame)), "ms", anchor, ms(median(gr.pair.frame)), goal{Max: 150}),
			newResult("calls.hearthctl_answer", ms(median(gr.answer)), "ms", "", 0, goal{}),
			newResult("calls.hearthctl_first_video_packet", ms(median(gr.firstPacket)), "ms", "", 0, goal{}),
		)
	}

	// 3. The device's CPU during a call, beside ffmpeg.
	cr, err := b.callCPU(ctx, d, nurse)
	if err != nil {
		errs = append(errs, fmt.Errorf("cpu: %w", err))
	} else {
		rows = append(rows,
			newResult("calls.device_cpu_640x480@15", 100*cr.device, "% of a core",
				"ffmpeg libvpx, encode only", 100*cr.ffmpeg, goal{Max: 25, MaxRatio: 1.2}),
			newResult("calls.device_cpu_640x480@15_codecs", 100*cr.device, "% of a core",
				"ffmpeg, the call's codecs", 100*cr.ffmpegCodecs, goal{}),
			newResult("calls.caller_cpu_640x480@15", 100*cr.caller, "% of a core", "", 0, goal{}),
		)
		b.log.Info("calls: note: hearthd also makes the test picture and tone, encodes Opus, and decodes the caller's VP8 "+
			"and Opus; ffmpeg only makes and encodes the picture", "ffmpeg", strings.Join(cr.ffmpegArgs, " "))
		b.log.Info("calls: note: the second ffmpeg does all the call's codec work too (picture and tone encoded, "+
			"the caller's VP8 and Opus decoded), but not RTP, SRTP, ICE or hearthd's own work", "ffmpeg", strings.Join(cr.ffmpegCodecsArgs, " "))
	}
	return rows, errors.Join(errs...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// setupTimes are one side's call set-up times, one entry per call.
type setupTimes struct{ ice, frame []time.Duration }

func (s *setupTimes) add(ice, frame time.Duration) {
	s.ice = append(s.ice, ice)
	s.frame = append(s.frame, frame)
}

// logEntry is a line of hearthd's JSON log, with the fields calls need.
type logEntry struct {
	Time               time.Time `json:"time"`
	Msg                string    `json:"msg"`
	Call               string    `json:"call"`
	Reason             string    `json:"reason"`
	VideoFramesDecoded int       `json:"video_frames_decoded"`
	AudioPackets       int       `json:"audio_packets"`
	ICEConnectedMs     int64     `json:"ice_connected_ms"`
	FirstFrameMs       int64     `json:"first_frame_ms"`
	InviteToConnected  int64     `json:"invite_to_connected_ms"`
}

// parseLogEntry reads a JSON log line; ok is false for anything else
// (hearthd's media libraries print plain lines too).
func parseLogEntry(line string) (logEntry, bool) {
	var e logEntry
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Msg == "" {
		return logEntry{}, false
	}
	return e, true
}

// callDaemon is a headless hearthd that takes calls with test media, its
// log kept for the bench to wait on.
type callDaemon struct {
	*proc
	mu      gosync.Mutex
	entries []logEntry
	changed chan struct{} // closed and replaced on every entry
}

func startCallDaemon(ps *procs, bin, broker, data, orgPub string) (*callDaemon, error) {
	cmd := exec.Command(filepath.Join(bin, "hearthd"), "--headless", "--device-id", callDevice, "--broker", broker,
		"--data", data, "--media", "test", "--org-key", orgPub, "--announce", callAnnounce, "--log-json")
	cmd.Env = envWith("LANG=en_US.UTF-8")
	d := &callDaemon{changed: make(chan struct{})}
	p, err := ps.start("hearthd "+callDevice, cmd, d.onLine)
	if err != nil {
		return nil, err
	}
	d.proc = p
	return d, nil
}

func (d *callDaemon) onLine(line string) {
	e, ok := parseLogEntry(line)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries = append(d.entries, e)
	close(d.changed)
	d.changed = make(chan struct{})
}

// mark is where the log is now: wait from here sees only later lines.
func (d *callDaemon) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}

// wait returns the first entry from index from on that matches.
func (d *callDaemon) wait(ctx context.Context, from int, within time.Duration, what string, match func(logEntry) bool) (logEntry, error) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		d.mu.Lock()
		for ; from < len(d.entries); from++ {
			if e := d.entries[from]; match(e) {
				d.mu.Unlock()
				return e, nil
			}
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-d.done:
			return logEntry{}, fmt.Errorf("hearthd exited while waiting for %s: %v\n%s", what, d.err, d.tail)
		case <-timer.C:
			return logEntry{}, fmt.Errorf("timed out after %v waiting for hearthd's %s; its log:\n%s", within, what, d.tail)
		case <-ctx.Done():
			return logEntry{}, ctx.Err()
		}
	}
}

// find returns the entry with msg for call id from index from on, without
// waiting.
func (d *callDaemon) find(from int, msg, id string) (logEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.entries[min(from, len(d.entries)):] {
		if e.Msg == msg && e.Call == id {
			return e, true
		}
	}
	return logEntry{}, false
}

// cameraOpen is how long the device took from taking the invite to having
// camera and microphone open (-1 if it did not log both).
func (d *callDaemon) cameraOpen(from int, id string) time.Duration {
	in, ok1 := d.find(from, "call: incoming", id)
	cam, ok2 := d.find(from, "call: camera and microphone open", id)
	if !ok1 || !ok2 {
		return -1
	}
	return cam.Time.Sub(in.Time)
}

// ended waits for the device's stats line of call id: then it is ready
// for the next call.
func (d *callDaemon) ended(ctx context.Context, from int, id string) (logEntry, error) {
	return d.wait(ctx, from, 15*time.Second, "stats of call "+id, func(e logEntry) bool {
		return e.Msg == "call: stats" && e.Call == id
	})
}

// goRuns are the hearthctl call timings and the Pion pair's.
type goRuns struct {
	hearth, pair        setupTimes
	answer, firstPacket []time.Duration
}

// goCalls places n forced calls with hearthctl call, one at a time, then
// connects n Pion pairs in this process.
func (b *bench) goCalls(ctx context.Context, d *callDaemon, nurse string, n int) (goRuns, error) {
	var r goRuns
	for i := range n {
		from := d.mark()
		res, err := hearthctlCall(ctx, b.ps, b.bin, b.broker, nurse, callStay)
		if err != nil {
			return r, err
		}
		if err := res.usable(); err != nil {
			return r, fmt.Errorf("call %d: %w", i+1, err)
		}
		dev, err := d.ended(ctx, from, res.Call)
		if err != nil {
			return r, err
		}
		msd := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
		r.hearth.add(msd(res.ICEConnectedMs), msd(res.FirstFrameMs))
		r.answer = append(r.answer, msd(res.AnswerMs))
		r.firstPacket = append(r.firstPacket, msd(res.FirstVideoMs))
		b.log.Info("calls: hearthctl call", "n", i+1, "offer_to_invite_ms", res.OfferToInviteMs, "answer_ms", res.AnswerMs, "connected_ms", res.ICEConnectedMs,
			"first_video_packet_ms", res.FirstVideoMs, "first_frame_ms", res.FirstFrameMs,
			"frames", res.VideoFramesReceived, "device_ice_ms", dev.ICEConnectedMs, "device_first_frame_ms", dev.FirstFrameMs,
			"device_frames", dev.VideoFramesDecoded, "device_camera_open_ms", d.cameraOpen(from, res.Call).Milliseconds())
	}
	for i := range n {
		pr, err := pionPair(ctx, b.log)
		if err != nil {
			return r, fmt.Errorf("pion pair %d: %w", i+1, err)
		}
		r.pair.add(pr.connected, pr.firstFrame)
		b.log.Info("calls: pion pair", "n", i+1, "connected_ms", pr.connected.Milliseconds(),
			"first_video_packet_ms", pr.firstPacket.Milliseconds(), "first_frame_ms", pr.firstFrame.Milliseconds(),
			"create_offer_to_start_ms", pr.offer.Milliseconds())
	}
	return r, nil
}

// callResult is hearthctl call --json's output.
type callResult struct{ caller.Result }

// parseCallResult reads hearthctl call --json's output.
func parseCallResult(b []byte) (callResult, error) {
	var r callResult
	if err := json.Unmarshal(bytes.TrimSpace(b), &r); err != nil {
		return r, fmt.Errorf("hearthctl call --json: %w: %q", err, truncate(string(b), 200))
	}
	return r, nil
}

// usable says why a call's result cannot be timed, or nil.
func (r callResult) usable() error {
	switch {
	case r.RefusedReason != "":
		return fmt.Errorf("refused: %s", r.RefusedReason)
	case r.Busy:
		return errors.New("busy")
	case !r.Answered:
		return fmt.Errorf("not answered (%s)", r.EndReason)
	case r.ICEConnectedMs <= 0 || r.FirstFrameMs <= 0:
		return fmt.Errorf("answered but connected at %d ms and first frame at %d ms (0: never); %d frames",
			r.ICEConnectedMs, r.FirstFrameMs, r.VideoFramesReceived)
	}
	return nil
}

// hearthctlCall places one forced call with hearthctl call and waits for
// it to end (stay after the answer).
func hearthctlCall(ctx context.Context, ps *procs, bin, broker, nurse string, stay time.Duration) (callResult, error) {
	p, out, err := startHearthctlCall(ps, bin, broker, nurse, stay)
	if err != nil {
		return callResult{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.stop(time.Second)
		return callResult{}, ctx.Err()
	case <-time.After(stay + 60*time.Second):
		_ = p.stop(time.Second)
		return callResult{}, fmt.Errorf("hearthctl call did not end\n%s", p.tail)
	}
	if p.err != nil {
		return callResult{}, fmt.Errorf("hearthctl call: %v\n%s", p.err, p.tail)
	}
	return parseCallResult(out.Bytes())
}

// startHearthctlCall starts hearthctl call; its JSON lands in the returned
// buffer once the process is done.
func startHearthctlCall(ps *procs, bin, broker, nurse string, stay time.Duration) (*proc, *bytes.Buffer, error) {
	cmd := exec.Command(filepath.Join(bin, "hearthctl"), "--broker", broker, "call", callDevice, "--caller", nurse,
		"--forced", "--reason", "hearthbench", "--for", stay.String(), "--wait", "20s", "--json")
	out := &bytes.Buffer{}
	cmd.Stdout = out
	p, err := ps.start("hearthctl call", cmd, nil)
	return p, out, err
}

// cpuRun is the calls' CPU, each as a share of one core.
type cpuRun struct {
	device, caller, ffmpeg, ffmpegCodecs float64
	ffmpegArgs, ffmpegCodecsArgs         []string
}

// callCPU measures hearthd's CPU (utime+stime) over callCPUFor of an
// active call from hearthctl call, then ffmpeg's over as long.
func (b *bench) callCPU(ctx context.Context, d *callDaemon, nurse string) (cpuRun, error) {
	var r cpuRun
	from := d.mark()
	stay := cpuWarm + b.p.callCPUFor + 2*time.Second
	p, out, err := startHearthctlCall(b.ps, b.bin, b.broker, nurse, stay)
	if err != nil {
		return r, err
	}
	defer func() { _ = p.stop(5 * time.Second) }()
	if _, err := d.wait(ctx, from, 30*time.Second, "an answered call", func(e logEntry) bool { return e.Msg == "call: answered" }); err != nil {
		return r, err
	}
	if err := sleepUntil(ctx, time.Now().Add(cpuWarm)); err != nil {
		return r, err
	}
	sample := func() (dev, call time.Duration, at time.Time, err error) {
		at = time.Now()
		if dev, _, err = sysProc.treeCPU(d.pid()); err != nil {
			return
		}
		call, _, err = sysProc.treeCPU(p.pid())
		return
	}
	d0, c0, t0, err := sample()
	if err != nil {
		return r, err
	}
	if err := sleepUntil(ctx, t0.Add(b.p.callCPUFor)); err != nil {
		return r, err
	}
	d1, c1, t1, err := sample()
	if err != nil {
		return r, err
	}
	r.device, r.caller = cpuShare(d1-d0, t1.Sub(t0)), cpuShare(c1-c0, t1.Sub(t0))
	select {
	case <-p.done:
	case <-time.After(stay + 30*time.Second):
		return r, fmt.Errorf("hearthctl call did not end\n%s", p.tail)
	case <-ctx.Done():
		return r, ctx.Err()
	}
	res, err := parseCallResult(out.Bytes())
	if err != nil {
		return r, err
	}
	if err := res.usable(); err != nil {
		return r, fmt.Errorf("the CPU call: %w", err)
	}
	dev, err := d.ended(ctx, from, res.Call)
	if err != nil {
		return r, err
	}
	b.log.Info("calls: CPU call", "device_cpu_pct", fmt.Sprintf("%.1f", 100*r.device), "caller_cpu_pct", fmt.Sprintf("%.1f", 100*r.caller),
		"over", t1.Sub(t0).Round(time.Millisecond), "frames_to_caller", res.VideoFramesReceived, "frames_decoded_by_device", dev.VideoFramesDecoded,
		"audio_packets_at_device", dev.AudioPackets)
	if res.VideoFramesReceived == 0 || dev.VideoFramesDecoded == 0 {
		return r, fmt.Errorf("no picture flowed during the CPU call (caller got %d frames, device decoded %d)",
			res.VideoFramesReceived, dev.VideoFramesDecoded)
	}

	r.ffmpegArgs = ffmpegArgs(b.p.callCPUFor)
	r.ffmpeg, err = ffmpegCPU(ctx, r.ffmpegArgs)
	if err != nil {
		return r, err
	}
	b.log.Info("calls: ffmpeg", "cpu_pct", fmt.Sprintf("%.1f", 100*r.ffmpeg))

	callerFile := filepath.Join(b.work, "calls", "caller.webm")
	if out, err := exec.CommandContext(ctx, "ffmpeg", callerStreamArgs(b.p.callCPUFor+2*time.Second, callerFile)...).CombinedOutput(); err != nil {
		return r, fmt.Errorf("ffmpeg, the caller's stream: %w\n%s", err, truncate(string(out), 2000))
	}
	r.ffmpegCodecsArgs = ffmpegCodecsArgs(b.p.callCPUFor, callerFile)
	r.ffmpegCodecs, err = ffmpegCPU(ctx, r.ffmpegCodecsArgs)
	if err != nil {
		return r, err
	}
	b.log.Info("calls: ffmpeg, all the call's codecs", "cpu_pct", fmt.Sprintf("%.1f", 100*r.ffmpegCodecs))
	return r, nil
}

// cpuShare is CPU time over wall time: 1 is one core busy.
func cpuShare(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds()
}

// ffmpegArgs encode the test picture as media/ does (capture.go,
// vp8speed.go): 640x480 at 15 fps, VP8 CBR at 500 kbit/s, libvpx realtime
// at a fixed cpu-used of -8, a keyframe at least every 3 s, error
// resilient, no lag, one thread (libvpx's default, which mediadevices
// keeps). The picture is the same kind as media's test camera: colour bars
// with a white block moving one block width (1/16 of the width) a frame,
// so every frame differs. -re keeps it to real time, as a camera would.
func ffmpegArgs(d time.Duration) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", testPicture(),
		"-t", seconds(d)}
	return append(append(args, vp8Encoder()...), "-f", "null", "-")
}

// ffmpegCodecsArgs do in one ffmpeg, in real time, the codec work that
// hearthd does in a call, not only the picture's: ffmpegArgs' picture and
// VP8 encoder; the test tone (440 Hz, 48 kHz mono) encoded with libopus at
// media's settings (32 kbit/s, VoIP, 20 ms); and the caller's VP8 (libvpx)
// and Opus decoded from callerFile (callerStreamArgs). What it leaves out
// is the call itself: RTP, SRTP, ICE and RTCP, the jitter buffer, and
// hearthd's own goroutines and garbage.
func ffmpegCodecsArgs(d time.Duration, callerFile string) []string {
	t := seconds(d)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", testPicture(),
		"-re", "-f", "lavfi", "-i", testTone,
		"-re", "-c:v", "libvpx", "-c:a", "libopus", "-i", callerFile,
		"-t", t, "-map", "0:v"}
	args = append(args, vp8Encoder()...)
	args = append(args, "-f", "null", "-", "-t", t, "-map", "1:a")
	args = append(args, opusEncoder()...)
	return append(args, "-f", "null", "-", "-t", t, "-map", "2:v", "-map", "2:a", "-f", "null", "-")
}

// callerStreamArgs make callerFile: a d long WebM like the stream that
// hearthctl call sends (the same test picture and tone, encoded at media's
// settings), as fast as ffmpeg can, for ffmpegCodecsArgs to decode.
func callerStreamArgs(d time.Duration, callerFile string) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", testPicture(), "-f", "lavfi", "-i", testTone,
		"-t", seconds(d), "-map", "0:v"}
	args = append(args, vp8Encoder()...)
	args = append(args, "-map", "1:a")
	args = append(args, opusEncoder()...)
	return append(args, "-f", "webm", callerFile)
}

// testTone is media's test microphone: a 440 Hz sine at 48 kHz.
const testTone = "sine=frequency=440:sample_rate=48000"

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// testPicture is a lavfi source of the same kind as media's test camera.
func testPicture() string {
	const w, h, fps = media.DefaultWidth, media.DefaultHeight, media.DefaultFPS
	bw, bh := w/16, h/8
	return fmt.Sprintf("smptebars=size=%dx%d:rate=%d[b];color=white:size=%dx%d:rate=%d[w];"+
		"[b][w]overlay=x='mod(n*%d\\,%d)':y=%d:shortest=1", w, h, fps, bw, bh, fps, bw, w-bw, h/2-bh/2)
}

// vp8Encoder is libvpx at media's settings (see ffmpegArgs).
func vp8Encoder() []string {
	const keyframeEvery = 3 * media.DefaultFPS // media.CaptureOptions.KeyframeInterval's default, 3 s
	rate := fmt.Sprintf("%dk", media.DefaultVideoBitrate/1000)
	return []string{"-c:v", "libvpx", "-deadline", "realtime",
		"-cpu-used", strconv.Itoa(-media.DefaultVP8Speed), "-b:v", rate, "-minrate", rate, "-maxrate", rate,
		"-g", strconv.Itoa(keyframeEvery), "-lag-in-frames", "0", "-error-resilient", "1", "-threads", "1"}
}

// opusEncoder is libopus as mediadevices sets it up for media: mono,
// media's bit rate, the VoIP application, 20 ms frames.
func opusEncoder() []string {
	return []string{"-c:a", "libopus", "-ac", "1", "-b:a", fmt.Sprintf("%dk", media.DefaultAudioBitrate/1000),
		"-application", "voip", "-frame_duration", "20"}
}

// ffmpegCPU runs ffmpeg and returns its CPU time (user+system, from the
// kernel's accounting at exit) over its wall time.
func ffmpegCPU(ctx context.Context, args []string) (float64, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("ffmpeg: %w\n%s", err, truncate(out.String(), 2000))
	}
	wall := time.Since(start)
	st := cmd.ProcessState
	return cpuShare(st.UserTime()+st.SystemTime(), wall), nil
}
