package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// listed is one row of `content ls`.
type listed struct {
	ID     string          `json:"id"`
	Rev    uint64          `json:"rev"`
	Kind   proto.Kind      `json:"kind"`
	From   string          `json:"from,omitempty"`
	Sender string          `json:"sender,omitempty"` // the signer's id; absent when unsigned
	Text   string          `json:"text,omitempty"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	State  proto.ItemState `json:"state"`
	Reason string          `json:"reason,omitempty"`
	// Source says where the row comes from: "device" (the device's own
	// report) or "sent" (on the broker, not yet confirmed by the device).
	Source string `json:"source"`
}

func (e *env) contentList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("content ls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	device := fs.String("device", "", "device `id`")
	at := fs.String("at", "", "only what is on screen at `TIME` (\"now\" for now)")
	asJSON := fs.Bool("json", false, "print JSON")
	strict := strictFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !proto.ValidID(*device) {
		return fmt.Errorf("content ls: --device: %q is not a device id", *device)
	}
	conn, scr, err := e.dialScreen(ctx, "content ls", "hearthctl", *device, *strict)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Times are the screen's: "what it shows on the 24th" is the 24th
	// where the screen is.
	loc := scr.Loc(e.loc)
	var when time.Time
	if *at == "now" {
		when = e.now()
	} else if *at != "" {
		t, err := parseTime(*at, loc)
		if err != nil {
			return fmt.Errorf("content ls: --at: %w", err)
		}
		when = t
	}
	rows, inv, err := e.gather(ctx, conn, *device)
	if err != nil {
		return err
	}
	if !when.IsZero() {
		kept := rows[:0]
		for _, r := range rows {
			if r.State != proto.StateDeleted && r.State != proto.StateRefused && !when.Before(r.Start) && when.Before(r.End) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	note := zoneNote(loc, e.loc, e.now())
	if inv == nil {
		fmt.Fprintf(e.stdout, "device %s has not reported yet; showing what was sent%s\n", *device, note)
	} else {
		fmt.Fprintf(e.stdout, "device %s reported at %s%s\n", *device, inv.Time.In(loc).Format("Mon 2 Jan 15:04:05"), note)
		if inv.Truncated {
			fmt.Fprintf(e.stdout, "its report is cut short: %d of its items are left out (see docs/protocol.md for which are listed)\n", inv.Omitted)
		}
	}
	width := e.width
	if width == 0 {
		width = termWidth(e.stdout)
	}
	if err := writeTable(e.stdout, width, contentColumns, contentCells(rows, loc)); err != nil {
		return err
	}
	first := true
	for _, r := range rows {
		if r.Reason == "" {
			continue
		}
		if first {
			fmt.Fprintf(e.stdout, "\n* why:\n")
			first = false
		}
		fmt.Fprintf(e.stdout, "  %s\n", wrap(r.ID+": "+r.Reason, width-2, 4))
	}
	if inv != nil && len(inv.Refused) > 0 {
		fmt.Fprintf(e.stdout, "\nrefused by the device (newest last):\n")
		for _, r := range inv.Refused {
			fmt.Fprintf(e.stdout, "  %s\n", wrap(fmt.Sprintf("%s  %s: %s", r.Time.In(loc).Format("2 Jan 15:04:05"), r.Topic, r.Reason), width-2, 4))
		}
	}
	return nil
}

// contentColumns are content ls's columns. The text is cut first to 20
// characters, then the sender's name, then the text again, so that the
// text stays on an 80-column terminal;
// the ids are never cut (content rm takes them). The reasons of refused
// items follow the table, wrapped. A photo's text starts "(photo)".
var contentColumns = []column{
	{Head: "ID"}, {Head: "FROM", Min: 6, Cut: 2}, {Head: "FROM TIME"}, {Head: "UNTIL"},
	{Head: "STATE"}, {Head: "TEXT", Min: 14, Want: 20, Cut: 1},
}

func contentCells(rows []listed, loc *time.Location) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		state := string(r.State)
		if r.Reason != "" {
			state += "*" // the reason follows the table
		}
		text := r.Text
		if r.Kind == proto.KindPhoto {
			text = strings.TrimSpace("(photo) " + text)
		}
		out[i] = []string{r.ID, dash(r.From), fmtShort(r.Start, loc), fmtShort(r.End, loc), state, text}
	}
	return out
}

// fmtShort is a time in a table: "24 Nov 14:00".
func fmtShort(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2 Jan 15:04")
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// gather merges the device's inventory with what the broker holds for it.
func (e *env) gather(ctx context.Context, conn *hsync.Conn, device string) ([]listed, *proto.Inventory, error) {
	sent, err := conn.Retained(ctx, proto.ContentFilter(device), 500*time.Millisecond)
	if err != nil {
		return nil, nil, err
	}
	invMsgs, err := conn.Retained(ctx, proto.InventoryTopic(device), 300*time.Millisecond)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]listed{}
	var inv *proto.Inventory
	if p, ok := invMsgs[proto.InventoryTopic(device)]; ok {
		v, err := proto.DecodeInventory(p)
		if err != nil {
			fmt.Fprintf(e.stderr, "warning: the device's report is unreadable: %v\n", err)
		} else {
			inv = &v
			for _, it := range v.Items {
				byID[it.ID] = listed{ID: it.ID, Rev: it.Rev, Kind: it.Kind, From: it.From, Sender: it.Sender, Text: it.Text,
					Start: it.Start, End: it.End, State: it.State, Reason: it.Reason, Source: "device"}
			}
		}
	}
	for topic, p := range sent {
		it, err := proto.DecodeItem(device, topic, p)
		if err != nil {
			continue // the device reports its own refusals
		}
		if have, ok := byID[it.ID]; ok && have.Rev >= it.Rev {
			continue
		}
		st := proto.StatePending
		if it.Deleted {
			st = proto.StateDeleted
		}
		byID[it.ID] = listed{ID: it.ID, Rev: it.Rev, Kind: it.Kind, From: it.From, Sender: it.Sender, Text: it.Text,
			Start: it.Start, End: it.End, State: st, Source: "sent"}
	}
	rows := make([]listed, 0, len(byID))
	for _, r := range byID {
		if r.State == proto.StateDeleted {
			continue
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].Start.Equal(rows[j].Start) {
			return rows[i].Start.After(rows[j].Start)
		}
		return rows[i].ID < rows[j].ID
	})
	return rows, inv, nil
}

// changeFlags are what content rm and content edit share: the screen
// (--device), the sender's key (--caller) and --strict.
type changeFlags struct {
	cmd       string
	fs        *flag.FlagSet
	device    *string
	callerDir *string
	strict    *bool
}

func (e *env) newChangeFlags(cmd string) *changeFlags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return &changeFlags{cmd: cmd, fs: fs, device: fs.String("device", "", "device `id`"), callerDir: senderFlag(fs), strict: strictFlag(fs)}
}

// parse reads args (flags and item ids in any order), checks --device and
// returns the item ids.
func (c *changeFlags) parse(args []string) ([]string, error) {
	ids, err := parseInterspersed(c.fs, args)
	if err != nil {
		return nil, err
	}
	if !proto.ValidID(*c.device) {
		return nil, fmt.Errorf("%s: --device: %q is not a device id", c.cmd, *c.device)
	}
	return ids, nil
}

// open loads the sender's key (nil: unsigned) and connects to the broker,
// looking the screen up; the caller closes conn.
func (c *changeFlags) open(ctx context.Context, e *env) (*provisioning.Caller, *hsync.Conn, screen, error) {
	who, err := loadSender(*c.callerDir)
	if err != nil {
		return nil, nil, screen{}, fmt.Errorf("%s: %w", c.cmd, err)
	}
	conn, scr, err := e.dialScreen(ctx, c.cmd, "hearthctl", *c.device, *c.strict)
	if err != nil {
		return nil, nil, screen{}, err
	}
	return who, conn, scr, nil
}

func (e *env) contentRemove(ctx context.Context, args []string) error {
	f := e.newChangeFlags("content rm")
	ids, err := f.parse(args)
	if err != nil {
		return err
	}
	device := f.device
	if len(ids) == 0 {
		return errors.New("content rm: name the item ids to remove")
	}
	who, conn, _, err := f.open(ctx, e)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, _, err := e.gather(ctx, conn, *device)
	if err != nil {
		return err
	}
	byID := map[string]listed{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			return fmt.Errorf("content rm: %s has no item %q (see hearthctl content ls --device %s)", *device, id, *device)
		}
	}
	if who == nil {
		fmt.Fprintln(e.stderr, "warning: removing unsigned (no --caller or $HEARTH_CALLER): screens that require signed items will refuse it")
	}
	for _, id := range ids {
		r := byID[id]
		warnOwner(e, r, who)
		tomb := proto.Item{V: proto.Version, ID: id, Device: *device, Rev: r.Rev + 1, Deleted: true}
		if err := e.publishOne(ctx, conn, tomb, who, "removed"); err != nil {
			return fmt.Errorf("content rm: %w", err)
		}
	}
	return nil
}

// warnOwner says when a change to r will be refused for being someone
// else's item (only its sender, or an admin, may change a signed item).
func warnOwner(e *env, r listed, who *provisioning.Caller) {
	if r.Sender == "" || (who != nil && who.ID == r.Sender) {
		return
	}
	fmt.Fprintf(e.stderr, "warning: %s was sent by %s: the screen takes the change only from them or an admin\n", r.ID, r.Sender)
}

// contentEdit: hearthctl content edit --device ID [--start TIME] [--until TIME | --days N] ITEM-ID
// changes an item's window: the item as the broker holds it, its
// revision raised, signed again with the sender's key.
func (e *env) contentEdit(ctx context.Context, args []string) error {
	f := e.newChangeFlags("content edit")
	start := f.fs.String("start", "", "show from `TIME` (\"now\" for now)")
	until := f.fs.String("until", "", "show until `TIME`")
	days := f.fs.Int("days", 0, "show for `N` days from the start")
	ids, err := f.parse(args)
	if err != nil {
		return err
	}
	device := f.device
	if len(ids) != 1 {
		return errors.New("content edit: name one item id")
	}
	switch {
	case *start == "" && *until == "" && *days == 0:
		return errors.New("content edit: give --start, --until or --days")
	case *until != "" && *days != 0:
		return errors.New("content edit: give --until or --days, not both")
	}
	who, conn, scr, err := f.open(ctx, e)
	if err != nil {
		return err
	}
	defer conn.Close()
	loc := scr.Loc(e.loc)
	id := ids[0]
	it, ok, err := e.current(ctx, conn, *device, id)
	if err != nil {
		return err
	}
	if !ok || it.Deleted {
		return fmt.Errorf("content edit: the broker holds no item %q for %s (see hearthctl content ls --device %s; an item the broker lost must be sent again)", id, *device, *device)
	}
	// The device may hold a later revision than the broker (a broker that
	// lost its retained messages): go above both.
	rows, _, err := e.gather(ctx, conn, *device)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.ID == id {
			warnOwner(e, r, who)
			it.Rev = max(it.Rev, r.Rev)
		}
	}
	it.Rev++
	length := it.End.Sub(it.Start)
	if *start == "now" {
		it.Start = e.now().Truncate(time.Second)
	} else if *start != "" {
		t, err := parseTime(*start, loc)
		if err != nil {
			return fmt.Errorf("content edit: --start: %w", err)
		}
		it.Start = t
	}
	switch {
	case *until != "":
		t, err := parseTime(*until, loc)
		if err != nil {
			return fmt.Errorf("content edit: --until: %w", err)
		}
		it.End = t
	case *days != 0:
		it.End = it.Start.AddDate(0, 0, *days)
	default:
		it.End = it.Start.Add(length) // a new start keeps the length
	}
	it.Days = 0
	if err := it.Normalize(); err != nil {
		return fmt.Errorf("content edit: %w", err)
	}
	if who == nil {
		fmt.Fprintln(e.stderr, unsignedWarning)
		it.Sender, it.Sig = "", nil
		if err := it.Normalize(); err != nil {
			return fmt.Errorf("content edit: %w", err)
		}
	}
	return e.publishOne(ctx, conn, it, who, "changed")
}
