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
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"golang.org/x/sync/errgroup"

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
	w.SetContent(s.Content())
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
	g.Go(func() error {
		parkWhileStill(gctx, s, wake)
		return nil
	})
	// Quit the event loop when ctx ends or a goroutine fails. fyne.Do
	// queues the call until the loop runs, so an early end is not lost.
	stopped := make(chan struct{})
	go func() {
		select {
		case <-gctx.Done():
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
// settle (the queued work runs at once and the next 60 Hz tick paints it;
// a fade that starts keeps it from parking again until it ends), then it
// parks until woken, ctx ends, or maxPark passes. maxPark bounds how long
// what does not come through ui.Do waits: window-system events (Fyne
// polls them only while the loop runs) and any fyne.Do of Fyne's own.
const (
	settle  = 100 * time.Millisecond
	maxPark = 5 * time.Second
)

// parkWhileStill parks Fyne's event loop whenever the screen is still, by
// running on the loop a function that blocks, until ctx ends. Each park
// lasts until a wake (ui.Do sends one), ctx's end or maxPark.
func parkWhileStill(ctx context.Context, s *ui.Screen, wake <-chan struct{}) {
	t := time.NewTimer(settle)
	defer t.Stop()
	busy := false // the screen moved (a fade, a call) since the last park
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fyne.DoAndWait(func() {
			if !s.Still() {
				busy = true
				return
			}
			if busy {
				// A fade's frames leave garbage behind (text rasterised at
				// each alpha step): hand the memory back now that nothing
				// moves, rather than when the scavenger gets to it.
				busy = false
				go debug.FreeOSMemory()
			}
			limit := time.NewTimer(maxPark)
			defer limit.Stop()
			select {
			case <-wake:
			case <-limit.C:
			case <-ctx.Done():
			}
		})
		t.Reset(settle)
	}
}
