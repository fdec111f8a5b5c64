package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/hearth-home/hearth/cmd/internal/caller"
	"github.com/hearth-home/hearth/cmd/internal/callmedia"
	"github.com/hearth-home/hearth/media"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// callCmd: hearthctl call DEVICE --caller DIR [--forced --reason TEXT] [--for 30s] [--json]
// A headless Pion caller with test media: it says what happened and, with
// --json, how fast and how much came back.
func (e *env) callCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	callerDir := fs.String("caller", "", "the caller's key `folder` (caller new)")
	forced := fs.Bool("forced", false, "a forced call (connects after the announcement)")
	reason := fs.String("reason", "", "why the call is made, shown on the screen (forced calls)")
	stay := fs.Duration("for", 30*time.Second, "how long to stay in the call once it is answered")
	limit := fs.Duration("limit", 0, "the call's time limit to ask for (default: the device's)")
	join := fs.String("join", "", "join the call `id` in progress, or \"auto\": wait until the first caller adds you")
	add := fs.String("add", "", "once answered, let caller `ID` join this call (a group call)")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the device to answer")
	extend := fs.Bool("extend", false, "ask for 15 more minutes once answered")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	verbose := fs.Bool("v", false, "log the call's steps to stderr")
	strict := strictFlag(fs)
	device, who, err := deviceAndCaller(fs, args, "call", callerDir)
	if err != nil {
		return err
	}
	lvl := slog.LevelWarn
	if *verbose {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))

	conn, scr, err := e.dialScreen(ctx, "call", "hearthctl-call", device, *strict)
	if err != nil {
		return err
	}
	defer conn.Close()
	loc := scr.Loc(e.loc)
	if !scr.Reported {
		fmt.Fprintf(e.stderr, "calling %s anyway; waiting up to %s for an answer (Ctrl-C to stop)\n", device, *wait)
	}
	if a := scr.Avail; a != nil && a.State == proto.AvailDoNotDisturb && !*forced && a.DNDUntil.After(e.now()) {
		fmt.Fprintf(e.stderr, "%s is in do-not-disturb until %s%s: only forced calls are put through\n", device,
			a.DNDUntil.In(loc).Format("15:04"), zoneNote(loc, e.loc, a.DNDUntil))
	}
	mode := proto.ModeSignalled
	if *forced {
		mode = proto.ModeForced
	}
	if *join == "auto" {
		if *join, err = e.waitAdded(ctx, conn, device, who.ID, *wait); err != nil {
			return err
		}
	}
	c, err := caller.New(caller.Options{
		Device: device, Caller: who, Mode: mode, Reason: *reason, Limit: *limit, Join: *join,
		Media: callmedia.New(media.KindTest, log), Loopback: true, Logger: log,
		Send: func(b []byte) error {
			conn.PublishAsync(proto.CallInTopic(device), b)
			return nil
		},
	})
	if err != nil {
		return err
	}
	// The state replies carry when the call's time runs out (ends): the
	// loop below tells the caller, and warns 5 minutes before, as the
	// screen warns the resident.
	ends := make(chan time.Time, 1)
	err = conn.Subscribe(ctx, proto.CallOutTopic(device, who.ID), func(_ string, payload []byte) {
		r, err := proto.DecodeReply(payload)
		if err != nil {
			log.Warn("bad reply from the device", "err", err)
			return
		}
		if r.Type == proto.SignalState && !r.Ends.IsZero() && r.Call == c.ID() {
			select {
			case <-ends: // only the latest counts
			default:
			}
			ends <- r.Ends
		}
		c.Handle(r)
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer c.Close()

	// Wait for the answer, then stay for --for, then hang up.
	answered := time.NewTimer(*wait)
	defer answered.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var hangupAt <-chan time.Time
	interrupted, unanswered := false, false
	ending := &callLimit{e: e, loc: loc}
	defer ending.stop()
loop:
	for {
		select {
		case <-ctx.Done():
			interrupted = true
			break loop
		case t := <-ends:
			ending.set(t)
		case <-ending.warnC():
			ending.warn()
		case <-c.Done():
			break loop
		case <-answered.C:
			if hangupAt == nil {
				unanswered = true
				break loop
			}
		case <-tick.C:
			if hangupAt == nil && c.Snapshot().Answered {
				hangupAt = time.After(*stay)
				if *extend {
					_ = c.Control(proto.ControlExtend)
				}
				if *add != "" {
					_ = c.Control(proto.ControlAdd + *add)
				}
			}
		case <-hangupAt:
			break loop
		}
	}
	select {
	case <-c.Done():
	default:
		_ = c.Hangup()
		time.Sleep(100 * time.Millisecond) // let the hangup reach the broker
	}
	res := c.Close()
	if unanswered || (!res.Answered && res.EndReason == "") {
		res.EndReason = "no answer within " + wait.String()
	}
	if interrupted {
		res.EndReason = "interrupted"
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	switch {
	case res.RefusedReason == proto.RefusedDND && scr.Avail != nil && scr.Avail.DNDUntil.After(e.now()):
		until := scr.Avail.DNDUntil
		fmt.Fprintf(e.stdout, "%s refused the call: %s until %s%s\n", device, res.RefusedReason,
			until.In(loc).Format("15:04"), zoneNote(loc, e.loc, until))
	case res.RefusedReason != "":
		fmt.Fprintf(e.stdout, "%s refused the call: %s\n", device, res.RefusedReason)
	case res.Busy && res.BusyWith != "" && !res.BusySince.IsZero():
		fmt.Fprintf(e.stdout, "%s is busy: in a call with %s since %s%s\n", device, res.BusyWith,
			res.BusySince.In(loc).Format("15:04"), zoneNote(loc, e.loc, res.BusySince))
	case res.Busy:
		fmt.Fprintf(e.stdout, "%s is busy\n", device)
	case res.Answered:
		fmt.Fprintf(e.stdout, "%s answered after %d ms; ICE connected at %d ms, first picture at %d ms\n",
			device, res.AnswerMs, res.ICEConnectedMs, res.FirstFrameMs)
		fmt.Fprintf(e.stdout, "received %d video frames and %d audio packets; ended: %s\n",
			res.VideoFramesReceived, res.AudioPacketsReceived, res.EndReason)
		return nil
	default:
		fmt.Fprintf(e.stdout, "%s did not answer: %s\n", device, res.EndReason)
	}
	return errors.New("call: not answered")
}

// warnBefore is how long before the call's end the caller is warned, as
// the device warns the resident (device/call Options.Warn).
const warnBefore = 5 * time.Minute

// callLimit follows the call's end as the device reports it: it says on
// stderr when the call will end and how long is left, again when the end
// moves (an extension), and warns warnBefore the end.
type callLimit struct {
	e      *env
	loc    *time.Location // the screen's
	ends   time.Time
	timer  *time.Timer
	warned bool
}

func (l *callLimit) set(ends time.Time) {
	if ends.Equal(l.ends) {
		return
	}
	first := l.ends.IsZero()
	l.ends, l.warned = ends, false
	l.stop()
	left := time.Until(ends).Round(time.Second)
	verb := "the call may last until"
	if !first {
		verb = "the call now ends at"
	}
	fmt.Fprintf(l.e.stderr, "%s %s%s: %s left\n", verb, ends.In(l.loc).Format("15:04"), zoneNote(l.loc, l.e.loc, ends), left)
	l.timer = time.NewTimer(max(0, time.Until(ends.Add(-warnBefore))))
}

// warnC fires when it is time to warn; nil while there is nothing to warn of.
func (l *callLimit) warnC() <-chan time.Time {
	if l.timer == nil || l.warned {
		return nil
	}
	return l.timer.C
}

func (l *callLimit) warn() {
	l.warned = true
	left := time.Until(l.ends).Round(time.Second)
	fmt.Fprintf(l.e.stderr, "the call ends in %s, at %s\n", left, l.ends.In(l.loc).Format("15:04"))
}

func (l *callLimit) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}

// waitAdded waits for the device to say that a caller in a call added us,
// and returns that call's id.
func (e *env) waitAdded(ctx context.Context, conn *hsync.Conn, device, me string, wait time.Duration) (string, error) {
	got := make(chan proto.Reply, 1)
	err := conn.Subscribe(ctx, proto.CallOutTopic(device, me), func(_ string, payload []byte) {
		if r, err := proto.DecodeReply(payload); err == nil && r.Type == proto.SignalJoin {
			select {
			case got <- r:
			default:
			}
		}
	})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(e.stderr, "waiting up to %s to be added to a call on %s\n", wait, device)
	select {
	case r := <-got:
		fmt.Fprintf(e.stderr, "%s added us to call %s\n", r.From, r.Call)
		return r.Call, nil
	case <-time.After(wait):
		return "", fmt.Errorf("call: nobody added us to a call on %s within %s", device, wait)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
