package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	gosync "sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearth-home/hearth/cmd/internal/chromium"
	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/provisioning"
)

//go:embed loopback.html
var loopbackHTML []byte

// browserRuns are the web caller's timings and the loopback page's.
type browserRuns struct{ hearth, loop setupTimes }

// browserCalls places n forced calls from hearthctl web's page in headless
// Chromium, then runs the loopback page n times in the same browser.
func (b *bench) browserCalls(ctx context.Context, d *callDaemon, nurse string, n int) (browserRuns, error) {
	var r browserRuns
	page, web, err := startWebCaller(ctx, b.ps, b.bin, b.brokerWS, nurse)
	if err != nil {
		return r, err
	}
	defer func() { _ = web.stop(5 * time.Second) }()
	loop, closeLoop, err := serveLoopbackPage()
	if err != nil {
		return r, err
	}
	defer closeLoop()
	browser, closeBrowser, err := startHeadlessChromium(ctx, filepath.Join(b.work, "calls", "chromium"))
	if err != nil {
		return r, err
	}
	defer closeBrowser()

	if err := b.webCallerCalls(browser, d, page, nurse, n, &r.hearth); err != nil {
		return r, err
	}

	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := navigate(tab, loop); err != nil {
		return r, err
	}
	for i := range n {
		lr, err := evalJS[loopbackResult](tab, `loopbackOnce()`, 20*time.Second)
		if err != nil {
			return r, fmt.Errorf("loopback run %d: %w", i+1, err)
		}
		ice, frame, err := lr.times()
		if err != nil {
			return r, fmt.Errorf("loopback run %d: %w", i+1, err)
		}
		r.loop.add(ice, frame)
		b.log.Info("calls: loopback page", "n", i+1, "ice_connected_ms", ice.Milliseconds(), "first_frame_ms", frame.Milliseconds(),
			"frames_decoded_ms", msOrNil(lr.DecodedMs), "create_offer_to_start_ms", msOrNil(lr.OfferMs))
	}
	return r, nil
}

// webCallerCalls places the calls from hearthctl web's page.
func (b *bench) webCallerCalls(browser context.Context, d *callDaemon, page, callerDir string, n int, out *setupTimes) error {
	c, err := provisioning.LoadCaller(callerDir)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(filepath.Join(callerDir, provisioning.CallerKeyFile))
	if err != nil {
		return err
	}
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := navigate(tab, page); err != nil {
		return err
	}
	// The page signs with a key it keeps itself: imported once, then a
	// login (the bench's broker takes any password).
	if err := waitUntil(tab, 15*time.Second, 20*time.Millisecond, "the web app's login", func() (bool, error) {
		return evalJS[bool](tab, `typeof hearth === "object" && !!hearth.login`, 5*time.Second)
	}); err != nil {
		return err
	}
	login := `hearth.importKey(` + jsString(string(pem)) + `, ` + jsString(c.ID) + `).then(() => hearth.login(` + jsString(c.ID) + `, "any password")).then(() => hearth.ready).then(() => true)`
	if _, err := evalJS[bool](tab, login, 15*time.Second); err != nil {
		says, _ := evalJS[string](tab, `document.getElementById("link").textContent`, 5*time.Second)
		return fmt.Errorf("the web caller did not connect to the broker (its page says %q): %w", says, err)
	}
	// The device shows as online and answering forced calls by itself.
	err = waitUntil(tab, 15*time.Second, 100*time.Millisecond, callDevice+" online on the web caller's page", func() (bool, error) {
		ok, err := evalJS[bool](tab, `hearth.devices().some((d) => d.id === "`+callDevice+`" && d.online && d.answers.forced === "auto")`, 5*time.Second)
		return ok, err
	})
	if err != nil {
		return err
	}
	var started time.Time
	for i := range n {
		// One caller's invites beyond the device's burst come no faster
		// than its rate allows (a faster one is refused: too many invites).
		if i >= call.DefaultInviteBurst {
			time.Sleep(time.Until(started.Add(call.DefaultInviteEvery + 100*time.Millisecond)))
		}
		started = time.Now()
		from := d.mark()
		placed, err := evalJS[map[string]string](tab, `hearth.call("`+callDevice+`", {forced: true, reason: "hearthbench"})`, 20*time.Second)
		if err != nil {
			return fmt.Errorf("call %d: %w", i+1, err)
		}
		var st webStats
		err = waitUntil(tab, 20*time.Second, 100*time.Millisecond, "ICE connected and a first frame in the browser", func() (bool, error) {
			var err error
			if st, err = evalJS[webStats](tab, `hearth.stats()`, 5*time.Second); err != nil {
				return false, err
			}
			if st.ended() {
				return false, fmt.Errorf("the call ended: %s %s", st.State, st.Reason)
			}
			return st.IceConnectedMs != nil && st.FirstFrameMs != nil, nil
		})
		if err != nil {
			// Leave the device free for the sections after this one.
			_, _ = evalJS[any](tab, `hearth.hangup()`, 5*time.Second)
			_, _ = d.ended(tab, from, placed["call"])
			return fmt.Errorf("call %d (%s): %w", i+1, placed["call"], err)
		}
		if _, err := evalJS[any](tab, `hearth.hangup()`, 10*time.Second); err != nil {
			return fmt.Errorf("call %d: hang up: %w", i+1, err)
		}
		dev, err := d.ended(tab, from, placed["call"])
		if err != nil {
			return err
		}
		ice, frame := time.Duration(*st.IceConnectedMs)*time.Millisecond, time.Duration(*st.FirstFrameMs)*time.Millisecond
		out.add(ice, frame)
		b.log.Info("calls: web caller", "n", i+1, "ice_connected_ms", ice.Milliseconds(), "first_frame_ms", frame.Milliseconds(),
			"device_ice_ms", dev.ICEConnectedMs, "device_first_frame_ms", dev.FirstFrameMs,
			"device_camera_open_ms", d.cameraOpen(from, placed["call"]).Milliseconds())
	}
	return nil
}

