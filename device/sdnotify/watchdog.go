package sdnotify

import (
	"context"
	"log/slog"
	"time"

	"github.com/hearth-home/hearth/device/clock"
)

// Watchdog sends systemd's watchdog keep-alive every Interval/2 while
// Health says hearthd is well. When Health fails, the keep-alives stop, and
// systemd restarts hearthd once Interval has passed without one
// (WatchdogSec=, Restart=always): a wedged daemon comes back by itself,
// with no one at the device to notice.
type Watchdog struct {
	// Interval is the unit's WatchdogSec= (WatchdogInterval). Zero
	// disables the watchdog: Run returns at once.
	Interval time.Duration
	// Clock times the keep-alives; nil means the wall clock.
	Clock clock.Clock
	// Health returns nil while hearthd works. It is called before each
	// keep-alive with a context that ends after Interval/2; it must
	// return by then (a check that hangs stops the keep-alives too, but
	// also keeps Run from returning). Nil means always healthy.
	Health func(ctx context.Context) error
	// Notify sends one notification; nil means the package's Notify.
	Notify func(state string) error
	// Logger reports health changes and failed sends; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Run sends keep-alives until ctx ends: the first at once, then every
// Interval/2. Cancellation is not an error; Run always returns nil.
func (w *Watchdog) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		return nil
	}
	clk, notify, log := w.Clock, w.Notify, w.Logger
	if clk == nil {
		clk = clock.Real()
	}
	if notify == nil {
		notify = Notify
	}
	if log == nil {
		log = slog.Default()
	}
	period := w.Interval / 2
	timer := clk.NewTimer(0)
	defer timer.Stop()
	healthy, sendFailed := true, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
		}
		if err := w.check(ctx, period); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if healthy {
				log.Error("unhealthy: withholding the watchdog keep-alive, systemd will restart hearthd",
					"err", err, "within", w.Interval)
			}
			healthy = false
		} else {
			if !healthy {
				log.Info("healthy again: watchdog keep-alives resumed")
			}
			healthy = true
			// Log a failing send once, not every period.
			if err := notify("WATCHDOG=1"); err != nil && !sendFailed {
				log.Warn("watchdog keep-alive", "err", err)
				sendFailed = true
			} else if err == nil {
				sendFailed = false
			}
		}
		timer.Reset(period)
	}
}

func (w *Watchdog) check(ctx context.Context, within time.Duration) error {
	if w.Health == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	return w.Health(ctx)
}
