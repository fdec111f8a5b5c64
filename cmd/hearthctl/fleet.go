package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// fleetRow is one device in `hearthctl fleet`. The first eight JSON names
// are a contract with fleet tools; the rest may grow.
type fleetRow struct {
	DeviceID      string   `json:"device_id"`
	State         string   `json:"state"`
	Availability  string   `json:"availability"`
	Session       uint64   `json:"session"`
	HeartbeatAgeS *float64 `json:"heartbeat_age_s"`
	Stale         bool     `json:"stale"`
	Version       string   `json:"version"`
	TimeSynced    *bool    `json:"time_synced"`
	// Reason says why a device is in alert.
	Reason string `json:"reason,omitempty"`
	// LateLost is the session of a "lost" the broker holds that is older
	// than the device's heartbeat: a Will delivered late, ignored.
	LateLost    uint64     `json:"late_lost_session,omitempty"`
	Network     *fleetNet  `json:"network"`
	StorageFree *uint64    `json:"storage_free"`
	LastSync    *time.Time `json:"last_sync"`
	OnScreen    string     `json:"on_screen,omitempty"`
	Camera      *bool      `json:"camera"`
	Microphone  *bool      `json:"microphone"`
	DNDUntil    *time.Time `json:"dnd_until,omitempty"` // do-not-disturb's end, while it is on
	// Zone is the screen's time zone (its availability's), absent when
	// it does not say; the table shows its times on that clock.
	Zone      string         `json:"zone,omitempty"`
	screenLoc *time.Location // nil: unknown
	rank      problemRank    // for sorting
}

