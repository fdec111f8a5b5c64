package main

// Real Chromium as the caller: hearthctl web's page, driven with chromedp,
// against a real Mosquitto (MQTT over WebSockets) and, for calls, the real
// hearthd. Each test runs in a network namespace of its own (unshare -n,
// only lo up), so neither Chromium nor anything else here can reach beyond
// loopback; the test re-executes itself there.
//
// Needs: chromium (Debian's /usr/bin/chromium, or $HEARTH_CHROMIUM),
// mosquitto, unshare and ip, and root (or the right to make a namespace).
// Skips without them unless HEARTH_REQUIRE_CHROMIUM is set.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-home/hearth/cmd/internal/chromium"
	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// The page signs what Go verifies: an invite and its trickled candidates,
// published from the browser to a device id with no daemon behind it, decode
// with proto.DecodeCallIn and verify against the caller's public key. Also
// the device list: a retained allowlist, availability and state make the
// device show as online and what it will do.
func TestBrowserSignaturesVerifyInGo(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	keys := t.TempDir()
	org := filepath.Join(keys, "org")
	eva := filepath.Join(keys, "eva")
	ctl(t, b.URL(), "provision", "ca", "init", "--out", org, "--name", "North Care")
	ctl(t, b.URL(), "caller", "new", "--name", "Nurse Eva", "--id", "nurse-eva", "--out", eva)
	ctl(t, b.URL(), "allow", "--org", org, "--device", "nobody-home", "--caller", eva, "--may", "both")
	caller, err := provisioning.LoadCaller(eva)
	if err != nil {
		t.Fatal(err)
	}

	// What a device would hold retained: how it answers, and that it is up.
	publishJSON(t, b.URL(), proto.AvailabilityTopic("nobody-home"), proto.Availability{
		V: proto.Version, Device: "nobody-home", Name: "Mum's kitchen", Time: time.Now(), State: "available",
		Answer: map[proto.CallMode]proto.Answer{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerRings},
		Camera: true, Microphone: true,
	})
	publishJSON(t, b.URL(), proto.StateTopic("nobody-home"), proto.State{V: proto.Version, Device: "nobody-home", State: proto.LifeReady})

	in := subscribe(t, b.URL(), proto.CallInTopic("nobody-home"))
	page := openPage(t, newBrowser(t), startWeb(t, b, eva))

	dev := waitDevice(t, page, "nobody-home", func(d pageDevice) bool { return d.Online && d.Name == "Mum's kitchen" })
	if dev.Answers["forced"] != "auto" || dev.Label != "Will ring first" {
		t.Errorf("device on the page = %+v, want forced calls answered by itself and a ringing call by default", dev)
	}
	// The list is drawn after the page learns of the device.
	waitTrueB(t, page, `!!document.querySelector('[data-device="nobody-home"]')`)
	if text := eval[string](t, page, `document.querySelector('[data-device="nobody-home"]').innerText`); !strings.Contains(text, "Online") || !strings.Contains(text, "A call rings first") {
		t.Errorf("device card reads %q, want Online and A call rings first", text)
	}

	pageShot(t, page, "devices")

	// Not only ASCII: the signing bytes are UTF-8 on both sides.
	const reason = "Morgonmedicin – kontroll ✓ 🌞"
	res := eval[map[string]string](t, page, `hearth.call("nobody-home", {forced: true, reason: "`+reason+`", limitS: 900})`)
	callID := res["call"]
	pageShot(t, page, "calling")

	// The invite comes first, then the browser's candidates.
	msg := next(t, in, 10*time.Second)
	ci, err := proto.DecodeCallIn("nobody-home", msg)
	if err != nil || ci.Invite == nil {
		t.Fatalf("first message on call/in = %v, %s; want an invite", err, msg)
	}
	inv := *ci.Invite
	if inv.Call != callID || inv.Caller != "nurse-eva" || inv.CallerName != "Nurse Eva" || inv.Mode != proto.ModeForced ||
		inv.Reason != reason || inv.LimitS != 900 || inv.Join != "" || inv.Type != proto.SignalInvite {
		t.Errorf("invite = %+v, want call %s from nurse-eva, forced, with its reason and 900 s", inv, callID)
	}
	if !ed25519.Verify(caller.Public(), inv.SigningBytes(), inv.Sig) {
		t.Errorf("the invite's signature does not verify; Go signs:\n%s", inv.SigningBytes())
	}
	if got := inv.Expires.Sub(inv.Created); got != 2*time.Minute {
		t.Errorf("invite lives %v, want 2m", got)
	}
	if d := time.Since(inv.Created); d < -2*time.Second || d > 30*time.Second {
		t.Errorf("invite created %v, %v from now", inv.Created, d)
	}
	// The strings on the wire are the ones Go signs (no fraction).
	var raw struct{ Created, Expires string }
	_ = json.Unmarshal(msg, &raw)
	if raw.Created != inv.Created.UTC().Format(time.RFC3339Nano) || raw.Expires != inv.Expires.UTC().Format(time.RFC3339Nano) {
		t.Errorf("invite times %q %q differ from Go's re-formatting; signatures would fail", raw.Created, raw.Expires)
	}
	if !strings.HasPrefix(inv.Offer, "v=0") || !strings.Contains(inv.Offer, "m=video") || !strings.Contains(inv.Offer, "m=audio") {
		t.Errorf("offer is not an SDP offer with audio and video:\n%s", inv.Offer)
	}

	sig := nextSignal(t, in, "nobody-home")
	if sig.Type != proto.SignalCandidate || sig.Call != callID || sig.Caller != "nurse-eva" {
		t.Errorf("second message = %+v, want a candidate for %s", sig, callID)
	}
	if !ed25519.Verify(caller.Public(), sig.SigningBytes(), sig.Sig) {
		t.Errorf("the candidate's signature does not verify; Go signs:\n%s", sig.SigningBytes())
	}
	if c, err := sig.Candidate(); err != nil || !strings.HasPrefix(c.Candidate, "candidate:") || c.SDPMid == nil {
		t.Errorf("candidate data %q = %+v, %v; want an RTCIceCandidateInit", sig.Data, c, err)
	}

	// A carer's control, then the hangup: signed the same way.
	eval[any](t, page, `hearth.control("camera_off")`)
	eval[any](t, page, `hearth.hangup()`)
	var seen []string
	for _, want := range []string{proto.SignalControl, proto.SignalHangup} {
		for {
			s := nextSignal(t, in, "nobody-home")
			if !ed25519.Verify(caller.Public(), s.SigningBytes(), s.Sig) {
				t.Errorf("%s signal does not verify", s.Type)
			}
			seen = append(seen, s.Type)
			if s.Type == want {
				if want == proto.SignalControl && s.Data != proto.ControlCameraOff {
					t.Errorf("control data = %q, want camera_off", s.Data)
				}
				break
			}
			if s.Type != proto.SignalCandidate {
				t.Fatalf("signals %v: want candidates, then control, then hangup", seen)
			}
		}
	}
	if st := pageStatsOf(t, page); st.State != "ended" || st.Reason != "hung up" {
		t.Errorf("after hangup the page says %+v, want ended, hung up", st)
	}
	pageShot(t, page, "ended")
}

