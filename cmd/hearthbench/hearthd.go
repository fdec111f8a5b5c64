package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/sync/errgroup"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// daemon is a running hearthd whose JSON log is watched for the facts the
// bench waits on.
type daemon struct {
	*proc

	mu        gosync.Mutex
	connected bool
	slides    int      // from the last "screen: carousel" line; -1 before one
	first     []string // its first few ids, in carousel order
	lastSlide time.Time
	carousels int           // "screen: carousel" lines seen
	changed   chan struct{} // closed and replaced on every update
}

// hearthdOpts are the settings of one hearthd run.
type hearthdOpts struct {
	bin, broker, device, data string
	headless                  bool
	display                   string
	dwell                     time.Duration
	w, h                      int
}

func startHearthd(ps *procs, o hearthdOpts) (*daemon, error) {
	args := []string{"--device-id", o.device, "--broker", o.broker, "--data", o.data,
		"--screen", fmt.Sprintf("%dx%d", o.w, o.h), "--log-json"}
	if o.dwell > 0 {
		args = append(args, "--dwell", o.dwell.String())
	}
	// The environment cmd/hearthd/hearthd.service gives it: without
	// FYNE_CACHE hearthd executes itself again to set it (fyneenv), about
	// 40 ms of every start that the device never pays.
	env := []string{"LANG=en_US.UTF-8", "FYNE_CACHE=5s", "MALLOC_MMAP_THRESHOLD_=262144"}
	if o.headless {
		args = append(args, "--headless")
	} else {
		env = append(env, "DISPLAY="+o.display)
	}
	cmd := exec.Command(filepath.Join(o.bin, "hearthd"), args...)
	cmd.Env = envWith(env...)
	d := &daemon{slides: -1, changed: make(chan struct{})}
	p, err := ps.start("hearthd "+o.device, cmd, d.onLine)
	if err != nil {
		return nil, err
	}
	d.proc = p
	return d, nil
}

// logLine is the part of hearthd's JSON log lines the bench reads.
type logLine struct {
	Msg    string   `json:"msg"`
	Slides *int     `json:"slides"`
	IDs    []string `json:"ids"`
}

func (d *daemon) onLine(line string) {
	if !strings.HasPrefix(line, "{") {
		return
	}
	// Only two messages matter; skip decoding everything else.
	isConn := strings.Contains(line, `"connected to broker"`)
	isCarousel := strings.Contains(line, `"screen: carousel"`)
	if !isConn && !isCarousel {
		return
	}
	var l logLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case l.Msg == "connected to broker":
		d.connected = true
	case l.Msg == "screen: carousel" && l.Slides != nil:
		d.slides = *l.Slides
		d.first = l.IDs[:min(len(l.IDs), 8)]
		d.lastSlide = time.Now()
		d.carousels++
	default:
		return
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// waitState waits until cond holds over the daemon's state.
func (d *daemon) waitState(ctx context.Context, within time.Duration, what string, cond func(d *daemon) bool) error {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		d.mu.Lock()
		ok, ch := cond(d), d.changed
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-d.done:
			return fmt.Errorf("hearthd exited while waiting for %s: %v\n%s", what, d.err, d.tail)
		case <-timer.C:
			return fmt.Errorf("timed out after %v waiting for %s; hearthd log:\n%s", within, what, d.tail)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *daemon) waitConnected(ctx context.Context) error {
	return d.waitState(ctx, 30*time.Second, "connected to broker", func(d *daemon) bool { return d.connected })
}

// carousel returns the last carousel the daemon logged (headless only).
func (d *daemon) carousel() (int, []string, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.slides, append([]string(nil), d.first...), d.lastSlide
}

// benchItem is an item to publish, with the colour a photo shows on screen.
type benchItem struct {
	item    proto.Item
	payload []byte
	colour  int // palette index of a photo; -1 for a message
	jpeg    []byte
}

// messageItem makes a message item shown from start for two days.
func messageItem(device, id, text string, start time.Time) (benchItem, error) {
	it := proto.Item{V: proto.Version, ID: id, Device: device, Rev: 1, Kind: proto.KindMessage,
		From: "Peter", Text: text, Start: start, End: start.Add(48 * time.Hour), Created: start}
	return encodeItem(it, -1, nil)
}

// photoItem makes an inline photo item shown from start for two days.
func photoItem(device, id, caption string, start time.Time, colour int, jpeg []byte) (benchItem, error) {
	sum := sha256.Sum256(jpeg)
	it := proto.Item{V: proto.Version, ID: id, Device: device, Rev: 1, Kind: proto.KindPhoto,
		From: "Anna", Text: caption, Start: start, End: start.Add(48 * time.Hour), Created: start,
		Photo: &proto.Photo{Data: jpeg, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(jpeg))}}
	return encodeItem(it, colour, jpeg)
}

