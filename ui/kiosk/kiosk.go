// Package kiosk runs a ui.Screen in a real window: it starts the Fyne app
// (GLFW and OpenGL, so it needs cgo), runs the screen's carousel and the
// daemon's background work beside the event loop, and stops them together.
//
// It is kept apart from package ui because importing fyne.io/fyne/v2/app
// links the GL driver, which would stop ui's tests from rendering with
// fyne's test driver under CGO_ENABLED=0.
package kiosk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/ui"
)

// AppID is the Fyne application id (its preferences and storage live
// under it).
const AppID = "org.hearth.hearthd"

// ErrWindowClosed is returned by Run when the window was closed (by a
// window manager; the screen itself offers no way to close it).
var ErrWindowClosed = errors.New("kiosk window closed")

// ErrNoDisplay is returned by Run when the display cannot be opened.
var ErrNoDisplay = errors.New("cannot open the display")

// Options configures the window.
type Options struct {
	// Title names the window (for window managers and screenshots).
	Title string
	// Fullscreen covers the whole display; otherwise a borderless window
	// of Size is used (development).
	Fullscreen bool
	// Size is the window size when not full screen (default 1280x720).
	Size fyne.Size
	// Clock times the parking of the event loop (default: the real one).
	Clock clock.Clock
	// OnStill, if set, is called on its own goroutine each time the screen
	// stops moving (a fade or a call ended), with the loop parked.
	OnStill func()
}

// Run shows s in a window and runs the Fyne event loop on the calling
// goroutine, which must be the program's main goroutine. Beside it, it runs
// s.Run and background (may be nil) in an errgroup. It returns when ctx is
// cancelled (nil), when s.Run or background fails (that error), or when
// the event loop ends by itself: on SIGINT/SIGTERM, which Fyne catches (nil),
// or when the window is closed (ErrWindowClosed).
func Run(ctx context.Context, s *ui.Screen, opt Options, background func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	a, w, err := newWindow(opt.Title)
	if err != nil {
		return err
	}
	a.Settings().SetTheme(ui.Theme()) // a black ground: see ui.Theme
	w.SetPadded(false)
	// The pointer is hidden by the display server (Xorg -nocursor, cage),
	// not by Fyne: a Fyne cursor change that arrives while the window is
	// closing dereferences the destroyed GLFW window (Fyne 2.7.1), which
	// crashed a quick shutdown under Xvfb (see quit below, too).
	// The screen's content goes in once its fonts are loaded, on a second
	// core while this one opens the window and its GL context: parsing the
	// fonts (the theme's, the emoji font and a system fallback, for each
	// text style) and opening the window each take a large part of the
	// start, and the window first paints the theme's black ground only.
	// Until then an empty container: the window clears to the theme's black
	// (with no content at all Fyne paints nothing, and the window shows the
	// display server's grey).
	// The content is queued from a goroutine (from this one, before Run,
	// fyne.Do would run it at once) and waits on the loop for the fonts:
	// a stop before the loop runs it drops it, rather than setting content
	// on a window already destroyed.
	fonts := make(chan struct{})
	go func() {
		ui.LoadFonts()
		close(fonts)
	}()
	w.SetContent(container.NewWithoutLayout())
	go ui.Do(func() {
		<-fonts
		w.SetContent(s.Content())
	})
	size := opt.Size
	if size.Width <= 0 || size.Height <= 0 {
		size = fyne.NewSize(1280, 720)
	}
	w.Resize(size)
	w.SetFullScreen(opt.Fullscreen)

	// quit ends the event loop without closing the window first, as
	// App.Quit would: a closing window's next mouse event (the first one
	// sets Fyne's cursor) dereferences its nil GLFW window in Fyne 2.7.1,
	// and the loop may poll events once more after Quit. glfw.Terminate,
	// when the loop ends, destroys the window.
	quit := a.Driver().Quit
	closed := false
	w.SetCloseIntercept(func() {
		closed = true
		quit()
	})

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.Run(gctx); err != nil {
			return fmt.Errorf("screen: %w", err)
		}
		return nil
	})
	if background != nil {
		g.Go(func() error { return background(gctx) })
	}
	// Park the event loop while the screen is still (see ui.Do).
	wake := make(chan struct{}, 1)
	ui.SetLoopWaker(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer ui.SetLoopWaker(nil)
	clk := opt.Clock
	if clk == nil {
		clk = clock.Real()
	}
	g.Go(func() error {
		parker{screen: s, clk: clk, wake: wake, onStill: opt.OnStill}.run(gctx)
		return nil
	})
	// Quit the event loop when ctx ends, a goroutine fails or SIGTERM
	// comes. fyne.Do queues the call until the loop runs, so an early end
	// is not lost. Fyne quits on SIGTERM by itself too, but through its
	// own fyne.Do, which a parked loop only runs after maxPark.
	stopped := make(chan struct{})
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	go func() {
		select {
		case <-gctx.Done():
			ui.Do(quit)
		case <-term:
			ui.Do(quit)
		case <-stopped:
		}
	}()

	w.Show()
	a.Run() // until Quit, a signal or the window closing
	close(stopped)
	cancel()
	err = g.Wait()
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	case closed:
		return ErrWindowClosed
	}
	return nil
}