// A whole call from the browser to the real hearthd: a forced call connects
// by itself, picture and sound flow both ways, a second caller meanwhile
// gets busy, and a caller the organisation has not allowed is refused.
//
// It reads hearthd's log lines `allowlist installed`, `msg="call:
// answered"`, `msg="call: ended"` and `msg="call: stats"
// video_frames_decoded=N audio_packets=N`.
func TestBrowserCallsDevice(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b, _, args := headlessSetup(t)
	org, eva, anna, stranger := browserKeys(t, b.URL(), "forced")

	d := startConnected(t, append(args, "--org-key", filepath.Join(org, provisioning.OrgPubFile), "--media", "test",
		"--announce", "1s", "--name", "Mum's kitchen"))
	d.waitLog("allowlist installed", 10*time.Second)
	browser := newBrowser(t)
	evaPage := openPage(t, browser, startWeb(t, b, eva))
	annaPage := openPage(t, browser, startWeb(t, b, anna))
	strangerPage := openPage(t, browser, startWeb(t, b, stranger))

	// Eva may place forced calls only: the device answers those by itself.
	dev := waitDevice(t, evaPage, "mum-kitchen", func(d pageDevice) bool { return d.Online && d.Answer == "auto" })
	if dev.Label != "Answers by itself" || dev.Name != "Mum's kitchen" {
		t.Errorf("device on Eva's page = %+v, want it to say it answers by itself", dev)
	}

	eval[map[string]string](t, evaPage, `hearth.call("mum-kitchen", {forced: true, reason: "Morning medicine check"})`)
	st := waitStats(t, evaPage, 20*time.Second, "the call active", func(s pageStats) bool { return s.State == "active" || isEnd(s.State) })
	if st.State != "active" {
		t.Fatalf("Eva's call = %+v, want active", st)
	}
	d.waitLog(`msg="call: answered"`, 5*time.Second)
	st = waitStats(t, evaPage, 15*time.Second, "picture and sound in the browser", func(s pageStats) bool {
		return s.FramesDecoded > 10 && s.AudioPacketsReceived > 0 || isEnd(s.State)
	})
	pageShot(t, evaPage, "in-call")
	if st.FramesDecoded <= 10 || st.AudioPacketsReceived == 0 {
		t.Fatalf("browser stats = %+v, want more than 10 decoded frames and audio packets", st)
	}
	t.Logf("call set-up from the invite: ICE connected %v ms, first frame %v ms", deref(st.IceConnectedMs), deref(st.FirstFrameMs))
	// A forced call is announced before any picture leaves the device.
	if st.FirstFrameMs == nil || *st.FirstFrameMs < 1000 {
		t.Errorf("the device's picture reached the browser %v ms after the invite, inside the 1 s announcement", deref(st.FirstFrameMs))
	}

	// A second caller during the call is told the device is busy.
	eval[map[string]string](t, annaPage, `hearth.call("mum-kitchen", {})`)
	if s := waitStats(t, annaPage, 10*time.Second, "busy", func(s pageStats) bool { return isEnd(s.State) }); s.State != "busy" {
		t.Errorf("Anna's call during Eva's = %+v, want busy", s)
	}

	// Let the device decode a little more, then hang up.
	time.Sleep(time.Second)
	eval[any](t, evaPage, `hearth.hangup()`)
	d.waitLog(`msg="call: ended"`, 10*time.Second)
	d.waitLog(`msg="call: stats"`, 10*time.Second)
	m := regexp.MustCompile(`msg="call: stats".*video_frames_decoded=(\d+)`).FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatalf("no video_frames_decoded in the device's call stats")
	}
	if n, _ := strconv.Atoi(m[1]); n <= 10 {
		t.Errorf("device decoded %d video frames from the browser, want more than 10", n)
	} else {
		t.Logf("device decoded %d video frames from the browser", n)
	}
	if m := regexp.MustCompile(`msg="call: stats".*audio_packets=(\d+)`).FindStringSubmatch(d.log.String()); m == nil || m[1] == "0" {
		t.Errorf("device call stats without audio packets: %v", m)
	}

	// A caller with a key but not on the allowlist is refused, with the reason.
	eval[map[string]string](t, strangerPage, `hearth.call("mum-kitchen", {mode: "signalled"})`)
	s := waitStats(t, strangerPage, 10*time.Second, "a refusal", func(s pageStats) bool { return isEnd(s.State) })
	if s.State != "refused" || !strings.Contains(s.Reason, "unknown caller") {
		t.Errorf("stranger's call = %+v, want refused: unknown caller", s)
	}
}

// A group call from two browsers through the real hearthd: the nurse's
// forced call connects, she adds Anna from the page, Anna's page shows who
// asks her to join which screen, and Anna joins with a call of her own.
// Both pages then get the device's picture; Anna leaving does not end the
// nurse's call.
//
// It also reads the device's `join` reply and `msg="call: participant
// joins"`.
func TestBrowserGroupCall(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b, _, args := headlessSetup(t)
	org, eva, anna, _ := browserKeys(t, b.URL(), "both")

	d := startConnected(t, append(args, "--org-key", filepath.Join(org, provisioning.OrgPubFile), "--media", "test",
		"--announce", "1s", "--name", "Mum's kitchen"))
	d.waitLog("allowlist installed", 10*time.Second)
	browser := newBrowser(t)
	evaPage := openPage(t, browser, startWeb(t, b, eva))
	annaPage := openPage(t, browser, startWeb(t, b, anna))
	waitDevice(t, evaPage, "mum-kitchen", func(d pageDevice) bool { return d.Online && d.Answers["forced"] == "auto" })
	waitDevice(t, annaPage, "mum-kitchen", func(d pageDevice) bool { return d.Online && d.Name == "Mum's kitchen" })

	// Adding is for a call in progress.
	if err := evalErr(evaPage, `hearth.add("anna")`); err == nil {
		t.Errorf("hearth.add outside a call succeeded, want an error")
	}

	eval[map[string]string](t, evaPage, `hearth.call("mum-kitchen", {forced: true, reason: "Morning medicine check"})`)
	host := waitStats(t, evaPage, 20*time.Second, "the nurse's call active", func(s pageStats) bool {
		return s.State == "active" && len(s.Participants) == 1 || isEnd(s.State)
	})
	if host.State != "active" || host.Participants[0] != "nurse-eva" {
		t.Fatalf("the nurse's call = %+v, want active with herself as the one participant", host)
	}
	// The host sees whom she may add: the other callers on the allowlist.
	waitFor(t, 5*time.Second, "Add someone on the nurse's page", func() bool {
		return eval[bool](t, evaPage, `!document.getElementById("add").hidden`)
	})
	if got := eval[[]string](t, evaPage, `[...document.querySelectorAll("#add-list button")].map(b => b.textContent)`); len(got) != 1 || got[0] != "Anna" {
		t.Errorf("Add someone lists %q, want only Anna (not the nurse herself)", got)
	}
	if err := evalErr(evaPage, `hearth.add("stranger")`); err == nil {
		t.Errorf("adding a caller who is not on the allowlist succeeded, want an error")
	}

	eval[any](t, evaPage, `hearth.add("anna")`)
	if got := eval[string](t, evaPage, `document.getElementById("group-status").textContent`); !strings.Contains(got, "Asked Anna to join") {
		t.Errorf("the nurse's page says %q after adding Anna, want Asked Anna to join", got)
	}

	// Anna's page asks her, naming who and which screen.
	var pj *pageJoin
	waitFor(t, 10*time.Second, "the join prompt on Anna's page", func() bool {
		pj = eval[*pageJoin](t, annaPage, `hearth.pendingJoin()`)
		return pj != nil
	})
	if pj.Call != host.Call || pj.Device != "mum-kitchen" || pj.From != "Nurse Eva" {
		t.Errorf("pending join = %+v, want the nurse's call %s on mum-kitchen", pj, host.Call)
	}
	const want = "Nurse Eva asks you to join the call with Mum's kitchen"
	if got := eval[string](t, annaPage, `document.getElementById("join").hidden ? "" : document.getElementById("join").innerText`); !strings.Contains(got, want) ||
		!strings.Contains(got, "Join") || !strings.Contains(got, "Not now") {
		t.Errorf("Anna's page shows %q, want %q with Join and Not now", got, want)
	}
	pageShot(t, annaPage, "join-prompt")

	res := eval[map[string]string](t, annaPage, `hearth.join()`)
	if res["call"] == "" || res["call"] == host.Call {
		t.Errorf("hearth.join() = %v, want a call id of Anna's own", res)
	}
	if pj := eval[*pageJoin](t, annaPage, `hearth.pendingJoin()`); pj != nil {
		t.Errorf("pending join after joining = %+v, want none", pj)
	}
	guest := waitStats(t, annaPage, 20*time.Second, "Anna's picture from the device", func(s pageStats) bool {
		return s.State == "active" && s.FramesDecoded > 10 || isEnd(s.State)
	})
	if guest.State != "active" || guest.Joined != host.Call || guest.FramesDecoded <= 10 {
		t.Fatalf("Anna's call = %+v, want active, joined to %s, with more than 10 frames", guest, host.Call)
	}
	d.waitLog(`msg="call: participant joins"`, 5*time.Second)
	host = waitStats(t, evaPage, 10*time.Second, "both in the nurse's call", func(s pageStats) bool {
		return len(s.Participants) == 2 && s.FramesDecoded > 10 || isEnd(s.State)
	})
	if host.State != "active" || strings.Join(host.Participants, ",") != "nurse-eva,anna" || host.FramesDecoded <= 10 {
		t.Fatalf("the nurse's call with Anna = %+v, want active, both in it, more than 10 frames", host)
	}
	if got := eval[string](t, evaPage, `document.getElementById("participants").textContent`); !strings.Contains(got, "Nurse Eva (you)") || !strings.Contains(got, "Anna") {
		t.Errorf("the nurse's page lists %q, want herself and Anna", got)
	}
	if got := eval[string](t, annaPage, `document.getElementById("participants").textContent`); !strings.Contains(got, "Nurse Eva") || !strings.Contains(got, "Anna (you)") {
		t.Errorf("Anna's page lists %q, want the nurse and herself", got)
	}
	if eval[bool](t, annaPage, `!document.getElementById("add").hidden`) {
		t.Errorf("Anna's page offers Add someone; only the one who started the call may add")
	}
	pageShot(t, evaPage, "group")

	// Anna leaves; the nurse stays, with the picture still coming. The
	// device may hear of it first from her hangup signal or from her
	// closed connection: either way only the nurse is left on screen.
	mark := len(d.log.String())
	eval[any](t, annaPage, `hearth.hangup()`)
	if s := pageStatsOf(t, annaPage); s.State != "ended" {
		t.Errorf("Anna's page after her hangup = %+v, want ended", s)
	}
	waitFor(t, 10*time.Second, "the device's screen without Anna", func() bool {
		return strings.Contains(d.log.String()[mark:], `participants="[Nurse Eva]"`)
	})
	host = waitStats(t, evaPage, 5*time.Second, "Anna gone from the nurse's call", func(s pageStats) bool {
		return len(s.Participants) == 1 || isEnd(s.State)
	})
	frames := host.FramesDecoded
	time.Sleep(time.Second)
	if s := pageStatsOf(t, evaPage); s.State != "active" || s.FramesDecoded <= frames {
		t.Errorf("the nurse's call after Anna left = %+v (frames were %d), want it active and still decoding", s, frames)
	}
	if strings.Contains(d.log.String(), `msg="call: ended"`) {
		t.Errorf("the device ended the call when Anna left")
	}

	// Asked again, from the button this time, Anna says not now.
	eval[any](t, evaPage, `document.getElementById("add").open = true; document.querySelector('#add-list button[data-caller="anna"]').click()`)
	waitFor(t, 10*time.Second, "the second join prompt on Anna's page", func() bool {
		return eval[bool](t, annaPage, `!document.getElementById("join").hidden`)
	})
	pageShot(t, evaPage, "asked-again")
	eval[any](t, annaPage, `document.getElementById("join-no").click()`)
	if pj := eval[*pageJoin](t, annaPage, `hearth.pendingJoin()`); pj != nil || !eval[bool](t, annaPage, `document.getElementById("join").hidden`) {
		t.Errorf("after Not now Anna's page still asks: %+v", pj)
	}
	if s := pageStatsOf(t, annaPage); s.State != "ended" {
		t.Errorf("Not now placed a call: %+v", s)
	}

	eval[any](t, evaPage, `hearth.hangup()`)
	d.waitLog(`msg="call: ended"`, 10*time.Second)
	if s := pageStatsOf(t, evaPage); s.State != "ended" || s.Reason != "hung up" {
		t.Errorf("the nurse's page after her hangup = %+v, want ended, hung up", s)
	}
}