func encodeItem(it proto.Item, colour int, jpeg []byte) (benchItem, error) {
	check := it
	if err := check.Normalize(); err != nil {
		return benchItem{}, fmt.Errorf("bench item %s: %w", it.ID, err)
	}
	b, err := json.Marshal(it)
	if err != nil {
		return benchItem{}, fmt.Errorf("encode item %s: %w", it.ID, err)
	}
	return benchItem{item: it, payload: b, colour: colour, jpeg: jpeg}, nil
}

// publishAll publishes the items retained with QoS 1 from several
// goroutines on one connection, each waiting for the broker's PUBACK, so
// the broker takes them as fast as it can.
func publishAll(ctx context.Context, broker string, items []benchItem, workers int) error {
	conn, err := hsync.Dial(ctx, broker, "hearthbench")
	if err != nil {
		return err
	}
	defer conn.Close()
	g, ctx := errgroup.WithContext(ctx)
	next := make(chan benchItem)
	for range workers {
		g.Go(func() error {
			for it := range next {
				if err := conn.Publish(ctx, proto.ContentTopic(it.item.Device, it.item.ID), it.payload, true); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(next)
		for _, it := range items {
			select {
			case next <- it:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// readInventory reads the device's retained inventory; ok is false when
// there is none yet.
func readInventory(ctx context.Context, broker, device string) (inv proto.Inventory, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := hsync.Dial(ctx, broker, "hearthbench-inv")
	if err != nil {
		return inv, false, err
	}
	defer conn.Close()
	msgs, err := conn.Retained(ctx, proto.InventoryTopic(device), 100*time.Millisecond)
	if err != nil {
		return inv, false, err
	}
	p, ok := msgs[proto.InventoryTopic(device)]
	if !ok {
		return inv, false, nil
	}
	inv, err = proto.DecodeInventory(p)
	return inv, err == nil, err
}

// populate fills a fresh data directory: a headless hearthd syncs the items
// from the broker until its inventory reports all of them ready, and is
// stopped. It returns the carousel order hearthd logged (first ids).
func populate(ctx context.Context, ps *procs, o hearthdOpts, items []benchItem) ([]string, error) {
	o.headless = true
	d, err := startHearthd(ps, o)
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.stop(10 * time.Second) }()
	if err := d.waitConnected(ctx); err != nil {
		return nil, err
	}
	if err := publishAll(ctx, o.broker, items, 8); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	want := len(items)
	err = waitUntil(ctx, 3*time.Minute, 300*time.Millisecond, fmt.Sprintf("%d items ready on %s", want, o.device),
		func() (bool, error) {
			if !d.running() {
				return false, fmt.Errorf("hearthd exited: %v\n%s", d.err, d.tail)
			}
			inv, ok, err := readInventory(ctx, o.broker, o.device)
			if err != nil || !ok {
				return false, err
			}
			ready := 0
			for _, it := range inv.Items {
				if it.State == proto.StateReady {
					ready++
				}
				if it.State == proto.StateRefused {
					return false, fmt.Errorf("item %s refused: %s", it.ID, it.Reason)
				}
			}
			return ready >= want, nil
		})
	if err != nil {
		return nil, err
	}
	// The carousel follows the store; wait for the line that shows them all.
	err = d.waitState(ctx, 30*time.Second, fmt.Sprintf("a carousel of %d slides", want), func(d *daemon) bool {
		return d.slides >= want
	})
	if err != nil {
		return nil, err
	}
	_, first, _ := d.carousel()
	if err := d.stop(10 * time.Second); err != nil {
		return nil, fmt.Errorf("stop headless hearthd: %w\n%s", err, d.tail)
	}
	return first, nil
}
