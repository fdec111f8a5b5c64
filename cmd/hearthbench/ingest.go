package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/hearth-home/hearth/device/store"
)

// ingestResult is one ingest run.
type ingestResult struct {
	items     int
	published time.Duration // until the broker had acknowledged every publish
	stored    time.Duration // until hearthd's carousel held every item
	live      int           // items in the store after hearthd stopped
	updates   int           // carousel updates hearthd logged on the way
}

// measureIngest starts a headless hearthd on an empty data directory,
// publishes n messages with QoS 1 as fast as the broker takes them, and
// times until hearthd's carousel (which follows the store's commits) holds
// all of them. Then it stops hearthd and counts the store's live items.
func measureIngest(ctx context.Context, ps *procs, o hearthdOpts, n int) (ingestResult, error) {
	r := ingestResult{items: n}
	o.headless = true
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	items := make([]benchItem, n)
	for i := range items {
		it, err := messageItem(o.device, fmt.Sprintf("m-%05d", i),
			fmt.Sprintf("Message number %d. Lunch is at twelve; Peter comes at two.", i), now)
		if err != nil {
			return r, err
		}
		items[i] = it
	}
	d, err := startHearthd(ps, o)
	if err != nil {
		return r, err
	}
	defer func() { _ = d.stop(15 * time.Second) }()
	if err := d.waitConnected(ctx); err != nil {
		return r, err
	}
	// Let the start-up inventory and the first (empty) carousel pass.
	_ = d.waitState(ctx, 5*time.Second, "the first carousel", func(d *daemon) bool { return d.slides >= 0 })

	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := publishAll(gctx, o.broker, items, 16); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		r.published = time.Since(start)
		return nil
	})
	g.Go(func() error {
		return d.waitState(gctx, 10*time.Minute, fmt.Sprintf("a carousel of %d items", n), func(d *daemon) bool {
			return d.slides >= n
		})
	})
	if err := g.Wait(); err != nil {
		return r, err
	}
	_, _, at := d.carousel()
	r.stored = at.Sub(start)
	d.mu.Lock()
	r.updates = d.carousels
	d.mu.Unlock()
	if err := d.stop(15 * time.Second); err != nil {
		return r, fmt.Errorf("stop hearthd: %w", err)
	}
	st, err := store.Open(o.data, store.Options{Timeout: 5 * time.Second})
	if err != nil {
		return r, fmt.Errorf("open hearthd's store: %w", err)
	}
	defer st.Close()
	live, err := st.Live()
	if err != nil {
		return r, err
	}
	r.live = len(live)
	return r, nil
}

// boltRate is the anchor: how many durable bbolt transactions per second
// this disk takes, each committing one put of a message-sized value and
// fsyncing, for about d. With writers > 1 the puts go through db.Batch
// from that many goroutines, which shares each fsync among them.
func boltRate(ctx context.Context, dir string, d time.Duration, writers int) (float64, error) {
	path := filepath.Join(dir, fmt.Sprintf("anchor-%d.db", writers))
	defer os.Remove(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, fmt.Errorf("bbolt anchor: %w", err)
	}
	defer db.Close()
	bucket := []byte("items")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		return 0, err
	}
	val := make([]byte, 400) // about one message record
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	put := func(k uint64) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], k)
			return tx.Bucket(bucket).Put(key[:], val)
		}
	}
	deadline := time.Now().Add(d)
	start := time.Now()
	counts := make([]uint64, writers)
	g, ctx := errgroup.WithContext(ctx)
	for w := range writers {
		g.Go(func() error {
			for k := uint64(w) << 40; time.Now().Before(deadline); k++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				var err error
				if writers == 1 {
					err = db.Update(put(k))
				} else {
					err = db.Batch(put(k))
				}
				if err != nil {
					return err
				}
				counts[w]++
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("bbolt anchor: %w", err)
	}
	var total uint64
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(start).Seconds(), nil
}

// ingest is section 5: durable ingest rate beside bbolt's on the same disk.
func (b *bench) ingest(ctx context.Context) ([]Result, error) {
	n := b.p.ingestItems
	// The disk's durable write rate drifts with what else the machine
	// does: measure the anchors just before and just after, and average.
	single1, err1 := boltRate(ctx, b.work, b.p.boltFor/2, 1)
	batch1, err2 := boltRate(ctx, b.work, b.p.boltFor/2, 100)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	r, err := measureIngest(ctx, b.ps, b.hearthdOpts("bench-ingest"), n)
	if err != nil {
		return nil, err
	}
	if r.live != n {
		return nil, fmt.Errorf("hearthd's store holds %d live items after the run, want %d", r.live, n)
	}
	single2, err1 := boltRate(ctx, b.work, b.p.boltFor/2, 1)
	batch2, err2 := boltRate(ctx, b.work, b.p.boltFor/2, 100)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	single, batch := (single1+single2)/2, (batch1+batch2)/2
	b.log.Info("bbolt anchors", "single_before", int(single1), "single_after", int(single2),
		"batch_before", int(batch1), "batch_after", int(batch2))
	rate := float64(n) / r.stored.Seconds()
	b.log.Info("ingest", "items", n, "published_in", r.published.Round(time.Millisecond),
		"stored_in", r.stored.Round(time.Millisecond), "live_after_stop", r.live,
		"carousel_updates", r.updates)
	return []Result{
		newResult(fmt.Sprintf("ingest.%d_messages", n), rate, "items/s", "bbolt, 1 put per fsynced transaction, same disk", single, goal{}),
		newResult(fmt.Sprintf("ingest.%d_messages_vs_batch", n), rate, "items/s", "bbolt db.Batch from 100 writers (the broker's in-flight window), same disk", batch, goal{}),
		newResult("ingest.broker_accept_rate", float64(n)/r.published.Seconds(), "items/s", "", 0, goal{}),
	}, nil
}