// pageJoin is hearth.pendingJoin().
type pageJoin struct {
	Device     string `json:"device"`
	DeviceName string `json:"deviceName"`
	Call       string `json:"call"`
	From       string `json:"from"`
	Text       string `json:"text"`
}

// evalErr runs a script that returns a promise and reports whether it
// rejected.
func evalErr(page context.Context, expr string) error {
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err == chromedp.ErrJSUndefined || err == chromedp.ErrJSNull {
		return nil
	}
	return err
}

// reexecInNetns runs the calling test again, alone, in a network namespace
// of its own with only loopback up, and reports whether it did (then the
// caller returns: the run inside reported the result).
func reexecInNetns(t *testing.T) bool {
	t.Helper()
	needBinaries(t)
	if os.Getenv("HEARTH_NETNS") != "" {
		needChromium(t)
		return false
	}
	require := os.Getenv("HEARTH_REQUIRE_CHROMIUM") != ""
	needChromium(t)
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		msg := fmt.Sprintf("cannot make a network namespace (unshare -n: %v); these tests run Chromium only where nothing can leave loopback", err)
		if require {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	args := []string{"-n", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		os.Args[0], "-test.run=^" + t.Name() + "$", "-test.count=1", "-test.v"}
	if dl, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(dl).Round(time.Second).String())
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "HEARTH_NETNS=1", "HEARTH_BIN="+binDir)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	t.Logf("run again in a network namespace of its own:\n%s", out)
	switch {
	case err != nil:
		t.Fatalf("%s in its network namespace: %v", t.Name(), err)
	case strings.Contains(out.String(), "--- SKIP: "+t.Name()):
		t.Skip("skipped in its network namespace (see above)")
	case !strings.Contains(out.String(), "--- PASS: "+t.Name()):
		t.Fatalf("%s did not report a result in its network namespace", t.Name())
	}
	return true
}

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := chromium.Binary(); err != nil {
		if os.Getenv("HEARTH_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium: %v", err)
		}
		t.Skipf("chromium: %v", err)
	}
}

// browserKeys makes the organisation ("North Care") and three callers for
// mum-kitchen: Nurse Eva (nurse-eva) who may place nurseMay calls, Anna
// (anna) who may place signalled ones, and a stranger on no allowlist. It
// returns their folders.
func browserKeys(t *testing.T, broker, nurseMay string) (org, eva, anna, stranger string) {
	t.Helper()
	keys := t.TempDir()
	org = filepath.Join(keys, "org")
	ctl(t, broker, "provision", "ca", "init", "--out", org, "--name", "North Care")
	dirs := []*string{&eva, &anna, &stranger}
	for i, p := range []struct{ name, id string }{{"Nurse Eva", "nurse-eva"}, {"Anna", "anna"}, {"Stranger", "stranger"}} {
		*dirs[i] = filepath.Join(keys, p.id)
		ctl(t, broker, "caller", "new", "--name", p.name, "--id", p.id, "--out", *dirs[i])
	}
	ctl(t, broker, "allow", "--org", org, "--device", "mum-kitchen", "--caller", eva, "--may", nurseMay)
	ctl(t, broker, "allow", "--org", org, "--device", "mum-kitchen", "--caller", anna, "--may", "signalled")
	return org, eva, anna, stranger
}

// newBrowser starts headless Chromium with fake camera and microphone for
// the test's life, with extra flags if any; each openPage is a tab in it.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bin, err := chromium.Binary()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	// Two calls at once in one browser: keep background tabs running.
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}, extra...)
	bctx, stop, err := chromium.Start(context.Background(), bin, t.TempDir(), out, opts...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out)
		}
	})
	return bctx
}

