package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

// Expire drops what can never be shown again: items whose display window
// ended at or before `before` (both views; an id stays while either view
// still has a window open after before), and tombstones that arrived more
// than Options.KeepTombstones before `before`. Then it runs GC. It returns
// how many item ids it dropped. The scheduler calls it with now minus the
// time ended items are kept for the inventory.
//
// An expired item that is delivered again (a retained message after a
// clean session) is stored again as new; its window is over, so it is not
// shown, and the photo worker does not fetch photos whose window is over.
func (s *Store) Expire(before time.Time) (int, error) {
	ended := func(r Record) bool { return !r.Item.End.IsZero() && !r.Item.End.After(before) }
	// Find candidates with a read first: most calls find nothing, and a
	// write transaction always costs an fsync.
	plan := func(tx *bolt.Tx) (dropItems, dropLive [][]byte) {
		items, live := tx.Bucket(bucketItems), tx.Bucket(bucketLive)
		_ = items.ForEach(func(k, v []byte) error {
			var r Record
			if json.Unmarshal(v, &r) != nil {
				return nil // logged by readers; never dropped blindly
			}
			switch {
			case r.State == proto.StateDeleted:
				if !r.Received.Add(s.opt.KeepTombstones).After(before) {
					dropItems = append(dropItems, bytes.Clone(k))
				}
			case ended(r):
				lv, ok := s.get(live, k)
				if !ok || ended(lv) {
					dropItems = append(dropItems, bytes.Clone(k))
				}
			}
			return nil
		})
		_ = live.ForEach(func(k, v []byte) error {
			var r Record
			if json.Unmarshal(v, &r) == nil && ended(r) {
				dropLive = append(dropLive, bytes.Clone(k))
			}
			return nil
		})
		return dropItems, dropLive
	}
	var found bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		a, b := plan(tx)
		found = len(a)+len(b) > 0
		return nil
	}); err != nil {
		return 0, fmt.Errorf("expire: %w", err)
	}
	n := 0
	if found {
		err := s.db.Update(func(tx *bolt.Tx) error {
			n = 0
			dropItems, dropLive := plan(tx)
			for _, k := range dropItems {
				if err := tx.Bucket(bucketItems).Delete(k); err != nil {
					return err
				}
				n++
			}
			for _, k := range dropLive {
				if err := tx.Bucket(bucketLive).Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("expire: %w", err)
		}
		s.notify()
		s.log.Info("expired items", "count", n, "before", before)
	}
	if _, err := s.GC(); err != nil {
		return n, fmt.Errorf("expire: %w", err)
	}
	return n, nil
}

// AddRefusal records a payload the device could not take, and its
// input_refused activity event. The list keeps the newest
// Options.MaxRefusals entries.
func (s *Store) AddRefusal(r proto.Refusal) error { return s.AddItemRefusal(r, Of{}) }

// Of is what a refused payload was, as far as the device could read it:
// the item's kind and text, for the input_refused event (absent when
// unknown).
type Of struct {
	Kind proto.Kind
	Text string
}

// AddItemRefusal is AddRefusal with what the refused item was.
func (s *Store) AddItemRefusal(r proto.Refusal, of Of) error {
	err := s.db.Batch(func(tx *bolt.Tx) error { return s.putRefusal(tx, r, of) })
	if err != nil {
		return fmt.Errorf("add refusal: %w", err)
	}
	s.notify()
	s.notifyActivity()
	return nil
}

// putRefusal writes a refusal and its input_refused event in tx.
func (s *Store) putRefusal(tx *bolt.Tx, r proto.Refusal, of Of) error {
	v, err := encode(r)
	if err != nil {
		return err
	}
	if err := s.putActivity(tx, Activity{Time: r.Time, Type: "input_refused", Item: r.ID, ItemKind: of.Kind,
		ItemText: CutText(of.Text), Reason: r.Reason}); err != nil {
		return err
	}
	b := tx.Bucket(bucketRefusals)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seq)
	if err := b.Put(key[:], v); err != nil {
		return err
	}
	// Keys are sequence numbers, oldest first; keep the newest MaxRefusals.
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	if len(keys) <= s.opt.MaxRefusals {
		return nil
	}
	for _, k := range keys[:len(keys)-s.opt.MaxRefusals] {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ItemTextMax is how many characters of an item's text an activity event
// carries (item_text).
const ItemTextMax = 80

// CutText is text cut to ItemTextMax characters (not bytes: a name in
// Cyrillic is not cut inside a letter).
func CutText(text string) string {
	n := 0
	for i := range text {
		if n == ItemTextMax {
			return text[:i]
		}
		n++
	}
	return text
}

// Refusals returns the recorded refusals, oldest first.
func (s *Store) Refusals() ([]proto.Refusal, error) {
	var out []proto.Refusal
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRefusals).ForEach(func(k, v []byte) error {
			var r proto.Refusal
			if err := json.Unmarshal(v, &r); err != nil {
				s.log.Error("skipping damaged refusal", "key", fmt.Sprintf("%x", k), "err", fmt.Errorf("%w: %v", ErrCorrupt, err))
				return nil
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("refusals: %w", err)
	}
	return out, nil
}
