package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// bookCmd: hearthctl book DEVICE --caller DIR --at TIME --for 10m [--reason TEXT] [--id ID],
// or hearthctl book DEVICE --caller DIR --cancel ID. It signs a booking
// with the caller's key and publishes it (QoS 1, not retained) on the
// device's booking topic. The device shows "Nurse Eva will call at 14:00"
// from two hours before; a refusal shows in hearthctl activity as
// input_refused.
func (e *env) bookCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("book", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	callerDir := fs.String("caller", "", "the carer's key `folder` (caller new); the allowlist must let them make forced calls")
	at := fs.String("at", "", "when the call is booked: `TIME`, or HH:MM for the next such time")
	length := fs.Duration("for", 15*time.Minute, "how long the call is booked for (at most 4h)")
	reason := fs.String("reason", "", "what the call is for, shown on the screen")
	id := fs.String("id", "", "the booking's `id` (default: a new one); the same id books it again with new details")
	cancel := fs.String("cancel", "", "cancel the booking `id`")
	strict := strictFlag(fs)
	device, who, err := deviceAndCaller(fs, args, "book", callerDir)
	if err != nil {
		return err
	}
	conn, scr, err := e.dialScreen(ctx, "book", "hearthctl-book", device, *strict)
	if err != nil {
		return err
	}
	defer conn.Close()
	// HH:MM is the screen's clock: "at 14:00" is 14:00 where the
	// resident is, and is printed so.
	loc := scr.Loc(e.loc)
	now := e.now().UTC().Truncate(time.Second)
	// Each revision is numbered by when it was made, in milliseconds (a
	// cancellation may follow its booking within the second), so a later
	// one (a change, a cancellation) replaces an earlier one.
	b := proto.Booking{V: proto.Version, Device: device, Caller: who.ID, Rev: uint64(e.now().UnixMilli()), Issued: now}
	switch {
	case *cancel != "":
		if *at != "" || *reason != "" || *id != "" {
			return fmt.Errorf("book: --cancel takes no --at, --reason or --id")
		}
		b.ID, b.Cancel = *cancel, true
	case *at == "":
		return fmt.Errorf("book: --at TIME is required (or --cancel ID)")
	default:
		t, err := parseTimeOrClock(*at, now, loc)
		if err != nil {
			return fmt.Errorf("book --at: %w", err)
		}
		b.ID, b.At, b.LengthS, b.Reason = *id, t.Truncate(time.Second), int(*length/time.Second), *reason
		if b.ID == "" {
			var rnd [6]byte
			_, _ = rand.Read(rnd[:])
			b.ID = "bk-" + hex.EncodeToString(rnd[:])
		}
	}
	b.Sig = []byte{0} // checked below as the device will, then signed
	if err := b.Check(device); err != nil {
		return fmt.Errorf("book: %w", err)
	}
	b.Sig = ed25519.Sign(who.Key, b.SigningBytes())
	payload, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("book: %w", err)
	}
	if err := conn.Publish(ctx, proto.BookingTopic(device), payload, false); err != nil {
		return fmt.Errorf("book: %w", err)
	}
	if b.Cancel {
		fmt.Fprintf(e.stdout, "cancelled booking %s on %s; see hearthctl activity %s\n", b.ID, device, device)
		return nil
	}
	fmt.Fprintf(e.stdout, "booked %s with %s at %s%s for %s (id %s); see hearthctl activity %s\n",
		who.ID, device, b.At.In(loc).Format("2006-01-02 15:04"), zoneNote(loc, e.loc, b.At), b.Length(), b.ID, device)
	return nil
}

// deviceAndCaller parses a caller's command, "CMD DEVICE --caller DIR
// [flags]" (the device may also follow the flags), and loads the caller
// from the folder the caller flag names.
func deviceAndCaller(fs *flag.FlagSet, args []string, cmd string, callerDir *string) (string, provisioning.Caller, error) {
	device, rest := "", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		device, rest = args[0], args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return "", provisioning.Caller{}, err
	}
	if device == "" && fs.NArg() > 0 {
		device = fs.Arg(0)
	}
	if !proto.ValidID(device) {
		return "", provisioning.Caller{}, fmt.Errorf("%s: %q is not a device id", cmd, device)
	}
	who, err := provisioning.LoadCaller(*callerDir)
	if err != nil {
		return "", provisioning.Caller{}, fmt.Errorf("%s: %w", cmd, err)
	}
	return device, who, nil
}