// webStats is the part of the web caller's hearth.stats() the bench reads.
type webStats struct {
	State          string `json:"state"`
	Reason         string `json:"reason"`
	IceConnectedMs *int64 `json:"iceConnectedMs"`
	FirstFrameMs   *int64 `json:"firstFrameMs"`
	FramesDecoded  int    `json:"framesDecoded"`
}

func (s webStats) ended() bool {
	switch s.State {
	case "ended", "busy", "refused", "failed", "no_answer":
		return true
	}
	return false
}

// loopbackResult is loopbackOnce()'s result, in milliseconds.
type loopbackResult struct {
	OfferMs   *float64 `json:"offerMs"`
	IceMs     *float64 `json:"iceMs"`
	FrameMs   *float64 `json:"frameMs"`
	DecodedMs *float64 `json:"decodedMs"`
}

// times returns ICE connected and the first frame. The frame is the one
// the video element showed (as the web caller times it); when the browser
// has no requestVideoFrameCallback, the first framesDecoded > 0.
func (l loopbackResult) times() (ice, frame time.Duration, err error) {
	f := l.FrameMs
	if f == nil {
		f = l.DecodedMs
	}
	if l.IceMs == nil || f == nil {
		return 0, 0, fmt.Errorf("no ICE connection (%v) or no frame (%v) within 10 s", msOrNil(l.IceMs), msOrNil(f))
	}
	d := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return d(*l.IceMs), d(*f), nil
}

func msOrNil(p *float64) any {
	if p == nil {
		return nil
	}
	return fmt.Sprintf("%.1f", *p)
}

// startWebCaller runs hearthctl web for the caller on a free loopback port
// and returns its page's URL.
func startWebCaller(ctx context.Context, ps *procs, bin, ws, callerDir string) (string, *proc, error) {
	re := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`)
	var mu gosync.Mutex
	url := ""
	cmd := exec.Command(filepath.Join(bin, "hearthctl"), "web", "--caller", callerDir, "--ws", ws, "--listen", "127.0.0.1:0")
	p, err := ps.start("hearthctl web", cmd, func(line string) {
		if m := re.FindStringSubmatch(line); m != nil {
			mu.Lock()
			url = m[1]
			mu.Unlock()
		}
	})
	if err != nil {
		return "", nil, err
	}
	err = waitUntil(ctx, 10*time.Second, 20*time.Millisecond, "hearthctl web's address", func() (bool, error) {
		if !p.running() {
			return false, fmt.Errorf("hearthctl web exited: %v\n%s", p.err, p.tail)
		}
		mu.Lock()
		defer mu.Unlock()
		return url != "", nil
	})
	if err != nil {
		_ = p.stop(time.Second)
		return "", nil, err
	}
	return url, p, nil
}

// serveLoopbackPage serves loopback.html on a free loopback port (a
// secure context, so getUserMedia works).
func serveLoopbackPage() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("loopback page: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/loopback.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(loopbackHTML)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/loopback.html", func() { _ = srv.Close() }, nil
}

// startHeadlessChromium starts headless Chromium with a fake camera and
// microphone (FIELD-NOTES' flags for Chromium as a caller). chromedp
// starts it with a parent-death signal and kills what is left on close.
func startHeadlessChromium(ctx context.Context, profile string) (context.Context, func(), error) {
	bin, err := chromium.Binary()
	if err != nil {
		return nil, nil, err
	}
	out := &capped{max: 16 << 10}
	bctx, stop, err := chromium.Start(ctx, bin, profile, out)
	if err != nil {
		return nil, nil, fmt.Errorf("%w\n%s", err, out)
	}
	return bctx, stop, nil
}

// navigate opens url in the tab. The tab's first action runs on the tab's
// own context: chromedp creates the target with that first context and
// closes it again when that context ends.
func navigate(tab context.Context, url string) error {
	if err := chromedp.Do(tab); err != nil {
		return fmt.Errorf("new tab: %w", err)
	}
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// evalJS evaluates expr in the tab, awaiting the promise it returns.
func evalJS[T any](tab context.Context, expr string, within time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(tab, within)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if errors.Is(err, chromedp.ErrJSUndefined) || errors.Is(err, chromedp.ErrJSNull) {
		err = nil
	}
	if err != nil {
		return v, fmt.Errorf("%s: %w", expr, err)
	}
	return v, nil
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  gosync.Mutex
	b   []byte
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.b)
}
