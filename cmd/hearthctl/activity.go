package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// dedupActivity drops repeated events (QoS 1 delivers some twice; the
// first copy wins) and orders them by the device's sequence number, then
// time and id.
func dedupActivity(events []proto.Activity) []proto.Activity {
	seen := make(map[string]bool, len(events))
	out := make([]proto.Activity, 0, len(events))
	for _, a := range events {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	sortActivity(out)
	return out
}

func sortActivity(a []proto.Activity) {
	sort.SliceStable(a, func(i, j int) bool {
		if a[i].Seq != a[j].Seq {
			return a[i].Seq < a[j].Seq
		}
		if !a[i].Time.Equal(a[j].Time) {
			return a[i].Time.Before(a[j].Time)
		}
		return a[i].ID < a[j].ID
	})
}

// sinceActivity keeps the events at or after since (all when it is zero).
func sinceActivity(events []proto.Activity, since time.Time) []proto.Activity {
	if since.IsZero() {
		return events
	}
	kept := events[:0:0]
	for _, a := range events {
		if !a.Time.Before(since) {
			kept = append(kept, a)
		}
	}
	return kept
}

// parseSince reads --since: a time (as parseTime) or a duration back from
// now ("24h", "90m", or days: "7d").
func parseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 36600 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	t, err := parseTime(s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w, or a duration such as 24h or 7d", err)
	}
	return t, nil
}

// activityCollector takes one device's events as they arrive (on paho's
// goroutine) and hands the ones not seen before to the command.
type activityCollector struct {
	device string
	mu     gosync.Mutex
	seen   map[string]bool
	fresh  []proto.Activity // not yet taken
	bad    int
	bump   chan struct{}
}

func newActivityCollector(device string) *activityCollector {
	return &activityCollector{device: device, seen: map[string]bool{}, bump: make(chan struct{}, 1)}
}

// ingest takes one message. Empty payloads are events the device cleared
// from the broker; an event for another device or under another id than
// its topic's is counted as undecodable.
func (c *activityCollector) ingest(topic string, payload []byte) {
	if len(payload) == 0 {
		return
	}
	defer func() {
		select {
		case c.bump <- struct{}{}:
		default:
		}
	}()
	a, err := proto.DecodeActivity(payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || a.Device != c.device || topic != proto.ActivityTopic(c.device, a.ID) {
		c.bad++
		return
	}
	if c.seen[a.ID] {
		return
	}
	c.seen[a.ID] = true
	c.fresh = append(c.fresh, a)
}

// take returns the events that came since the last take, and the count of
// undecodable ones so far.
func (c *activityCollector) take() ([]proto.Activity, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.fresh
	c.fresh = nil
	return out, c.bad
}

func (e *env) activity(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("activity", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	since := fs.String("since", "", "only events from `TIME` on, or from this long ago (24h, 7d)")
	asJSON := fs.Bool("json", false, "print JSON (with --follow: then one event a line)")
	follow := fs.Bool("follow", false, "keep printing new events")
	quiet := fs.Duration("quiet", 500*time.Millisecond, "the broker has sent all it holds once nothing came for this `long`")
	strict := strictFlag(fs)
	device, rest := "", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		device, rest = args[0], args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if device == "" && fs.NArg() == 1 {
		device = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("activity: unexpected %q", fs.Arg(0))
	}
	if !proto.ValidID(device) {
		return fmt.Errorf("activity: %q is not a device id (hearthctl activity DEVICE)", device)
	}
	var from time.Time
	if *since != "" {
		t, err := parseSince(*since, e.now(), e.loc)
		if err != nil {
			return fmt.Errorf("activity: --since: %w", err)
		}
		from = t
	}
	col := newActivityCollector(device)
	// Subscribing again after a reconnect brings the retained events
	// again; the collector passes on only those it has not seen.
	link := &redial{e: e, name: "activity", connect: func(ctx context.Context) (*hsync.Conn, error) {
		conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
		if err != nil {
			return nil, err
		}
		if err := conn.Subscribe(ctx, proto.ActivityFilter(device), col.ingest); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}}
	var err error
	if link.conn, err = link.connect(ctx); err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	defer link.Close()
	screens, err := e.lookScreens(ctx, link.conn, "activity", []string{device}, *strict)
	if err != nil {
		return err
	}
	// The events are the screen's: on its clock. Older events name only
	// an item's id; the inventory knows the text of the items it holds.
	al := activityLines{loc: screens[device].Loc(e.loc), items: e.itemTexts(ctx, link.conn, device), width: e.width}
	if al.width == 0 {
		al.width = termWidth(e.stdout)
	}
	if note := zoneNote(al.loc, e.loc, e.now()); note != "" && !*asJSON {
		fmt.Fprintf(e.stderr, "times are%s\n", note)
	}
	if err := waitQuiet(ctx, col.bump, *quiet); err != nil {
		return err
	}
	if err := link.conn.LostErr(); err != nil {
		return fmt.Errorf("activity: %w", err) // what came may be partial
	}
	events, bad := col.take()
	events = sinceActivity(dedupActivity(events), from)
	if bad > 0 {
		fmt.Fprintf(e.stderr, "activity: %d undecodable payloads ignored\n", bad)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		if !*follow {
			enc.SetIndent("", "  ")
		}
		if err := enc.Encode(events); err != nil {
			return err
		}
	} else {
		al.header(e.stdout)
		for _, a := range events {
			al.line(e.stdout, a)
		}
	}
	if !*follow {
		return nil
	}
	lastBad := bad
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-link.Lost():
			link.Dropped()
			continue
		case <-link.Retry():
			link.Redial(ctx)
			continue
		case <-col.bump:
		}
		events, bad := col.take()
		if bad != lastBad {
			fmt.Fprintf(e.stderr, "activity: %d undecodable payloads ignored\n", bad)
			lastBad = bad
		}
		sortActivity(events)
		for _, a := range sinceActivity(events, from) {
			if *asJSON {
				b, err := json.Marshal(a)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s\n", b)
				continue
			}
			al.line(e.stdout, a)
		}
	}
}

