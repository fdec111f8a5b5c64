package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

// Keys in the meta bucket for the device's own life.
var (
	keySession   = []byte("session")
	keyRunning   = []byte("running")   // "1" while a process runs
	keyLastExit  = []byte("last_exit") // why the last process ended
	keyBoots     = []byte("boots")
	keyRestarts  = []byte("restarts")
	keyBootID    = []byte("boot_id")
	keyDelivered = []byte("activity_delivered") // highest seq the broker acknowledged
	keyConfig    = []byte("config_hash")
	keyLogID     = []byte("log_id")
)

// NextSession returns a session number above every one handed out before,
// in this process or any earlier one.
func (s *Store) NextSession() (uint64, error) {
	var n uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		n = getUint(m, keySession) + 1
		return putUint(m, keySession, n)
	})
	if err != nil {
		return 0, fmt.Errorf("next session: %w", err)
	}
	return n, nil
}

// Life is what the device knows of its own starts and stops.
type Life struct {
	Boots, Restarts uint64
	// LastExit is why the previous process ended: "stopped" (a clean
	// stop), "crashed or lost power", or "" on the first start.
	LastExit string
}

// RecordStart notes a process start (and a new boot when bootID changed)
// and returns the counters with the previous exit's reason.
func (s *Store) RecordStart(bootID string) (Life, error) {
	var l Life
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		switch {
		case string(m.Get(keyRunning)) == "1":
			l.LastExit = "crashed or lost power"
		case m.Get(keyLastExit) != nil:
			l.LastExit = string(m.Get(keyLastExit))
		}
		l.Restarts = getUint(m, keyRestarts) + 1
		l.Boots = getUint(m, keyBoots)
		if bootID == "" || string(m.Get(keyBootID)) != bootID {
			l.Boots++
		}
		for _, kv := range [][2][]byte{{keyRunning, []byte("1")}, {keyBootID, []byte(bootID)}} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		if err := putUint(m, keyRestarts, l.Restarts); err != nil {
			return err
		}
		return putUint(m, keyBoots, l.Boots)
	})
	if err != nil {
		return Life{}, fmt.Errorf("record start: %w", err)
	}
	return l, nil
}

// RecordStop notes a clean stop and why.
func (s *Store) RecordStop(reason string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(keyRunning, []byte("0")); err != nil {
			return err
		}
		return m.Put(keyLastExit, []byte(reason))
	})
	if err != nil {
		return fmt.Errorf("record stop: %w", err)
	}
	return nil
}

// ConfigChanged stores hash and reports whether it differs from the one
// stored at the previous start (false on the first start).
func (s *Store) ConfigChanged(hash string) (bool, error) {
	var changed bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		old := m.Get(keyConfig)
		changed = old != nil && string(old) != hash
		return m.Put(keyConfig, []byte(hash))
	})
	if err != nil {
		return false, fmt.Errorf("config hash: %w", err)
	}
	return changed, nil
}

// ActivityDelivered is the highest sequence number the broker has
// acknowledged.
func (s *Store) ActivityDelivered() (uint64, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketMeta), keyDelivered)
		return nil
	})
	return n, err
}

// SetActivityDelivered records that events up to seq reached the broker.
func (s *Store) SetActivityDelivered(seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if seq <= getUint(m, keyDelivered) {
			return nil
		}
		return putUint(m, keyDelivered, seq)
	})
}

// MarkShown records that an item's revision was on screen. The first time
// for an item it returns true and logs an item_shown event (the sender's
// receipt).
func (s *Store) MarkShown(id string, rev uint64, now time.Time) (first bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		r, ok := s.get(b, []byte(id))
		if !ok || !r.Shown.IsZero() {
			return nil
		}
		r.Shown = now.UTC()
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
		first = true
		return s.putActivity(tx, Activity{Time: now, Type: "item_shown", Item: id, ItemKind: r.Item.Kind,
			ItemText: CutText(r.Item.Text), Reason: "rev " + strconv.FormatUint(rev, 10)})
	})
	if err != nil {
		return false, fmt.Errorf("mark shown %s: %w", id, err)
	}
	if first {
		s.notify()
		s.notifyActivity()
	}
	return first, nil
}

func getUint(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, k []byte, n uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n)
	return b.Put(k, v[:])
}

// ActivityEvent turns a stored entry into its wire form.
func ActivityEvent(device string, a Activity) proto.Activity {
	return proto.Activity{V: proto.Version, Device: device, ID: a.ID, Seq: a.Seq, Time: a.Time.UTC(), Type: a.Type,
		Item: a.Item, ItemKind: a.ItemKind, ItemText: a.ItemText, Call: a.Call, Caller: a.Caller, Mode: a.Mode, Reason: a.Reason, DurationMs: a.DurationMs, Count: a.Count, Dropped: a.Dropped}
}
