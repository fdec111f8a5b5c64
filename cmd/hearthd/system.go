package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-home/hearth/ui"
)

// alive is the systemd watchdog's health check: the store answers, the
// call loop answers (a media stack that hangs stops it) and, with a
// screen, Fyne's event loop runs. A wedged daemon stops petting the
// watchdog and systemd restarts it.
func (r *root) alive(ctx context.Context) error {
	if _, err := r.st.ActivityDelivered(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if r.calls != nil {
		if err := r.calls.mgr.Alive(ctx); err != nil {
			return fmt.Errorf("call loop: %w", err)
		}
	}
	if r.screen == nil {
		return nil
	}
	done := make(chan struct{})
	ui.Do(func() { close(done) })
	t := r.clk.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return errors.New("the screen's event loop did not answer in 10 s")
	}
}
