package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hearth-home/hearth/internal/backoff"
	hsync "github.com/hearth-home/hearth/sync"
)

// retryPolicy is the reconnect backoff of the watching commands: at once,
// then up to 500 ms, the ceiling doubling up to 15 s, with full jitter so
// that many watchers of one broker do not knock together when it returns.
var retryPolicy = backoff.Policy{Base: 500 * time.Millisecond, Cap: 15 * time.Second}

// redial keeps the broker connection of a command that watches (fleet
// --watch, activity --follow). An hsync.Conn does not reconnect; when it is
// lost, redial says so once on stderr, dials again after a backoff, and
// says when the broker is back. connect makes the connection and
// subscribes; what it subscribes brings the retained topics again.
//
// The owner selects on Lost and Retry in its loop and calls Dropped and
// Redial from there; nothing runs on another goroutine.
type redial struct {
	e       *env
	name    string // the command, for stderr lines
	connect func(ctx context.Context) (*hsync.Conn, error)

	conn    *hsync.Conn // nil while down
	down    time.Time   // when the broker was lost; zero while connected
	retry   <-chan time.Time
	fails   int // failed redials in a row
	lastErr string
}

// Lost is the current connection's Lost, nil while down.
func (r *redial) Lost() <-chan struct{} {
	if r.conn == nil {
		return nil
	}
	return r.conn.Lost()
}

// Retry fires when it is time to Redial; nil while connected.
func (r *redial) Retry() <-chan time.Time { return r.retry }

// Down is when the broker was lost, zero while connected.
func (r *redial) Down() time.Time { return r.down }

// Dropped takes note that Lost fired and schedules a first retry at once.
func (r *redial) Dropped() {
	r.down = r.e.now()
	fmt.Fprintf(r.e.stderr, "%s: broker unreachable since %s, retrying (%v)\n", r.name, r.e.clock(r.down), r.conn.LostErr())
	r.conn.Close()
	r.conn, r.fails = nil, 0
	r.retry = time.After(0)
}

// Redial tries to connect once; true when connected again. A failure
// schedules the next try, and is printed when it differs from the last.
func (r *redial) Redial(ctx context.Context) bool {
	r.retry = nil
	c, err := r.connect(ctx)
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		if err.Error() != r.lastErr {
			fmt.Fprintf(r.e.stderr, "%s: %v; retrying\n", r.name, err)
			r.lastErr = err.Error()
		}
		r.retry = time.After(retryPolicy.Delay(r.fails))
		r.fails++
		return false
	}
	fmt.Fprintf(r.e.stderr, "%s: broker back at %s\n", r.name, r.e.clock(r.e.now()))
	r.conn, r.down, r.lastErr = c, time.Time{}, ""
	return true
}

// Close closes the connection, if there is one.
func (r *redial) Close() {
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// clock is a time of day in the user's zone, for status lines.
func (e *env) clock(t time.Time) string { return t.In(e.loc).Format("15:04:05") }
