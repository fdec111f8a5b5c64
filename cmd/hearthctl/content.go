package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// listed is one row of `content ls`.
type listed struct {
	ID     string          `json:"id"`
	Rev    uint64          `json:"rev"`
	Kind   proto.Kind      `json:"kind"`
	From   string          `json:"from,omitempty"`
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !proto.ValidID(*device) {
		return fmt.Errorf("content ls: --device: %q is not a device id", *device)
	}
	var when time.Time
	if *at == "now" {
		when = e.now()
	} else if *at != "" {
		t, err := parseTime(*at, e.loc)
		if err != nil {
			return fmt.Errorf("content ls: --at: %w", err)
		}
		when = t
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
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
	if inv == nil {
		fmt.Fprintf(e.stdout, "device %s has not reported yet; showing what was sent\n", *device)
	} else {
		fmt.Fprintf(e.stdout, "device %s reported at %s\n", *device, inv.Time.In(e.loc).Format("Mon 2 Jan 15:04:05"))
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tFROM\tFROM TIME\tUNTIL\tSTATE\tTEXT")
	for _, r := range rows {
		state := string(r.State)
		if r.Reason != "" {
			state += ": " + r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.From,
			fmtTime(r.Start, e.loc), fmtTime(r.End, e.loc), state, clip(r.Text, 40))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if inv != nil && len(inv.Refused) > 0 {
		fmt.Fprintf(e.stdout, "\nrefused by the device (newest last):\n")
		for _, r := range inv.Refused {
			fmt.Fprintf(e.stdout, "  %s  %s: %s\n", r.Time.In(e.loc).Format("2 Jan 15:04:05"), r.Topic, r.Reason)
		}
	}
	return nil
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("Mon 2 Jan 15:04")
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
				byID[it.ID] = listed{ID: it.ID, Rev: it.Rev, Kind: it.Kind, From: it.From, Text: it.Text,
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
		byID[it.ID] = listed{ID: it.ID, Rev: it.Rev, Kind: it.Kind, From: it.From, Text: it.Text,
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

func (e *env) contentRemove(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("content rm", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	device := fs.String("device", "", "device `id`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !proto.ValidID(*device) {
		return fmt.Errorf("content rm: --device: %q is not a device id", *device)
	}
	if fs.NArg() == 0 {
		return errors.New("content rm: name the item ids to remove")
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, _, err := e.gather(ctx, conn, *device)
	if err != nil {
		return err
	}
	revs := map[string]uint64{}
	for _, r := range rows {
		revs[r.ID] = r.Rev
	}
	for _, id := range fs.Args() {
		rev, ok := revs[id]
		if !ok {
			return fmt.Errorf("content rm: %s has no item %q (see hearthctl content ls --device %s)", *device, id, *device)
		}
		tomb := proto.Item{V: proto.Version, ID: id, Device: *device, Rev: rev + 1, Deleted: true}
		payload, err := json.Marshal(tomb)
		if err != nil {
			return err
		}
		if err := conn.Publish(ctx, proto.ContentTopic(*device, id), payload, true); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed %s from %s\n", id, *device)
	}
	return nil
}