// openPage opens url in a new tab, logs in as the caller hearthctl web
// was started for (startWeb): imports the caller folder's key once with
// hearth.importKey and logs in with hearth.login (the test broker is
// anonymous, so any password does), and waits until the page is
// connected to the broker.
func openPage(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	webCallers.Lock()
	dir := webCallers.dirs[url]
	webCallers.Unlock()
	if dir == "" {
		t.Fatalf("openPage %s: not a page startWeb started", url)
	}
	caller, err := provisioning.LoadCaller(dir)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, provisioning.CallerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	js, _ := json.Marshal(string(pem))
	id, _ := json.Marshal(caller.ID)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	for !eval[bool](t, wctx, `typeof hearth === "object" && !!hearth.login`) {
		time.Sleep(50 * time.Millisecond)
	}
	login := `hearth.importKey(` + string(js) + `, ` + string(id) + `).then(() => hearth.login(` + string(id) + `, "any password")).then(() => hearth.ready).then(() => true)`
	if _, err := chromedp.Run(wctx, chromedp.Evaluate[any](login, chromedp.EvalAwaitPromise)); err != nil {
		link, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("link").textContent`))
		t.Fatalf("page %s did not connect to the broker: %v (page says %q)", url, err, link)
	}
	return ctx
}

// webCallers maps the address of each page startWeb started to the caller
// folder it was started with, whose key openPage imports.
var webCallers = struct {
	gosync.Mutex
	dirs map[string]string
}{dirs: map[string]string{}}

// eval runs a script in the page, awaiting a promise it returns.
func eval[T any](t *testing.T, page context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil && err != chromedp.ErrJSUndefined && err != chromedp.ErrJSNull {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// pageShot saves the page as $HEARTH_SCREENSHOTS/TEST-name.png, when set,
// to look at the page as a person would.
func pageShot(t *testing.T, page context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HEARTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 768)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, t.Name()+"-"+name+".png"), png, 0o644)
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// pageDevice is an entry of hearth.devices().
type pageDevice struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Online  bool              `json:"online"`
	State   string            `json:"state"`
	Modes   []string          `json:"modes"`
	Answer  string            `json:"answer"`
	Answers map[string]string `json:"answers"`
	Label   string            `json:"label"`
}

func waitDevice(t *testing.T, page context.Context, id string, ok func(pageDevice) bool) pageDevice {
	t.Helper()
	var last pageDevice
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range eval[[]pageDevice](t, page, `hearth.devices()`) {
			if d.ID == id {
				last = d
				if ok(d) {
					return d
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("device %s on the page: %+v, not as wanted after 10 s", id, last)
	return last
}

// pageStats is hearth.stats().
type pageStats struct {
	State                string   `json:"state"`
	Reason               string   `json:"reason"`
	Call                 string   `json:"call"`
	Phase                string   `json:"phase"`
	ConnectionState      string   `json:"connectionState"`
	IceConnectedMs       *int     `json:"iceConnectedMs"`
	FirstFrameMs         *int     `json:"firstFrameMs"`
	FramesDecoded        int      `json:"framesDecoded"`
	FrameWidth           int      `json:"frameWidth"`
	FrameHeight          int      `json:"frameHeight"`
	AudioPacketsReceived int      `json:"audioPacketsReceived"`
	AudioSamplesReceived int      `json:"audioSamplesReceived"`
	Joined               string   `json:"joined"`
	Participants         []string `json:"participants"`
}

func pageStatsOf(t *testing.T, page context.Context) pageStats {
	t.Helper()
	return eval[pageStats](t, page, `hearth.stats()`)
}

func waitStats(t *testing.T, page context.Context, within time.Duration, what string, ok func(pageStats) bool) pageStats {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := pageStatsOf(t, page)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: page stats %+v", within, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isEnd(state string) bool {
	switch state {
	case "ended", "busy", "refused", "failed", "no_answer":
		return true
	}
	return false
}

func deref(p *int) any {
	if p == nil {
		return "?"
	}
	return *p
}

// startWeb runs hearthctl web for a caller on a free loopback port and
// returns the page's address.
func startWeb(t *testing.T, b *mqtttest.Broker, callerDir string) string {
	t.Helper()
	w := startCommand(t, nil, filepath.Join(binDir, "hearthctl"), "web", "--caller", callerDir, "--ws", b.WSURL(), "--listen", "127.0.0.1:0")
	w.waitLog("open http://", 10*time.Second)
	m := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(w.log.String())
	if m == nil {
		t.Fatalf("hearthctl web said %q, want the page's address", w.log)
	}
	webCallers.Lock()
	webCallers.dirs[m[1]] = callerDir
	webCallers.Unlock()
	return m[1]
}

func publishJSON(t *testing.T, broker, topic string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, _ := json.Marshal(v)
	if err := c.Publish(ctx, topic, p, true); err != nil {
		t.Fatal(err)
	}
}

// subscribe returns what arrives on topic from now on.
func subscribe(t *testing.T, broker, topic string) <-chan []byte {
	t.Helper()
	u, err := hsync.BrokerURL(broker)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan []byte, 256)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(u).SetClientID("test-sub-" + strconv.Itoa(os.Getpid())).
		SetCleanSession(true).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- append([]byte(nil), m.Payload()...)
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return ch
}

func next(t *testing.T, ch <-chan []byte, within time.Duration) []byte {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(within):
		t.Fatalf("nothing arrived within %v", within)
		return nil
	}
}

func nextSignal(t *testing.T, ch <-chan []byte, device string) proto.Signal {
	t.Helper()
	msg := next(t, ch, 10*time.Second)
	ci, err := proto.DecodeCallIn(device, msg)
	if err != nil || ci.Signal == nil {
		t.Fatalf("call/in message = %v, %s; want a signal", err, msg)
	}
	return *ci.Signal
}

// The page's whole call path against a stand-in for the device: the
// device's own invite checks (device/callauth) and a Pion peer that sends
// the browser's picture and sound back to it. It runs before hearthd takes
// calls, and afterwards tells page faults apart from device faults. The
// stand-in sends its candidates before its answer, so the page must hold
// them until it has the answer.
func TestBrowserCallsStandIn(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	org, eva, anna, stranger := browserKeys(t, b.URL(), "forced")

	dev := startStandIn(t, b.URL(), "mum-kitchen", filepath.Join(org, provisioning.OrgPubFile))
	browser := newBrowser(t)
	evaPage := openPage(t, browser, startWeb(t, b, eva))
	annaPage := openPage(t, browser, startWeb(t, b, anna))
	strangerPage := openPage(t, browser, startWeb(t, b, stranger))

	d := waitDevice(t, evaPage, "mum-kitchen", func(d pageDevice) bool { return d.Online })
	if d.Label != "Answers by itself" || d.Name != "Mum's kitchen" {
		t.Errorf("device on Eva's page = %+v, want Mum's kitchen, answers by itself", d)
	}
	if list := eval[[]pageDevice](t, strangerPage, `hearth.devices()`); len(list) != 0 {
		t.Errorf("the stranger's page lists %+v, want no devices (not on any allowlist)", list)
	}

	eval[map[string]string](t, evaPage, `hearth.call("mum-kitchen", {forced: true, reason: "Morning medicine check"})`)
	st := waitStats(t, evaPage, 15*time.Second, "picture and sound back from the stand-in", func(s pageStats) bool {
		return s.State == "active" && s.FramesDecoded > 10 && s.AudioPacketsReceived > 0 || isEnd(s.State)
	})
	if st.State != "active" || st.IceConnectedMs == nil || st.FirstFrameMs == nil {
		t.Fatalf("Eva's call = %+v, want active with ICE and first-frame times", st)
	}
	t.Logf("stand-in call from the invite: ICE connected %d ms, first frame %d ms, %dx%d",
		*st.IceConnectedMs, *st.FirstFrameMs, st.FrameWidth, st.FrameHeight)
	pageShot(t, evaPage, "in-call")

	// A carer turns the screen's camera off; the device confirms in a state.
	eval[any](t, evaPage, `hearth.control("camera_off")`)
	waitFor(t, 5*time.Second, "camera off on the page", func() bool {
		return eval[bool](t, evaPage, `hearth.stats().then(s => s.camera === false)`)
	})
	if got := eval[string](t, evaPage, `document.getElementById("camera").textContent`); got != "Camera on" {
		t.Errorf("camera button reads %q after camera_off, want Camera on", got)
	}

	eval[map[string]string](t, annaPage, `hearth.call("mum-kitchen", {})`)
	if s := waitStats(t, annaPage, 10*time.Second, "busy", func(s pageStats) bool { return isEnd(s.State) }); s.State != "busy" {
		t.Errorf("Anna's call during Eva's = %+v, want busy", s)
	}
	eval[map[string]string](t, strangerPage, `hearth.call("mum-kitchen", {mode: "signalled"})`)
	if s := waitStats(t, strangerPage, 10*time.Second, "a refusal", func(s pageStats) bool { return isEnd(s.State) }); s.State != "refused" || s.Reason != "unknown caller" {
		t.Errorf("stranger's call = %+v, want refused: unknown caller", s)
	}

	eval[any](t, evaPage, `hearth.hangup()`)
	waitFor(t, 5*time.Second, "the stand-in to hear the hangup", func() bool { return strings.Contains(dev.log.String(), "hangup "+st.Call) })
	if s := pageStatsOf(t, evaPage); s.State != "ended" || s.FramesDecoded <= 10 {
		t.Errorf("after hangup Eva's page says %+v, want ended with the call's last numbers", s)
	}

	// The page is ready for the next call; this time the device ends it.
	eval[map[string]string](t, evaPage, `hearth.call("mum-kitchen", {forced: true, reason: "Evening check"})`)
	st = waitStats(t, evaPage, 15*time.Second, "the second call active", func(s pageStats) bool { return s.State == "active" || isEnd(s.State) })
	if st.State != "active" {
		t.Fatalf("Eva's second call = %+v, want active", st)
	}
	dev.hangUp("ended on the device")
	if s := waitStats(t, evaPage, 5*time.Second, "the device's hangup", func(s pageStats) bool { return isEnd(s.State) }); s.State != "ended" || s.Reason != "ended on the device" {
		t.Errorf("after the device hung up Eva's page says %+v, want ended on the device", s)
	}
	if got := eval[string](t, evaPage, `document.getElementById("notice").textContent`); !strings.Contains(got, "ended the call") {
		t.Errorf("the page's notice reads %q, want it to say the call ended", got)
	}

	// Do-not-disturb: family read until when, and that only forced calls
	// get through; a carer still reads that the screen answers.
	dev.retain(proto.AvailabilityTopic("mum-kitchen"), proto.Availability{V: proto.Version, Device: "mum-kitchen",
		Name: "Mum's kitchen", Time: time.Now(), State: "do_not_disturb", Camera: true, Microphone: true,
		DNDUntil: time.Now().Add(2 * time.Hour).Truncate(time.Second).UTC(),
		Answer:   map[proto.CallMode]proto.Answer{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerAsleep}})
	a := waitDevice(t, annaPage, "mum-kitchen", func(d pageDevice) bool { return d.Answer == string(proto.AnswerAsleep) })
	if !strings.HasPrefix(a.Label, "Do not disturb until ") || !strings.HasSuffix(a.Label, " — only forced calls") {
		t.Errorf("Anna's page during do-not-disturb reads %q", a.Label)
	}
	waitTrueB(t, annaPage, `(document.querySelector('[data-device="mum-kitchen"] .call') || {}).disabled === true`)
	if got := eval[bool](t, annaPage, `document.querySelector('[data-device="mum-kitchen"] .call').disabled`); !got {
		t.Error("Anna's Call button is enabled during do-not-disturb")
	}
	e := waitDevice(t, evaPage, "mum-kitchen", func(d pageDevice) bool { return strings.Contains(d.Label, "do not disturb") })
	if !strings.HasPrefix(e.Label, "Answers by itself · do not disturb until ") {
		t.Errorf("Eva's page during do-not-disturb reads %q", e.Label)
	}
}

// standIn plays the device's part of a call for the page's tests.
type standIn struct {
	t      *testing.T
	device string
	auth   *callauth.Checker
	cl     mqtt.Client
	api    *webrtc.API
	log    *syncBuffer
	in     chan []byte

	mu  gosync.Mutex
	cur *standInCall
}

type standInCall struct {
	id, caller string
	pc         *webrtc.PeerConnection
}

func startStandIn(t *testing.T, broker, device, orgPub string) *standIn {
	t.Helper()
	pub, err := provisioning.ReadPublic(orgPub)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := callauth.New(pub, clock.Real())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "standin")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Retained(ctx, proto.AllowlistTopic(device), 200*time.Millisecond)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	list, err := proto.DecodeAllowlist(msgs[proto.AllowlistTopic(device)])
	if err == nil {
		err = auth.SetAllowlist(list)
	}
	if err != nil {
		t.Fatalf("stand-in allowlist: %v", err)
	}

	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		p webrtc.RTPCodecParameters
		k webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
	} {
		if err := me.RegisterCodec(c.p, c.k); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })

	s := &standIn{t: t, device: device, auth: auth, log: &syncBuffer{}, in: make(chan []byte, 256),
		api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))}
	u, _ := hsync.BrokerURL(broker)
	s.cl = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(u).SetClientID("standin-" + device).SetCleanSession(true).SetAutoReconnect(false))
	if tok := s.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("stand-in connect: %v", tok.Error())
	}
	if tok := s.cl.Subscribe(proto.CallInTopic(device), 1, func(_ mqtt.Client, m mqtt.Message) {
		s.in <- append([]byte(nil), m.Payload()...)
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("stand-in subscribe: %v", tok.Error())
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p := <-s.in:
				s.handle(p)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		s.mu.Lock()
		if s.cur != nil {
			_ = s.cur.pc.Close()
		}
		s.mu.Unlock()
		s.cl.Disconnect(100)
		if t.Failed() {
			t.Logf("stand-in log:\n%s", s.log)
		}
	})
	s.retain(proto.AvailabilityTopic(device), proto.Availability{V: proto.Version, Device: device, Name: "Mum's kitchen",
		Time: time.Now(), State: "available", Camera: true, Microphone: true,
		Answer: map[proto.CallMode]proto.Answer{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerRings}})
	s.retain(proto.StateTopic(device), proto.State{V: proto.Version, Device: device, State: proto.LifeReady, Time: time.Now()})
	return s
}

func (s *standIn) logf(format string, args ...any) {
	fmt.Fprintf(s.log, format+"\n", args...)
}

func (s *standIn) retain(topic string, v any) {
	p, _ := json.Marshal(v)
	s.cl.Publish(topic, 1, true, p).WaitTimeout(5 * time.Second)
}

func (s *standIn) reply(caller string, r proto.Reply) {
	r.V, r.Device, r.Time = proto.Version, s.device, time.Now().UTC()
	p, _ := json.Marshal(r)
	s.cl.Publish(proto.CallOutTopic(s.device, caller), 1, false, p).WaitTimeout(5 * time.Second)
}

func (s *standIn) handle(payload []byte) {
	in, err := proto.DecodeCallIn(s.device, payload)
	if err != nil {
		s.logf("undecodable: %v", err)
		return
	}
	if in.Invite != nil {
		s.invite(*in.Invite)
		return
	}
	sig := *in.Signal
	if _, err := s.auth.CheckSignal(sig); err != nil {
		s.logf("signal refused: %v", err)
		return
	}
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil || c.id != sig.Call {
		s.logf("%s for no call %s", sig.Type, sig.Call)
		return
	}
	switch sig.Type {
	case proto.SignalCandidate:
		cand, _ := sig.Candidate()
		err := c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand.Candidate, SDPMid: cand.SDPMid,
			SDPMLineIndex: cand.SDPMLineIndex, UsernameFragment: cand.UFrag})
		s.logf("candidate %s: %v", sig.Call, err)
	case proto.SignalControl:
		s.logf("control %s %s", sig.Call, sig.Data)
		on := sig.Data != proto.ControlCameraOff
		if sig.Data == proto.ControlCameraOff || sig.Data == proto.ControlCameraOn {
			s.reply(c.caller, proto.Reply{Type: proto.SignalState, Call: c.id, Phase: proto.CallActive, Camera: &on})
		}
	case proto.SignalHangup:
		s.logf("hangup %s", sig.Call)
		s.endCall(c)
	}
}

func (s *standIn) endCall(c *standInCall) {
	s.mu.Lock()
	if s.cur == c {
		s.cur = nil
	}
	s.mu.Unlock()
	_ = c.pc.Close()
}

// hangUp ends the current call from the device's side.
func (s *standIn) hangUp(reason string) {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil {
		s.t.Fatal("stand-in: no call to hang up")
	}
	s.reply(c.caller, proto.Reply{Type: proto.SignalHangup, Call: c.id, Reason: reason})
	s.endCall(c)
}

func (s *standIn) invite(in proto.Invite) {
	caller, err := s.auth.Check(in)
	if err != nil {
		s.logf("refused %s: %v", in.Call, err)
		s.reply(in.Caller, proto.Reply{Type: proto.SignalRefused, Call: in.Call, Reason: callauth.Reason(err)})
		return
	}
	s.mu.Lock()
	busy := s.cur != nil
	s.mu.Unlock()
	if busy {
		s.logf("busy %s", in.Call)
		s.reply(in.Caller, proto.Reply{Type: proto.SignalBusy, Call: in.Call, Reason: "busy"})
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		s.t.Errorf("stand-in: %v", err)
		return
	}
	c := &standInCall{id: in.Call, caller: caller.ID, pc: pc}
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
	s.reply(c.caller, proto.Reply{Type: proto.SignalState, Call: c.id, Phase: proto.CallConnecting})

	// Send the caller's own picture and sound back.
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "standin")
	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "standin")
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		if _, err := pc.AddTrack(tr); err != nil {
			s.t.Errorf("stand-in add track: %v", err)
		}
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		out := audio
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			out = video
			// Ask for key frames: ours may have been sent before our
			// track was bound.
			go func() {
				for i := 0; i < 5; i++ {
					if pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}}) != nil {
						return
					}
					time.Sleep(500 * time.Millisecond)
				}
			}()
		}
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			if err := out.WriteRTP(pkt); err != nil {
				return
			}
		}
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		s.logf("ice %s %s", c.id, st)
		if st == webrtc.ICEConnectionStateConnected {
			on := true
			s.reply(c.caller, proto.Reply{Type: proto.SignalState, Call: c.id, Phase: proto.CallActive,
				Ends: time.Now().Add(30 * time.Minute).UTC(), Camera: &on, Mic: &on})
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: in.Offer}); err != nil {
		s.t.Errorf("stand-in: offer: %v", err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		s.t.Errorf("stand-in: answer: %v", err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	var cands []webrtc.ICECandidateInit
	var cmu gosync.Mutex
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic != nil {
			cmu.Lock()
			cands = append(cands, ic.ToJSON())
			cmu.Unlock()
		}
	})
	if err := pc.SetLocalDescription(answer); err != nil {
		s.t.Errorf("stand-in: set answer: %v", err)
		return
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		s.t.Errorf("stand-in: gathering did not complete")
	}
	// Candidates first, the answer last: the page must keep them.
	cmu.Lock()
	for _, ci := range cands {
		data, _ := json.Marshal(ci)
		s.reply(c.caller, proto.Reply{Type: proto.SignalCandidate, Call: c.id, Data: string(data)})
	}
	s.logf("answer %s after %d candidates", c.id, len(cands))
	cmu.Unlock()
	s.reply(c.caller, proto.Reply{Type: proto.SignalAnswer, Call: c.id, SDP: answer.SDP})
}

// The web app's senders' side against a broker with what a device would
// hold retained (no daemon): a carer logs in, sees the screen's state in
// the screen's own time zone, sends a photo through the file input and a
// message, books a call, moves one item's window and removes another; every
// item, tombstone and booking the page publishes decodes with sync/proto
// and its signature verifies against the carer's key. With
// HEARTH_SCREENSHOTS set, each view is saved at phone (390x844) and
// desktop (1280x800) size.
func TestBrowserWebAppSigns(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	b := mqtttest.Start(t)
	org, eva, evaDir := orgAndEva(t, b.URL())
	const dev = "mum-kitchen"
	now := time.Now()
	list := org.Allow(proto.Allowlist{}, proto.AllowedCaller{ID: "nurse-eva", Name: "Nurse Eva", Key: eva.Public(),
		Mode: []proto.CallMode{proto.ModeForced, proto.ModeSignalled, proto.RightSend}}, now)
	list = org.Allow(list, proto.AllowedCaller{ID: "anna", Name: "Anna", Key: make([]byte, 32), Mode: []proto.CallMode{proto.RightSend}}, now)
	publishJSON(t, b.URL(), proto.AllowlistTopic(dev), list)

	// The screen is in Helsinki with do-not-disturb until 14:30 there.
	hel, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	dnd := time.Date(now.In(hel).Year(), now.In(hel).Month(), now.In(hel).Day(), 14, 30, 0, 0, hel)
	if !dnd.After(now) {
		dnd = dnd.Add(24 * time.Hour)
	}
	_, off := now.In(hel).Zone()
	publishJSON(t, b.URL(), proto.AvailabilityTopic(dev), map[string]any{
		"v": 1, "device": dev, "name": "Mum's kitchen", "time": now, "state": "do_not_disturb",
		"answer": map[string]string{"forced": "auto", "signalled": "asleep"}, "camera": true, "microphone": true,
		"dnd_until": dnd.UTC(), "zone": "Europe/Helsinki", "utc_offset_s": off,
	})
	publishJSON(t, b.URL(), proto.StateTopic(dev), proto.State{V: proto.Version, Device: dev, State: proto.LifeReady, Time: now})
	// What it holds: one of Anna's messages (shown this morning) and one
	// of Eva's, and a booked call.
	annaMsg := proto.InventoryItem{ID: "m-anna-1", Rev: 1, Kind: proto.KindMessage, From: "Anna", Sender: "anna",
		Text: "Dinner at six on Sunday", Start: now.Add(-2 * time.Hour), End: now.Add(48 * time.Hour), State: proto.StateReady}
	evaMsg := proto.InventoryItem{ID: "m-eva-1", Rev: 3, Kind: proto.KindMessage, From: "Nurse Eva", Sender: "nurse-eva",
		Text: "I come on Tuesday at ten", Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour), State: proto.StateReady}
	inv := proto.Inventory{V: proto.Version, Device: dev, Time: now, Items: []proto.InventoryItem{annaMsg, evaMsg},
		Bookings: []proto.InventoryBooking{{ID: "bk-1", Rev: 1, Caller: "nurse-eva", At: now.Add(3 * time.Hour).Truncate(time.Minute), LengthS: 900, Reason: "Medicine check"}}}
	publishJSON(t, b.URL(), proto.InventoryTopic(dev), inv)
	for i, a := range []proto.Activity{
		{Type: "item_shown", Item: "m-anna-1", ItemKind: proto.KindMessage, ItemText: "Dinner at six on Sunday", Time: now.Add(-90 * time.Minute)},
		{Type: "call_ended", Caller: "anna", Mode: "signalled", DurationMs: 12 * 60000, Time: now.Add(-80 * time.Minute)},
		{Type: "input_refused", Item: "p-x", ItemKind: proto.KindPhoto, ItemText: "Ella's bike", Reason: "item p-x rev 1 from anna: bad signature", Time: now.Add(-70 * time.Minute)},
	} {
		a.V, a.Device, a.Seq = proto.Version, dev, uint64(i+1)
		a.ID = fmt.Sprintf("a1-%d", i+1)
		publishJSON(t, b.URL(), proto.ActivityTopic(dev, a.ID), a)
	}
	out := subscribeAll(t, b.URL(), "hearth/v1/dev/"+dev+"/#")

	browser := newBrowser(t)
	url := startWeb(t, b, evaDir)
	// The login page, as a new person finds it.
	login, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(login, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitTrueB(t, login, `!document.getElementById("login").hidden && !document.getElementById("key-box").hidden`)
	if got := eval[string](t, login, `document.getElementById("login-id").value`); got != "nurse-eva" {
		t.Errorf("the login form offers %q, want nurse-eva (from --caller)", got)
	}
	if got := eval[string](t, login, `document.getElementById("devices").innerText + document.getElementById("none").hidden`); got != "true" {
		t.Errorf("before login the page lists %q, want nothing and no \"No screens yet\"", got)
	}
	sizedShot(t, login, "login")

	page := openPage(t, browser, url)
	d := waitDevice(t, page, dev, func(d pageDevice) bool { return d.Online && d.Name == "Mum's kitchen" })
	waitTrueB(t, page, `!!document.querySelector('[data-device="mum-kitchen"] .bookings') && (document.querySelector('[data-device="mum-kitchen"] .state') || {textContent: ""}).textContent.startsWith("Do not disturb until ")`)
	if got := eval[string](t, page, `document.querySelector('[data-device="mum-kitchen"] .state').textContent`); !strings.HasPrefix(got, "Do not disturb until ") || !strings.HasSuffix(got, "14:30") {
		t.Errorf("device %+v: card says %q, want do not disturb until 14:30 (the screen's time)", d, got)
	}
	if got := eval[string](t, page, `document.querySelector('[data-device="mum-kitchen"] .bookings').textContent`); !strings.Contains(got, now.Add(3*time.Hour).In(hel).Format("15:04")) && now.Add(3*time.Hour).In(hel).Day() == now.In(hel).Day() {
		t.Errorf("the card's booked calls read %q, want the booking at its Helsinki time", got)
	}
	sizedShot(t, page, "screens")

	// A photo through the file input: scaled, upright, signed.
	pic := filepath.Join(t.TempDir(), "portrait.jpg")
	writeTestJPEG(t, pic, 1200, 2400)
	eval[any](t, page, `document.getElementById("tab-send").click()`)
	if got := eval[[]string](t, page, `[...document.querySelectorAll('#send-screens input[name=screen]:checked')].map(e => e.value)`); len(got) != 1 || got[0] != dev {
		t.Errorf("with one screen the send form ticks %v, want %s", got, dev)
	}
	ctx, cancelUp := context.WithTimeout(page, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{pic})); err != nil {
		t.Fatal(err)
	}
	cancelUp()
	waitTrueB(t, page, `!!document.querySelector("#send-preview .pv-side img")`)
	eval[any](t, page, `(() => { const e = document.getElementById("send-text"); e.value = " Ella's new bike "; e.dispatchEvent(new Event("input")); })()`)
	waitTrueB(t, page, `document.getElementById("send-preview").innerText.includes("Ella's new bike") && document.getElementById("send-preview").innerText.includes("From Nurse Eva")`)
	sizedShot(t, page, "send-photo")
	eval[any](t, page, `document.getElementById("send-submit").click()`)
	photo := nextItem(t, out, dev, eva.Public())
	if photo.Kind != proto.KindPhoto || photo.Text != "Ella's new bike" || photo.Sender != "nurse-eva" || photo.Rev != 1 || photo.Photo == nil {
		t.Fatalf("the page sent %+v, want Eva's photo with its caption", photo)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(photo.Photo.Data)); err != nil || cfg.Height != 1920 || cfg.Width != 960 {
		t.Errorf("the photo sent is %+v, %v; want a JPEG scaled to 960x1920", cfg, err)
	}
	if d := photo.End.Sub(photo.Start); d != 7*24*time.Hour {
		t.Errorf("the photo is shown for %v, want the default 7 days", d)
	}
	waitTrueB(t, page, `/Waiting for Mum's kitchen/.test((document.querySelector('#send-result li[data-device="mum-kitchen"]') || {}).textContent)`)
	// The device takes it: the page says so, in words.
	inv.Items = append(inv.Items, proto.InventoryItem{ID: photo.ID, Rev: 1, Kind: proto.KindPhoto, From: "Nurse Eva", Sender: "nurse-eva",
		Text: photo.Text, Start: photo.Start, End: photo.End, State: proto.StateReady})
	publishJSON(t, b.URL(), proto.InventoryTopic(dev), inv)
	waitTrueB(t, page, `/^On Mum's kitchen now, until/.test((document.querySelector('#send-result li[data-device="mum-kitchen"]') || {}).textContent)`)
	sizedShot(t, page, "send-done")

	// A wide photo goes above a caption band, as on the screen.
	wide := filepath.Join(t.TempDir(), "wide.jpg")
	writeTestJPEG(t, wide, 2400, 1200)
	ctx, cancelUp = context.WithTimeout(page, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{wide})); err != nil {
		t.Fatal(err)
	}
	cancelUp()
	eval[any](t, page, `(() => { const e = document.getElementById("send-text"); e.value = "Grandpa's 80th birthday by the lake"; e.dispatchEvent(new Event("input")); })()`)
	waitTrueB(t, page, `!!document.querySelector("#send-preview .pv-band img") && document.getElementById("send-preview").innerText.includes("Grandpa's 80th")`)
	sizedShot(t, page, "send-wide")

	// A message from tomorrow 10:00 on the screen's clock, until 18:00.
	tomorrow := now.In(hel).AddDate(0, 0, 1)
	day := tomorrow.Format("2006-01-02")
	eval[any](t, page, `hearth.setLanguage("sv")`)
	eval[any](t, page, `(() => {
	  const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event("input")); e.dispatchEvent(new Event("change")); };
	  document.getElementById("send-kind-message").click();
	  document.getElementById("send-later").click();
	  document.getElementById("send-for-until").click();
	  set("send-start", "`+day+`T10:00"); set("send-until", "`+day+`T18:00");
	  set("send-text", "Hej mamma! Vi kommer på söndag ✓ 🌞");
	})()`)
	waitTrueB(t, page, `document.getElementById("send-preview").innerText.includes("Hej mamma")`)
	sizedShot(t, page, "send-message-sv")
	eval[any](t, page, `document.getElementById("send-submit").click()`)
	msg := nextItem(t, out, dev, eva.Public())
	if want := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 10, 0, 0, 0, hel); msg.Kind != proto.KindMessage || !msg.Start.Equal(want) ||
		!msg.End.Equal(want.Add(8*time.Hour)) || msg.Text != "Hej mamma! Vi kommer på söndag ✓ 🌞" {
		t.Errorf("the page sent %+v, want the message from %v (10:00 in Helsinki) for 8 hours", msg, want)
	}
	eval[any](t, page, `hearth.setLanguage("en")`)

	// What it shows today: Anna's message (shown), Eva's own, the photo.
	eval[any](t, page, `document.getElementById("tab-shows").click()`)
	waitTrueB(t, page, `document.querySelectorAll("#shows-list li.item").length === 3`)
	// The time on the screen's clock, with the weekday when that was
	// another day there (a run just after midnight in Helsinki).
	shownAt := now.Add(-90 * time.Minute).In(hel)
	wantShown := "Shown " + shownAt.Format("15:04")
	if shownAt.YearDay() != now.In(hel).YearDay() {
		wantShown = "Shown " + shownAt.Format("Mon 15:04")
	}
	if got := eval[string](t, page, `document.querySelector('#shows-list li.item[data-item="m-anna-1"] .shown').textContent`); got != wantShown {
		t.Errorf("Anna's message reads %q, want %q (its Helsinki time)", got, wantShown)
	}
	if eval[bool](t, page, `!!document.querySelector('#shows-list li.item[data-item="m-anna-1"] .remove')`) {
		t.Errorf("Eva may remove Anna's message on the page; only her own")
	}
	if err := evalErr(page, `hearth.removeItem("mum-kitchen", "m-anna-1")`); err == nil {
		t.Errorf("hearth.removeItem of Anna's message succeeded")
	}
	sizedShot(t, page, "shows")

	// Remove her own message, through the button and its confirmation.
	eval[any](t, page, `document.querySelector('#shows-list li.item[data-item="m-eva-1"] .remove').click()`)
	waitTrueB(t, page, `!!document.querySelector('#shows-list li.item[data-item="m-eva-1"] .remove-confirm')`)
	sizedShot(t, page, "shows-remove")
	eval[any](t, page, `document.querySelector('#shows-list li.item[data-item="m-eva-1"] .remove-confirm').click()`)
	ts := nextItem(t, out, dev, eva.Public())
	if !ts.Deleted || ts.ID != "m-eva-1" || ts.Rev != 4 {
		t.Errorf("the removal sent %+v, want a tombstone of m-eva-1 rev 4", ts)
	}

	// Move the photo's window: a new revision with the same photo.
	start, end := now.Add(time.Hour).Truncate(time.Second), now.Add(5*time.Hour).Truncate(time.Second)
	eval[any](t, page, `hearth.editItem("mum-kitchen", "`+photo.ID+`", {start: "`+start.UTC().Format(time.RFC3339)+`", end: "`+end.UTC().Format(time.RFC3339)+`"})`)
	ed := nextItem(t, out, dev, eva.Public())
	if ed.ID != photo.ID || ed.Rev != 2 || !ed.Start.Equal(start) || !ed.End.Equal(end) || ed.Photo == nil || ed.Photo.SHA256 != photo.Photo.SHA256 {
		t.Errorf("the edit sent %+v, want rev 2 of the photo with the new window", ed)
	}

	// Book a call at 15:00 tomorrow on the screen's clock.
	eval[any](t, page, `document.getElementById("tab-book").click()`)
	eval[any](t, page, `(() => { const e = document.getElementById("book-at"); e.value = "`+day+`T15:00"; e.dispatchEvent(new Event("change"));
	  document.getElementById("book-reason").value = "Medicine check"; })()`)
	sizedShot(t, page, "book")
	eval[any](t, page, `document.getElementById("book-submit").click()`)
	var bk proto.Booking
	for bk.ID == "" {
		m := nextMsg(t, out)
		if m.topic != proto.BookingTopic(dev) {
			continue
		}
		if bk, err = proto.DecodeBooking(dev, m.payload); err != nil {
			t.Fatalf("the page's booking %s: %v", m.payload, err)
		}
	}
	if !ed25519.Verify(eva.Public(), bk.SigningBytes(), bk.Sig) {
		t.Errorf("the booking's signature does not verify; Go signs:\n%s", bk.SigningBytes())
	}
	if want := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 15, 0, 0, 0, hel); !bk.At.Equal(want) || bk.LengthS != 900 || bk.Reason != "Medicine check" || bk.Caller != "nurse-eva" {
		t.Errorf("the booking is %+v, want 15:00 in Helsinki (%v), 900 s, Medicine check", bk, want)
	}

	eval[any](t, page, `document.getElementById("tab-activity").click()`)
	waitTrueB(t, page, `document.querySelectorAll("#activity-list li").length === 3`)
	text := eval[string](t, page, `document.getElementById("activity-list").innerText`)
	for _, want := range []string{"Message 'Dinner at six on Sunday' shown", "Call from Anna, 12 min", "Photo 'Ella's bike' refused: the signature does not match"} {
		if !strings.Contains(text, want) {
			t.Errorf("the activity reads %q, want %q in it", text, want)
		}
	}
	sizedShot(t, page, "activity")
}

