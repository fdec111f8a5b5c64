//go:build linux

package kiosk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/ui"
)

// The real window needs the process's main goroutine, which a test does
// not have: the test runs this test binary again as a helper whose
// TestMain calls Run, under a private Xvfb.

const helperEnv = "HEARTH_KIOSK_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper shows one message card and stops as mode says: "term" waits for
// SIGTERM, "cancel" cancels Run's context when stdin closes, "fail" has the
// background work fail.
func helper(mode string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := ui.Options{Locale: "en", Logger: log}
	if mode == "fade" {
		opts.Fade = 4 * time.Second // long enough to be caught half-way by screenshots
	}
	s, err := ui.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if mode == "cancel" {
		go func() {
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
			cancel()
		}()
	}
	background := func(ctx context.Context) error {
		s.SetSlides([]device.Slide{{ID: "m", Rev: 1, Text: "Hello from the kiosk test", From: "Test"}})
		fmt.Println("ready")
		if mode == "fail" {
			time.Sleep(300 * time.Millisecond)
			return errors.New("background failed")
		}
		if mode == "park" {
			parkChecks(s)
		}
		if mode == "fade" {
			time.Sleep(2 * time.Second) // parked by now
			fmt.Println("fading")
			s.SetSlides([]device.Slide{{ID: "m2", Rev: 1, Text: "Another message", From: "Test"}}) // another card colour than "m"'s
			time.Sleep(opts.Fade + time.Second)
			fmt.Println("faded")
		}
		<-ctx.Done()
		return nil
	}
	err = Run(ctx, s, Options{Title: "hearth-kiosk-test", Fullscreen: true}, background)
	fmt.Fprintf(os.Stderr, "kiosk.Run returned: %v\n", err)
	if err != nil {
		return 3
	}
	return 0
}

// parkChecks runs in the "park" helper: it prints what it finds, one
// line each, for TestLoopParks.
func parkChecks(s *ui.Screen) {
	// A still screen parks the loop: a plain fyne.Do (which does not wake
	// it) stops running at once. Unparked, it runs within a frame.
	var queued chan struct{}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		queued = make(chan struct{})
		q := queued
		fyne.Do(func() { close(q) })
		select {
		case <-queued:
			time.Sleep(50 * time.Millisecond)
			continue
		case <-time.After(time.Second):
		}
		break
	}
	select {
	case <-queued:
		fmt.Println("never parked")
		return
	default:
		fmt.Println("parked")
	}
	// ui.Do wakes it: what it queues runs, and what waited runs too.
	ui.DoAndWait(func() {})
	select {
	case <-queued:
		fmt.Println("woken")
	default:
		fmt.Println("not woken")
	}
	// A change while parked: the new slide's fade runs to its end (a loop
	// parked mid-fade would leave it running).
	time.Sleep(time.Second) // parked again
	s.SetSlides([]device.Slide{{ID: "m2", Rev: 1, Text: "A second message", From: "Test"}})
	time.Sleep(ui.DefaultFade + 2*time.Second)
	var still bool
	ui.DoAndWait(func() { still = s.Still() })
	fmt.Println("still after fade:", still)
	// The privacy light is painted while the loop was parked (SetPrivacy
	// logs when it is not, within its wait).
	s.SetPrivacy(device.Privacy{Camera: true})
	fmt.Println("privacy set")
}

// A still screen parks Fyne's loop; a change wakes it, a fade and the
// privacy light are painted to the end.
func TestLoopParks(t *testing.T) {
	h := startHelper(t, startXvfb(t), "park")
	stdout := h.stdout
	// stderr is read once the helper has been stopped (it is written
	// from exec's goroutine until then).
	stderr := func() string {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
		return h.stderr.String()
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	timeout := time.After(60 * time.Second)
	for len(got) == 0 || got[len(got)-1] != "privacy set" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper ended after %q; stderr:\n%s", got, stderr())
			}
			got = append(got, l)
		case <-timeout:
			t.Fatalf("helper printed %q, then nothing; stderr:\n%s", got, stderr())
		}
	}
	want := []string{"ready", "parked", "woken", "still after fade: true", "privacy set"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("helper printed %q, want %q", got, want)
	}
	if e := stderr(); strings.Contains(e, "not painted in time") {
		t.Errorf("the privacy badge was not painted while the loop was parked:\n%s", e)
	}
}