// itemText is what an activity line says about an item.
type itemText struct {
	Kind proto.Kind
	Text string
}

// itemTexts reads the device's inventory for the text of the items it
// holds, by id: empty when there is none (or it is unreadable).
func (e *env) itemTexts(ctx context.Context, conn *hsync.Conn, device string) map[string]itemText {
	out := map[string]itemText{}
	msgs, err := conn.Retained(ctx, proto.InventoryTopic(device), 200*time.Millisecond)
	if err != nil {
		return out
	}
	inv, err := proto.DecodeInventory(msgs[proto.InventoryTopic(device)])
	if err != nil {
		return out
	}
	for _, it := range inv.Items {
		if it.Kind != "" {
			out[it.ID] = itemText{Kind: it.Kind, Text: it.Text}
		}
	}
	return out
}

// The table has fixed widths so that lines printed later (--follow) line
// up with the first ones: 100 characters, or the terminal's width down to
// 80, taken off the WHAT and REASON columns.
func (al activityLines) widths() (what, reason int) {
	less := 0
	if al.width > 0 && al.width < 100 {
		less = 100 - max(al.width, 80)
	}
	return 30 - less/2, 22 - (less - less/2)
}

func (al activityLines) format(when, typ, what, reason, dur string) string {
	ww, rw := al.widths()
	return fmt.Sprintf("%-19s  %-14s  %-*s  %-*s  %s\n", when, typ, ww, clip(what, ww), rw, clip(reason, rw), dur)
}

// activityLines prints activity events as table lines: times on the
// screen's clock, items by their text.
type activityLines struct {
	loc   *time.Location
	items map[string]itemText // from the inventory, for events without item_text
	width int                 // a reason cut in its column follows in full, wrapped to this
}

func (al activityLines) header(w io.Writer) {
	fmt.Fprint(w, al.format("TIME", "TYPE", "WHAT", "REASON", "DURATION"))
}

// what names an event's item by its kind and text: `photo "Ella's bike"`,
// the id when neither the event nor the inventory has its text.
func (al activityLines) what(a proto.Activity) string {
	kind, text := a.ItemKind, a.ItemText
	if kind == "" && text == "" {
		if it, ok := al.items[a.Item]; ok {
			kind, text = it.Kind, it.Text
		}
	}
	switch {
	case text != "" && kind != "":
		return fmt.Sprintf("%s %q", kind, oneLine(text))
	case text != "":
		return fmt.Sprintf("%q", oneLine(text))
	case kind != "":
		return string(kind) + " " + a.Item
	}
	return a.Item
}

func (al activityLines) line(w io.Writer, a proto.Activity) {
	what := al.what(a)
	switch {
	case a.Type == "gap":
		what = fmt.Sprintf("%d events dropped", a.Dropped)
	case a.Caller != "":
		what = a.Caller
		if a.Mode != "" {
			what += " (" + a.Mode + ")"
		}
	case what == "" && a.Call != "":
		what = a.Call
	}
	dur := "-"
	if a.DurationMs > 0 {
		dur = (time.Duration(a.DurationMs) * time.Millisecond).Round(time.Second).String()
	}
	reason := a.Reason
	if a.Count > 1 {
		reason = fmt.Sprintf("%dx %s", a.Count, reason) // refusals counted over a window
	}
	fmt.Fprint(w, al.format(a.Time.In(al.loc).Format("Mon 2 Jan 15:04:05"), a.Type, dash(what), dash(reason), dur))
	if _, rw := al.widths(); clip(reason, rw) != reason && al.width > 0 {
		// The reason says why something was refused: all of it, on the
		// next lines, under the type.
		const indent = 21
		for _, l := range strings.Split(wrap(reason, al.width-indent, 0), "\n") {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
}