// orgAndEva makes the organisation North Care and the carer Nurse Eva
// (nurse-eva), with her folder.
func orgAndEva(t *testing.T, broker string) (provisioning.Org, provisioning.Caller, string) {
	t.Helper()
	keys := t.TempDir()
	orgDir, evaDir := filepath.Join(keys, "org"), filepath.Join(keys, "eva")
	ctl(t, broker, "provision", "ca", "init", "--out", orgDir, "--name", "North Care")
	ctl(t, broker, "caller", "new", "--name", "Nurse Eva", "--id", "nurse-eva", "--out", evaDir)
	org, err := provisioning.LoadOrg(orgDir)
	if err != nil {
		t.Fatal(err)
	}
	eva, err := provisioning.LoadCaller(evaDir)
	if err != nil {
		t.Fatal(err)
	}
	return org, eva, evaDir
}

type topicMsg struct {
	topic   string
	payload []byte
}

// subscribeAll gives every message on filter, with its topic.
func subscribeAll(t *testing.T, broker, filter string) <-chan topicMsg {
	t.Helper()
	u, err := hsync.BrokerURL(broker)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan topicMsg, 256)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(u).SetClientID("test-all-" + strconv.Itoa(os.Getpid())).
		SetCleanSession(true).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		if !m.Retained() {
			ch <- topicMsg{m.Topic(), append([]byte(nil), m.Payload()...)}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func nextMsg(t *testing.T, ch <-chan topicMsg) topicMsg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("nothing from the page within 15 s")
		return topicMsg{}
	}
}

