// Package chromium starts headless Chromium as a family member's browser
// for the tests and the bench: fake camera and microphone, WebRTC over
// loopback, nothing that phones home (FIELD-NOTES' flags).
package chromium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// Binary finds Chromium: $HEARTH_CHROMIUM, else the first of chromium
// (Debian's: a shell wrapper that execs the browser, so the pid stays the
// browser's), chromium-browser and google-chrome on PATH.
func Binary() (string, error) {
	if p := os.Getenv("HEARTH_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("chromium: HEARTH_CHROMIUM: %w", err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (apt-get install chromium)")
}

// Start starts headless Chromium with profile as its user data folder,
// its output to out, and the extra options after the caller's flags. The
// context it returns is the browser's (chromedp.NewContext of it opens a
// tab); stop ends the browser.
func Start(ctx context.Context, bin, profile string, out io.Writer, extra ...chromedp.ExecAllocatorOption) (browser context.Context, stop func(), err error) {
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		// Without it ICE gathering never completes with only lo up.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.CombinedOutput(out),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		return nil, nil, fmt.Errorf("start chromium: %w", err)
	}
	return bctx, func() { cancel(); cancelAlloc() }, nil
}