type fleetNet struct {
	SSID      string `json:"ssid,omitempty"`
	Interface string `json:"interface,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// problemRank orders the listing so that what needs a person comes first.
type problemRank int

const (
	rankLost problemRank = iota
	rankAlert
	rankStale
	rankNotSynced
	rankDisconnected
	rankOther // init, or no state at all
	rankReady
)

// staleRule says when a heartbeat is stale: older than Intervals times its
// own interval_s or, when After is set, older than After.
type staleRule struct {
	Intervals float64
	After     time.Duration
}

// defaultInterval stands in for a heartbeat that does not say when the
// next is due (interval_s 0).
const defaultInterval = 60 * time.Second

func (r staleRule) stale(age time.Duration, intervalS int) bool {
	if r.After > 0 {
		return age > r.After
	}
	iv := time.Duration(intervalS) * time.Second
	if iv <= 0 {
		iv = defaultInterval
	}
	n := r.Intervals
	if n <= 0 {
		n = 2
	}
	return age > time.Duration(n*float64(iv))
}

// fleetStatus is what the broker holds about the fleet, by device id.
type fleetStatus struct {
	States     map[string]proto.State
	Heartbeats map[string]proto.Heartbeat
	Avail      map[string]proto.Availability
}

func newFleetStatus() fleetStatus {
	return fleetStatus{States: map[string]proto.State{}, Heartbeats: map[string]proto.Heartbeat{},
		Avail: map[string]proto.Availability{}}
}

// mergeFleet makes one row per device known from any of the three topics,
// problems first: lost, alert, stale, not time-synced, disconnected, the
// rest, ready; by id within each.
//
// A "lost" is the broker's Will, and one from an older session can arrive
// after the device is back (and overwrite its retained "ready"); a
// heartbeat from a newer session proves it wrong, so the device is shown
// ready. Availability carries no session, and a Will's time is when it was
// set (at connect), not when it fired: a newer availability time proves
// nothing, so only the heartbeat's session counts.
func mergeFleet(st fleetStatus, now time.Time, rule staleRule) []fleetRow {
	ids := map[string]bool{}
	for id := range st.States {
		ids[id] = true
	}
	for id := range st.Heartbeats {
		ids[id] = true
	}
	for id := range st.Avail {
		ids[id] = true
	}
	rows := make([]fleetRow, 0, len(ids))
	for id := range ids {
		r := fleetRow{DeviceID: id, State: "unknown"}
		s, hasState := st.States[id]
		hb, hasHB := st.Heartbeats[id]
		av, hasAv := st.Avail[id]
		if hasState {
			r.State, r.Session, r.Version, r.Reason = string(s.State), s.Session, s.Version, s.Reason
			if s.State == proto.LifeLost && hasHB && hb.Session > s.Session {
				r.State, r.LateLost, r.Reason = string(proto.LifeReady), s.Session, ""
			}
		}
		r.Stale = true
		if hasHB {
			age := now.Sub(hb.Time)
			a := math.Round(age.Seconds()*10) / 10
			r.HeartbeatAgeS = &a
			r.Stale = rule.stale(age, hb.IntervalS)
			r.Session = max(r.Session, hb.Session)
			if hb.Version != "" {
				r.Version = hb.Version
			}
			r.TimeSynced = hb.TimeSynced
			if n := hb.Network; n != nil {
				r.Network = &fleetNet{SSID: n.SSID, Interface: n.Interface, IP: n.IP}
			}
			free := hb.Storage.Free
			r.StorageFree = &free
			if !hb.LastSync.IsZero() {
				ls := hb.LastSync
				r.LastSync = &ls
			}
			r.OnScreen = hb.OnScreen
			cam, mic := hb.Camera, hb.Microphone
			r.Camera, r.Microphone = &cam, &mic
			r.Availability = string(hb.Availability)
			r.DNDUntil = dndAhead(hb.DNDUntil, now)
		}
		// The availability topic is newer than the heartbeat's copy of it
		// (it is sent on every change).
		if hasAv {
			r.Zone, r.screenLoc = av.Zone, availLoc(av, nil)
			r.Availability = string(av.State)
			r.DNDUntil = dndAhead(av.DNDUntil, now)
			cam, mic := av.Camera, av.Microphone
			r.Camera, r.Microphone = &cam, &mic
		}
		r.rank = rankOf(r)
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].rank != rows[j].rank {
			return rows[i].rank < rows[j].rank
		}
		return rows[i].DeviceID < rows[j].DeviceID
	})
	return rows
}

// dndAhead is a do-not-disturb end still to come; one that passed is old
// news (the device republishes when it ends).
func dndAhead(until, now time.Time) *time.Time {
	if !until.After(now) {
		return nil
	}
	return &until
}

// rankOf places a row. A device that said "disconnected" stopped cleanly
// and sends no heartbeats: it is ranked by its state, not as stale.
func rankOf(r fleetRow) problemRank {
	switch {
	case r.State == string(proto.LifeLost):
		return rankLost
	case r.State == string(proto.LifeAlert):
		return rankAlert
	case r.State == string(proto.LifeDisconnected):
		return rankDisconnected
	case r.Stale:
		return rankStale
	case r.TimeSynced != nil && !*r.TimeSynced:
		return rankNotSynced
	case r.State == string(proto.LifeReady):
		return rankReady
	}
	return rankOther
}

// fleetCollector keeps the latest status messages as they arrive (on
// paho's goroutine) for the command's goroutine to merge.
type fleetCollector struct {
	mu      gosync.Mutex
	st      fleetStatus
	bad     int  // undecodable payloads
	changed bool // since the last snapshot
	bump    chan struct{}
}

func newFleetCollector() *fleetCollector {
	return &fleetCollector{st: newFleetStatus(), bump: make(chan struct{}, 1)}
}

// ingest takes one message from any of the three filters. An empty
// payload clears a retained topic; one that does not decode, or names
// another device than its topic, is counted and dropped.
func (c *fleetCollector) ingest(topic string, payload []byte) {
	defer func() {
		select {
		case c.bump <- struct{}{}:
		default:
		}
	}()
	dev := proto.DeviceOf(topic)
	kind := topic[strings.LastIndexByte(topic, '/')+1:]
	c.mu.Lock()
	defer c.mu.Unlock()
	if dev == "" {
		c.bad++
		return
	}
	c.changed = true
	if len(payload) == 0 {
		switch kind {
		case "state":
			delete(c.st.States, dev)
		case "heartbeat":
			delete(c.st.Heartbeats, dev)
		case "availability":
			delete(c.st.Avail, dev)
		}
		return
	}
	var err error
	switch kind {
	case "state":
		var s proto.State
		if s, err = proto.DecodeState(payload); err == nil && s.Device == dev {
			c.st.States[dev] = s
			return
		}
	case "heartbeat":
		var h proto.Heartbeat
		if h, err = proto.DecodeHeartbeat(payload); err == nil && h.Device == dev {
			c.st.Heartbeats[dev] = h
			return
		}
	case "availability":
		var a proto.Availability
		if a, err = proto.DecodeAvailability(payload); err == nil && a.Device == dev {
			c.st.Avail[dev] = a
			return
		}
	}
	c.bad++
}

// snapshot merges what has arrived; changed says whether anything came
// since the last snapshot.
func (c *fleetCollector) snapshot(now time.Time, rule staleRule) (rows []fleetRow, bad int, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed, c.changed = c.changed, false
	return mergeFleet(c.st, now, rule), c.bad, changed
}

// waitQuiet returns once no message came for quiet: the broker has sent
// what it retains.
func waitQuiet(ctx context.Context, bump <-chan struct{}, quiet time.Duration) error {
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-bump:
			t.Reset(quiet)
		case <-t.C:
			return nil
		}
	}
}

// parseStaleAfter reads --stale-after: a number of heartbeat intervals
// (2, 3.5) or a duration (5m).
func parseStaleAfter(s string) (staleRule, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 && !math.IsInf(n, 0) {
		return staleRule{Intervals: n}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return staleRule{After: d}, nil
	}
	return staleRule{}, fmt.Errorf("--stale-after %q: want a number of heartbeat intervals (2) or a duration (5m)", s)
}

func (e *env) fleet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	watch := fs.Bool("watch", false, "keep listening and redraw every 2 s (with --json: one JSON array a line, on change)")
	asJSON := fs.Bool("json", false, "print JSON")
	staleAfter := fs.String("stale-after", "2", "a heartbeat is stale after `N` of its intervals, or after a duration (5m)")
	quiet := fs.Duration("quiet", 500*time.Millisecond, "the broker has sent all it holds once nothing came for this `long`")
	every := fs.Duration("every", 2*time.Second, "with --watch, redraw this `often`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("fleet: unexpected %q", fs.Arg(0))
	}
	rule, err := parseStaleAfter(*staleAfter)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	var col *fleetCollector
	link := &redial{e: e, name: "fleet", connect: func(ctx context.Context) (*hsync.Conn, error) {
		c, cl, err := e.fleetConnect(ctx, *quiet)
		if err == nil {
			col = cl
		}
		return c, err
	}}
	if link.conn, err = link.connect(ctx); err != nil {
		return err
	}
	defer link.Close()
	rows, bad, _ := col.snapshot(e.now(), rule)
	if !*watch {
		if err := link.conn.LostErr(); err != nil {
			return fmt.Errorf("fleet: %w", err) // what came may be partial
		}
		if bad > 0 {
			fmt.Fprintf(e.stderr, "fleet: %d undecodable payloads ignored\n", bad)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rows)
		}
		return e.fleetTable(e.stdout, rows)
	}

	home := isTerminal(e.stdout) && !*asJSON
	lastBad := 0
	show := func(rows []fleetRow, bad int) error {
		if bad != lastBad {
			fmt.Fprintf(e.stderr, "fleet: %d undecodable payloads ignored\n", bad)
			lastBad = bad
		}
		if *asJSON {
			b, err := json.Marshal(rows)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s\n", b)
			return err
		}
		if home {
			fmt.Fprint(e.stdout, "\033[H\033[2J")
		} else {
			fmt.Fprintf(e.stdout, "\n%s\n", e.clock(e.now()))
		}
		if down := link.Down(); !down.IsZero() {
			fmt.Fprintf(e.stdout, "broker unreachable since %s, retrying; the last view:\n", e.clock(down))
		}
		return e.fleetTable(e.stdout, rows)
	}
	if err := show(rows, bad); err != nil {
		return err
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	// While the broker is away the last view stays (ages move, under a
	// line that says so); once back, the view is built again from what
	// the broker retains, so devices whose topics were cleared meanwhile
	// go, and it is shown at once, JSON too.
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-link.Lost():
			link.Dropped()
			continue
		case <-link.Retry():
			if !link.Redial(ctx) {
				continue
			}
			rows, bad, _ := col.snapshot(e.now(), rule)
			if err := show(rows, bad); err != nil {
				return err
			}
			continue
		case <-t.C:
		}
		rows, bad, changed := col.snapshot(e.now(), rule)
		// Ages move even when nothing arrives: the table is redrawn
		// every time, JSON only on change.
		if *asJSON && !changed {
			continue
		}
		if err := show(rows, bad); err != nil {
			return err
		}
	}
}

// fleetConnect dials the broker, subscribes to the status topics and
// returns once the broker has sent what it retains.
func (e *env) fleetConnect(ctx context.Context, quiet time.Duration) (*hsync.Conn, *fleetCollector, error) {
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return nil, nil, err
	}
	col := newFleetCollector()
	// One subscription per filter, however many devices, at QoS 0 (see
	// SubscribeSnapshot: a broker drops QoS 1 beyond its queue limit).
	for _, f := range []string{proto.StateFilter, proto.HeartbeatFilter, proto.AvailabilityFilter} {
		if err := conn.SubscribeSnapshot(ctx, f, col.ingest); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	if err := waitQuiet(ctx, col.bump, quiet); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, col, nil
}

// fleetTable prints a summary line and the rows.
func (e *env) fleetTable(w io.Writer, rows []fleetRow) error {
	counts := map[problemRank]int{}
	for _, r := range rows {
		counts[r.rank]++
	}
	fmt.Fprintf(w, "%d devices: %d lost, %d alert, %d stale, %d not time-synced, %d disconnected, %d ready\n",
		len(rows), counts[rankLost], counts[rankAlert], counts[rankStale], counts[rankNotSynced],
		counts[rankDisconnected], counts[rankReady])
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSTATE\tAVAILABILITY\tSESSION\tHEARTBEAT\tVERSION\tTIME SYNC\tNETWORK\tFREE\tLAST SYNC\tON SCREEN\tCAM/MIC")
	for _, r := range rows {
		state := r.State
		if r.Reason != "" {
			state += ": " + clip(r.Reason, 30)
		}
		hb := "none"
		if r.HeartbeatAgeS != nil {
			hb = (time.Duration(*r.HeartbeatAgeS) * time.Second).String() + " ago"
		}
		if r.Stale {
			hb += " STALE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.DeviceID, state, e.fmtAvailability(r),
			r.Session, hb, dash(r.Version), yesNo(r.TimeSynced), fmtNet(r.Network), fmtBytes(r.StorageFree),
			fmtTimePtr(r.LastSync, e.loc), dash(clip(r.OnScreen, 24)), yesNo(r.Camera)+"/"+yesNo(r.Microphone))
	}
	return tw.Flush()
}

// fmtAvailability is the availability, with do-not-disturb's end when it
// is on: "do_not_disturb until 14:30", "in_call, dnd until 14:30".
func (e *env) fmtAvailability(r fleetRow) string {
	if r.DNDUntil == nil {
		return dash(r.Availability)
	}
	// On the screen's clock, with its zone's name when that differs
	// from the user's.
	loc := e.loc
	if r.screenLoc != nil {
		loc = r.screenLoc
	}
	end := r.DNDUntil.In(loc)
	at := end.Format("15:04")
	if y, m, d := e.now().In(loc).Date(); end.Year() != y || end.Month() != m || end.Day() != d {
		at = end.Format("2 Jan 15:04")
	}
	if zoneNote(loc, e.loc, end) != "" {
		z, _ := end.Zone()
		at += " " + z
	}
	if r.Availability == "do_not_disturb" {
		return r.Availability + " until " + at
	}
	return dash(r.Availability) + ", dnd until " + at
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

func fmtNet(n *fleetNet) string {
	if n == nil {
		return "-"
	}
	var parts []string
	for _, s := range []string{n.SSID, n.Interface, n.IP} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return dash(strings.Join(parts, " "))
}

func fmtBytes(b *uint64) string {
	if b == nil {
		return "-"
	}
	const gib, mib = 1 << 30, 1 << 20
	switch {
	case *b >= gib:
		return fmt.Sprintf("%.1f GiB", float64(*b)/gib)
	case *b >= mib:
		return fmt.Sprintf("%.0f MiB", float64(*b)/mib)
	}
	return fmt.Sprintf("%d B", *b)
}

func fmtTimePtr(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "-"
	}
	return t.In(loc).Format("2 Jan 15:04")
}