// nextItem waits for the next content payload, decodes it as the device
// does and checks its sender's signature.
func nextItem(t *testing.T, ch <-chan topicMsg, device string, key ed25519.PublicKey) proto.Item {
	t.Helper()
	for {
		m := nextMsg(t, ch)
		if !strings.Contains(m.topic, "/content/") {
			continue
		}
		it, err := proto.DecodeItem(device, m.topic, m.payload)
		if err != nil {
			t.Fatalf("the page's item on %s does not decode: %v\n%.300s", m.topic, err, m.payload)
		}
		if !ed25519.Verify(key, it.SigningBytes(), it.Sig) {
			t.Fatalf("the page's item %s does not verify; Go signs:\n%s", it.ID, it.SigningBytes())
		}
		return it
	}
}

// writeTestJPEG writes a w x h JPEG: orange on the left, blue on the right.
func writeTestJPEG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{230, 120, 30, 255}
			if x > w/2 {
				c = color.RGBA{40, 90, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitTrueB waits up to 15 s for a script to be true in the page.
func waitTrueB(t *testing.T, page context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !eval[bool](t, page, expr) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting 15 s for %s; page says %q", expr, eval[string](t, page, `document.getElementById("link").textContent + " | " + document.body.innerText.slice(0, 400)`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sizedShot saves the page at phone and desktop size, when
// HEARTH_SCREENSHOTS is set.
func sizedShot(t *testing.T, page context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HEARTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, v := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 800, false}} {
		ctx, cancel := context.WithTimeout(page, 10*time.Second)
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile) // overlay scroll bars, touch
		}
		err := chromedp.Do(ctx, chromedp.EmulateViewport(v.w, v.h, opts...))
		var png []byte
		if err == nil {
			// A page wider than the phone scrolls sideways: a daughter
			// would miss what is off to the right.
			if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > int(v.w) {
				t.Errorf("%s at %s size is %d px wide, more than the %d px of the screen", name, v.name, w, v.w)
			}
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(90))
		}
		cancel()
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, t.Name()+"-"+name+"-"+v.name+".png"), png, 0o644)
		}
		if err != nil {
			t.Logf("screenshot %s: %v", name, err)
		}
	}
}