// A crossfade on the real window paints the frames between the two
// slides, not only the last: with nothing on the canvas refreshed, Fyne
// paints no frame, and a fade became a jump (seen once, with the ground
// hidden). Screenshots through a 4 s fade must catch a blend.
func TestFadePaintsBetween(t *testing.T) {
	if _, err := exec.LookPath("import"); err != nil {
		if os.Getenv("HEARTH_REQUIRE_XVFB") != "" {
			t.Fatal("ImageMagick's import is needed to look at the screen")
		}
		t.Skip("no ImageMagick import")
	}
	display := startXvfb(t)
	h := startHelper(t, display, "fade")
	lines := bufio.NewScanner(h.stdout)
	next := func(want string) {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("helper ended before %q", want)
	}
	next("ready")
	waitForCard(t, display)
	centre := func() (c [3]int, ok bool) {
		out, err := exec.Command("import", "-display", display, "-window", "root", "png:-").Output()
		if err != nil {
			return c, false
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			return c, false
		}
		b := img.Bounds()
		r, g, bl, _ := img.At(b.Dx()/2, b.Dy()/2).RGBA()
		return [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}, true
	}
	from, ok := centre()
	if !ok {
		t.Fatal("no screenshot")
	}
	next("fading")
	var seen [][3]int
	done := make(chan struct{})
	go func() { next("faded"); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		default:
			if c, ok := centre(); ok {
				seen = append(seen, c)
			}
		}
	}
	to, _ := centre()
	differs := func(a, b [3]int) bool {
		d := 0
		for i := range a {
			d = max(d, a[i]-b[i], b[i]-a[i])
		}
		return d > 4
	}
	if !differs(from, to) {
		t.Fatalf("the card's colour did not change (%v to %v)", from, to)
	}
	for _, c := range seen {
		if differs(c, from) && differs(c, to) {
			return // a frame between the two
		}
	}
	t.Errorf("no frame between %v and %v in %d screenshots through the fade: %v", from, to, len(seen), seen)
}

func TestRunUnderXvfb(t *testing.T) {
	display := startXvfb(t)
	for _, tc := range []struct {
		mode     string
		wantCode int
		wantErr  string
	}{
		{"term", 0, "kiosk.Run returned: <nil>"},
		{"cancel", 0, "kiosk.Run returned: <nil>"},
		{"fail", 3, "kiosk.Run returned: background failed"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h := startHelper(t, display, tc.mode)
			cmd, stdin, stdout, stderr := h.cmd, h.stdin, h.stdout, h.stderr
			exited := make(chan error, 1)
			go func() {
				_, _ = io.Copy(io.Discard, stdout)
				exited <- cmd.Wait()
			}()
			if tc.mode != "fail" {
				waitForCard(t, display)
				switch tc.mode {
				case "term":
					_ = cmd.Process.Signal(syscall.SIGTERM)
				case "cancel":
					_ = stdin.Close()
				}
			}
			select {
			case err := <-exited:
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("helper: %v", err)
				}
				if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Errorf("helper exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tc.wantCode, tc.wantErr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("helper did not stop; stderr:\n%s", stderr.String())
			}
		})
	}
}

// helperProc is a helper process started by startHelper.
type helperProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *bytes.Buffer
}

// startHelper runs this test binary as the helper in mode on display; it
// is killed when the test ends.
func startHelper(t *testing.T, display, mode string) helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	home := t.TempDir() // Fyne keeps preferences under $HOME
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "DISPLAY="+display, "LANG=en_US.UTF-8",
		"HOME="+home, "XDG_CONFIG_HOME="+home+"/.config")
	h := helperProc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = h.stderr
	var err error
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if h.stdout, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return h
}

// waitForCard takes screenshots until the message card's colour fills the
// middle of the screen.
func waitForCard(t *testing.T, display string) {
	t.Helper()
	if _, err := exec.LookPath("import"); err != nil {
		t.Log("no ImageMagick import: not checking the picture")
		time.Sleep(2 * time.Second)
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	var last image.Image
	for time.Now().Before(deadline) {
		out, err := exec.Command("import", "-display", display, "-window", "root", "png:-").Output()
		if err == nil {
			if img, err := png.Decode(bytes.NewReader(out)); err == nil {
				last = img
				b := img.Bounds()
				r, g, bl, _ := img.At(b.Dx()/2, b.Dy()*9/10).RGBA()
				// A card is deep and dark, bluer or greener than red-grey.
				if r>>8 < 0x50 && g>>8 < 0x50 && bl>>8 < 0x60 && (r|g|bl) != 0 {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if last != nil {
		b := last.Bounds()
		t.Fatalf("no message card on screen; pixel %v", last.At(b.Dx()/2, b.Dy()*9/10))
	}
	t.Fatal("no screenshot")
}

// startXvfb starts a private X server and returns its DISPLAY.
func startXvfb(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		if os.Getenv("HEARTH_REQUIRE_XVFB") != "" {
			t.Fatal("Xvfb is required (HEARTH_REQUIRE_XVFB) but not installed")
		}
		t.Skip("no Xvfb")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x720x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not report its display")
		}
		return ":" + n
	case <-time.After(10 * time.Second):
		t.Fatal("Xvfb did not start")
	}
	return ""
}
