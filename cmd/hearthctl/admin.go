package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// adminCmd: hearthctl admin DEVICE --org DIR reboot|factory-reset|night HH:MM-HH:MM|volume N|
// dnd --for 2h|--until TIME|off builds a command, signs it with the organisation's key and publishes it
// (QoS 1, not retained) on the device's admin topic. The device reports
// admin_applied or admin_refused in its activity log (hearthctl activity).
func (e *env) adminCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("org", "", "the organisation's `folder` (provision ca init)")
	life := fs.Duration("valid", 5*time.Minute, "how long the device may take the command (at most 10m)")
	dndFor := fs.Duration("for", 0, "dnd: do not disturb for this `long` (at most 7 days: 168h)")
	dndUntil := fs.String("until", "", "dnd: do not disturb until `TIME` (or HH:MM: the next one, on the screen's clock)")
	strict := strictFlag(fs)
	device, rest := "", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		device, rest = args[0], args[1:]
	}
	// Flags may come before or after the command.
	var words []string
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if device == "" && len(words) > 0 {
		device, words = words[0], words[1:]
	}
	if !proto.ValidID(device) {
		return fmt.Errorf("admin: %q is not a device id", device)
	}
	if *orgDir == "" {
		return fmt.Errorf("admin: --org is required")
	}
	if *life <= 0 || *life > proto.MaxAdminLife {
		return fmt.Errorf("admin: --valid %s: between 1s and %s", *life, proto.MaxAdminLife)
	}
	now := e.now().UTC().Truncate(time.Second)
	cmd, arg, err := adminWords(words)
	if err == nil && cmd != proto.AdminSetDND && (*dndFor != 0 || *dndUntil != "") {
		err = fmt.Errorf("--for and --until are for dnd")
	}
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	org, err := provisioning.LoadOrg(*orgDir)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	conn, scr, err := e.dialScreen(ctx, "admin", "hearthctl", device, *strict)
	if err != nil {
		return err
	}
	defer conn.Close()
	loc := scr.Loc(e.loc)
	if cmd == proto.AdminSetDND {
		if arg, err = dndArg(arg, *dndFor, *dndUntil, now, loc); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	a := proto.AdminCommand{V: proto.Version, ID: "adm-" + hex.EncodeToString(rnd[:]), Device: device,
		Cmd: cmd, Arg: arg, Issued: now, Expires: now.Add(*life)}
	if err := a.CheckArg(); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	a.Sig = ed25519.Sign(org.Key, a.SigningBytes())
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if err := conn.Publish(ctx, proto.AdminTopic(device), b, false); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(e.stdout, "sent %s to %s (id %s, valid until %s); see hearthctl activity %s\n",
		adminDesc(a, loc, e.loc), device, a.ID, a.Expires.In(e.loc).Format("15:04:05"), device)
	return nil
}

// adminWords reads the command words: reboot, factory-reset, night HOURS,
// volume N, dnd [off] (dndArg reads the rest of dnd).
func adminWords(w []string) (proto.AdminCmd, string, error) {
	usage := fmt.Errorf("want reboot, factory-reset, night HH:MM-HH:MM|off, volume 0-100 or dnd --for DURATION|--until TIME|off, got %q", w)
	switch {
	case len(w) == 1 && w[0] == "reboot":
		return proto.AdminReboot, "", nil
	case len(w) == 1 && (w[0] == "factory-reset" || w[0] == "factory_reset"):
		return proto.AdminFactoryReset, "", nil
	case len(w) == 2 && w[0] == "night":
		return proto.AdminSetNight, w[1], nil
	case len(w) == 2 && w[0] == "volume":
		if n, err := strconv.Atoi(w[1]); err == nil {
			return proto.AdminSetVolume, strconv.Itoa(n), nil
		}
		return "", "", usage
	case len(w) == 1 && w[0] == "dnd":
		return proto.AdminSetDND, "", nil
	case len(w) == 2 && w[0] == "dnd" && w[1] == "off":
		return proto.AdminSetDND, "off", nil
	}
	return "", "", usage
}

var timeOfDay = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):[0-5][0-9]$`)

// dndArg makes set_dnd's argument from one of: off, --for DURATION from
// now, --until TIME (HH:MM is the next such time in loc).
func dndArg(word string, d time.Duration, until string, now time.Time, loc *time.Location) (string, error) {
	given := 0
	for _, ok := range []bool{word == "off", d != 0, until != ""} {
		if ok {
			given++
		}
	}
	if given != 1 {
		return "", errors.New("dnd: give one of --for DURATION, --until TIME or off")
	}
	var end time.Time
	switch {
	case word == "off":
		return "off", nil
	case d < 0:
		return "", fmt.Errorf("dnd --for %s: want a time ahead", d)
	case d > 0:
		end = now.Add(d)
	default:
		t, err := parseTimeOrClock(until, now, loc)
		if err != nil {
			return "", fmt.Errorf("dnd --until: %w", err)
		}
		end = t
	}
	return end.UTC().Truncate(time.Second).Format(time.RFC3339), nil
}

// parseTimeOrClock reads a time as parseTime does, or HH:MM: the next
// time the clock in loc reads it after now.
func parseTimeOrClock(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if !timeOfDay.MatchString(s) {
		t, err := parseTime(s, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w (or HH:MM)", err)
		}
		return t, nil
	}
	hm, _ := time.Parse("15:04", s)
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
	if !t.After(now) {
		t = time.Date(l.Year(), l.Month(), l.Day()+1, hm.Hour(), hm.Minute(), 0, 0, loc)
	}
	return t, nil
}

// adminDesc says what a does; do-not-disturb's end on the screen's clock
// (screen), noted when it differs from the user's (mine).
func adminDesc(a proto.AdminCommand, screen, mine *time.Location) string {
	switch {
	case a.Cmd == proto.AdminSetDND && a.Arg == "off":
		return "do-not-disturb off"
	case a.Cmd == proto.AdminSetDND:
		return "do-not-disturb until " + a.DNDUntil().In(screen).Format("Mon 2 Jan 15:04") + zoneNote(screen, mine, a.DNDUntil())
	case a.Arg == "":
		return string(a.Cmd)
	}
	return string(a.Cmd) + " " + a.Arg
}