// The page against a broker that checks passwords on its WebSockets
// listener and ties client ids to user names, as the shipped one
// (docs/broker.md): a wrong password says so and does not retry; the right
// one connects and lists the screen; the same person opening a second tab
// takes the session over, and the first says so, offers "Use it here" and
// does not fight back; a broker that goes away is "cannot reach", never "No
// screens yet".
func TestBrowserWebAppLogin(t *testing.T) {
	if reexecInNetns(t) {
		return
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "people.passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", passwd, "nurse-eva", "right horse battery").CombinedOutput(); err != nil {
		t.Skipf("mosquitto_passwd: %v %s", err, out)
	}
	b := mqtttest.StartConf(t, 2, func(ports []int) string {
		return fmt.Sprintf("per_listener_settings true\nlistener %d 127.0.0.1\nallow_anonymous true\n"+
			"listener %d 127.0.0.1\nprotocol websockets\nallow_anonymous false\npassword_file %s\nuse_username_as_clientid true\n",
			ports[0], ports[1], passwd)
	})
	ws := fmt.Sprintf("ws://127.0.0.1:%d", freeWSPort(t, b))
	org, eva, evaDir := orgAndEva(t, b.URL())
	publishJSON(t, b.URL(), proto.AllowlistTopic("mum-kitchen"), org.Allow(proto.Allowlist{},
		proto.AllowedCaller{ID: "nurse-eva", Name: "Nurse Eva", Key: eva.Public(), Mode: []proto.CallMode{proto.ModeSignalled, proto.RightSend}}, time.Now()))

	w := startCommand(t, nil, filepath.Join(binDir, "hearthctl"), "web", "--caller", evaDir, "--ws", ws, "--listen", "127.0.0.1:0")
	w.waitLog("open http://", 10*time.Second)
	url := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(w.log.String())[1]
	pem, err := os.ReadFile(filepath.Join(evaDir, provisioning.CallerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(string(pem))
	browser := newBrowser(t)
	open := func() context.Context {
		ctx, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		waitTrueB(t, ctx, `typeof hearth === "object" && !!hearth.login`)
		return ctx
	}
	state := func(page context.Context) string { return eval[string](t, page, `hearth.connection().state`) }
	noScreensShown := func(page context.Context) bool { return eval[bool](t, page, `!document.getElementById("none").hidden`) }

	first := open()
	eval[any](t, first, `hearth.importKey(`+string(js)+`, "nurse-eva")`)
	if err := evalErr(first, `hearth.login("nurse-eva", "wrong horse")`); err == nil {
		t.Errorf("login with a wrong password succeeded")
	}
	if s := state(first); s != "wrong_password" || !strings.Contains(eval[string](t, first, `document.getElementById("link").textContent`), "password is wrong") {
		t.Errorf("after a wrong password the page is %q, %q", s, eval[string](t, first, `document.getElementById("link").textContent`))
	}
	time.Sleep(4 * time.Second) // it must not try again by itself (the broker would count the failures)
	if s := state(first); s != "wrong_password" || noScreensShown(first) || eval[bool](t, first, `document.getElementById("login").hidden`) {
		t.Errorf("4 s after a wrong password the page is %q (No screens yet shown: %v), want the login form again", s, noScreensShown(first))
	}
	sizedShot(t, first, "wrong-password")

	eval[any](t, first, `hearth.login("nurse-eva", "right horse battery")`)
	waitDevice(t, first, "mum-kitchen", func(pageDevice) bool { return true })

	// Night hours on the screen in Helsinki: asleep until 07:00 on its
	// clock (night_until is UTC), whatever the browser's zone.
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(helsinki)
	seven := time.Date(now.Year(), now.Month(), now.Day(), 7, 0, 0, 0, helsinki)
	if !seven.After(now) {
		seven = seven.AddDate(0, 0, 1)
	}
	_, off := now.Zone()
	publishJSON(t, b.URL(), proto.AvailabilityTopic("mum-kitchen"), proto.Availability{V: proto.Version, Device: "mum-kitchen",
		Name: "Mum's kitchen", Time: time.Now(), State: proto.AvailNight, NightUntil: seven.UTC(), Camera: true, Microphone: true,
		Answer: map[proto.CallMode]proto.Answer{proto.ModeSignalled: proto.AnswerRings}, Zone: "Europe/Helsinki", UTCOffsetS: off})
	publishJSON(t, b.URL(), proto.StateTopic("mum-kitchen"), proto.State{V: proto.Version, Device: "mum-kitchen", State: proto.LifeReady, Time: time.Now()})
	waitTrueB(t, first, `(document.querySelector('#devices li[data-device="mum-kitchen"] .state') || {}).textContent === "Asleep until 07:00"`)

	// The same person in a second tab: the broker closes the first one's
	// session (reason 0x8E), which says so and stays off.
	second := open()
	eval[any](t, second, `hearth.login("nurse-eva", "right horse battery")`)
	waitTrueB(t, first, `hearth.connection().state === "taken_over" && !document.getElementById("takeover").hidden`)
	if got := eval[string](t, first, `document.getElementById("link").textContent`); !strings.Contains(got, "somewhere else") {
		t.Errorf("the first tab says %q, want that Hearth was opened somewhere else", got)
	}
	sizedShot(t, first, "taken-over")
	time.Sleep(4 * time.Second)
	if s := state(second); s != "connected" {
		t.Errorf("the second tab is %q 4 s after taking over, want connected (the first must not fight back)", s)
	}
	// Use it here: the first takes it back.
	eval[any](t, first, `document.getElementById("takeover").click()`)
	waitTrueB(t, first, `hearth.connection().state === "connected"`)
	waitTrueB(t, second, `hearth.connection().state === "taken_over"`)

	// Another device (another browser: no BroadcastChannel between them,
	// and Mosquitto's WebSockets listener drops the 0x8E): the first page
	// gives way after one round of knocking each other off, and the newer
	// one stays.
	otherBrowser := newBrowser(t)
	octx, ocancel := chromedp.NewContext(otherBrowser)
	t.Cleanup(ocancel)
	if err := chromedp.Do(octx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitTrueB(t, octx, `typeof hearth === "object" && !!hearth.login`)
	eval[any](t, octx, `hearth.importKey(`+string(js)+`, "nurse-eva").then(() => hearth.login("nurse-eva", "right horse battery"))`)
	waitTrueB(t, first, `hearth.connection().state === "taken_over"`)
	time.Sleep(4 * time.Second)
	if s := state(octx); s != "connected" {
		t.Errorf("the other device is %q after the first gave way, want connected", s)
	}
	if s := state(first); s != "taken_over" {
		t.Errorf("the first page is %q, want it to stay off", s)
	}

	// setPassword puts Eva's password in the broker's file and has the
	// broker read it again (SIGHUP), which closes the connections whose
	// password no longer holds.
	setPassword := func(pw string) {
		t.Helper()
		if out, err := exec.Command("mosquitto_passwd", "-b", passwd, "nurse-eva", pw).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
		conf := filepath.Join(b.Dir, "mosquitto.conf")
		pid := 0
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			if cmd, err := os.ReadFile(p); err == nil && strings.Contains(string(cmd), conf) {
				fmt.Sscan(filepath.Base(filepath.Dir(p)), &pid)
			}
		}
		if pid == 0 {
			t.Fatal("no mosquitto process runs " + conf)
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	// sendNow is what hearth.send does within 2 s: "sent", "rejected: …"
	// or "still waiting".
	sendNow := func(page context.Context, text string) string {
		return eval[string](t, page, `Promise.race([hearth.send({kind: "message", text: "`+text+`", devices: ["mum-kitchen"], days: 1})`+
			`.then(() => "sent", (e) => "rejected: " + e.message), new Promise((r) => setTimeout(() => r("still waiting"), 2000))])`)
	}
	sendResult := `document.getElementById("send-result").textContent.trim()`
	const notSent = "Not sent: not connected to the Hearth service"

	// The organisation revokes her while she is logged in (her password
	// leaves the broker's file): the page says the password is wrong,
	// shows the login form without claiming she is logged in, and what she
	// sends fails at once and says so. (Not within 10 s of the fight
	// above: a connection closed twice within 10 s reads as being taken
	// over.)
	time.Sleep(7 * time.Second)
	setPassword("another horse")
	waitTrueB(t, octx, `hearth.connection().state === "wrong_password"`)
	if me := eval[string](t, octx, `document.getElementById("me").textContent`); me != "" || eval[bool](t, octx, `document.getElementById("login").hidden`) {
		t.Errorf("revoked while logged in, the header says %q above the login form (shown: %v)", me, !eval[bool](t, octx, `document.getElementById("login").hidden`))
	}
	if got := sendNow(octx, "After the revocation"); !strings.HasPrefix(got, "rejected") {
		t.Errorf("hearth.send after the revocation: %s, want it rejected at once", got)
	}
	if got := eval[string](t, octx, sendResult); got != notSent {
		t.Errorf("after the revocation #send-result says %q, want %q", got, notSent)
	}
	sizedShot(t, octx, "revoked")

	// Her password again: logged in again, and the header says so.
	setPassword("right horse battery")
	eval[any](t, octx, `hearth.login("nurse-eva", "right horse battery")`)
	waitTrueB(t, octx, `hearth.connection().state === "connected" && document.getElementById("me").textContent.startsWith("Logged in as")`)

	// The broker goes away: cannot reach, retrying; the screen stays, and
	// never "No screens yet". (Again not within 10 s of connecting.)
	time.Sleep(11 * time.Second)
	b.Stop()
	waitTrueB(t, octx, `hearth.connection().state === "unreachable"`)
	if got := eval[string](t, octx, `document.getElementById("link").textContent`); !strings.Contains(got, "Cannot reach the Hearth service") {
		t.Errorf("without the broker the page says %q", got)
	}
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if noScreensShown(octx) {
			t.Fatalf("the page says No screens yet while it cannot reach the broker")
		}
	}
	sizedShot(t, octx, "unreachable")
	// Sending now: rejected at once, and the Send button says so too.
	if got := sendNow(octx, "Without the broker"); !strings.HasPrefix(got, "rejected") {
		t.Errorf("hearth.send without the broker: %s, want it rejected at once", got)
	}
	eval[any](t, octx, `{ const r = document.getElementById("send-result"); r.replaceChildren(); r.dataset.sig = ""; hearth.show("send", "mum-kitchen") }`)
	eval[any](t, octx, `document.getElementById("send-kind-message").click(); document.getElementById("send-text").value = "Without the broker"; document.getElementById("send-submit").click()`)
	waitTrueB(t, octx, sendResult+` === "`+notSent+`"`)
	sizedShot(t, octx, "send-not-connected")
}

// freeWSPort is the WebSockets listener of a StartConf broker: its second port.
func freeWSPort(t *testing.T, b *mqtttest.Broker) int {
	t.Helper()
	m := regexp.MustCompile(`listener (\d+) 127\.0\.0\.1\nprotocol websockets`).FindStringSubmatch(readFile(t, filepath.Join(b.Dir, "mosquitto.conf")))
	if m == nil {
		t.Fatal("no websockets listener in the broker's config")
	}
	p, _ := strconv.Atoi(m[1])
	return p
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