// newWindow makes the app and its borderless window. GLFW panics when the
// display cannot be opened (a display server that died or is not up yet);
// that becomes an error, so the daemon exits with a reason and is restarted.
func newWindow(title string) (a fyne.App, w fyne.Window, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrNoDisplay, r)
		}
	}()
	a = app.NewWithID(AppID)
	if drv, ok := a.Driver().(desktop.Driver); ok {
		w = drv.CreateSplashWindow() // no decorations
		w.SetTitle(title)
	} else {
		w = a.NewWindow(title)
	}
	return a, w, nil
}

// How the loop is parked: after anything woke it, it runs normally for
// settle and until it has drawn a frame (the queued work runs at once and
// the next 60 Hz tick paints it; a fade that starts keeps it from parking
// again until it ends), then it parks until woken, ctx ends, or maxPark
// passes. maxPark bounds how long what does not come through ui.Do waits:
// window-system events (Fyne polls them only while the loop runs) and any
// fyne.Do of Fyne's own. The clock's minute tick comes through ui.Do, so
// the loop runs at least once a minute anyway.
const (
	settle  = 100 * time.Millisecond
	maxPark = time.Minute
)

// parker parks Fyne's event loop whenever the screen is still.
type parker struct {
	screen *ui.Screen
	clk    clock.Clock
	wake   <-chan struct{}
	// onStill, if set, is called on its own goroutine when the screen
	// stops moving after it moved.
	onStill func()
}

// run parks the loop whenever the screen is still, by running on the loop
// a function that blocks, until ctx ends. Each park lasts until a wake
// (ui.Do sends one), ctx's end or maxPark.
func (p parker) run(ctx context.Context) {
	t := p.clk.NewTimer(settle)
	defer t.Stop()
	busy := false // the screen moved (a fade, a call) since the last park
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		afterFrame(ctx)
		fyne.DoAndWait(func() {
			if !p.screen.Still() {
				busy = true
				return
			}
			if busy && p.onStill != nil {
				busy = false
				go p.onStill()
			}
			limit := p.clk.NewTimer(maxPark)
			defer limit.Stop()
			select {
			case <-p.wake:
			case <-limit.C():
			case <-ctx.Done():
			}
		})
		t.Reset(settle)
	}
}

// afterFrame returns once Fyne's loop has drawn a frame, or ctx ends. A
// function queued (fyne.Do) after it returns runs after that frame. Fyne
// ticks animations just before it draws, in the same step of its loop, so
// the first tick of a new animation is the sign. Without it, work that ran
// longer than settle (the first layout of the screen, under the race
// detector) could be followed by a park before any frame showed it.
func afterFrame(ctx context.Context) {
	ticked := make(chan struct{})
	var once sync.Once
	a := fyne.NewAnimation(time.Millisecond, func(float32) { once.Do(func() { close(ticked) }) })
	fyne.Do(a.Start) // not ui.Do: the loop is not parked now, and a wake would cancel the next park
	select {
	case <-ticked:
	case <-ctx.Done():
	}
}
