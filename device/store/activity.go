package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

// DefaultMaxActivity bounds the activity log kept on the device.
const DefaultMaxActivity = 10000

// Activity is one entry of the device's activity log: calls answered,
// ended, refused and missed, and (with status reporting) items shown. It
// is written to disk first and delivered upward later; ID lets readers
// drop duplicates.
type Activity struct {
	Seq        uint64    `json:"seq"`
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Type       string    `json:"type"`
	Call       string    `json:"call,omitempty"`
	Caller     string    `json:"caller,omitempty"`
	Mode       string    `json:"mode,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	DurationMs int64     `json:"duration_ms,omitempty"`
	Item       string    `json:"item,omitempty"`
	// ItemKind and ItemText (cut to ItemTextMax characters) say what
	// Item is, on item events and refusals of an item.
	ItemKind proto.Kind `json:"item_kind,omitempty"`
	ItemText string     `json:"item_text,omitempty"`
	// Count is how many events of one kind this entry stands for
	// (refusals counted over a window); 0 and 1 mean one.
	Count int `json:"count,omitempty"`
	// Dropped counts entries lost to the bound before this one (type "gap").
	Dropped uint64 `json:"dropped,omitempty"`
}

// LogActivity appends a to the log, numbering it. When the log is full the
// oldest entries go, and a "gap" entry says how many.
func (s *Store) LogActivity(a Activity) error {
	err := s.db.Batch(func(tx *bolt.Tx) error { return s.putActivity(tx, a) })
	if err != nil {
		return fmt.Errorf("log activity: %w", err)
	}
	s.notifyActivity()
	return nil
}

// ActivityChanged returns a channel closed at the next logged event.
func (s *Store) ActivityChanged() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.actChanged
}

func (s *Store) notifyActivity() {
	s.mu.Lock()
	close(s.actChanged)
	s.actChanged = make(chan struct{})
	s.mu.Unlock()
}

// ActivityID is the id of the event numbered seq.
func (s *Store) ActivityID(seq uint64) string { return fmt.Sprintf("%s-%d", s.logID, seq) }

func ensureLogID(db *bolt.DB) (string, error) {
	var id string
	err := db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keyLogID); v != nil {
			id = string(v)
			return nil
		}
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id = "a" + hex.EncodeToString(b[:])
		return m.Put(keyLogID, []byte(id))
	})
	return id, err
}

func (s *Store) putActivity(tx *bolt.Tx, a Activity) error {
	return putActivity(tx, a, s.opt.MaxActivity, s.logID)
}

func putActivity(tx *bolt.Tx, a Activity, bound int, logID string) error {
	b := tx.Bucket(bucketActivity)
	put := func(a Activity) error {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		a.Seq, a.ID = seq, fmt.Sprintf("%s-%d", logID, seq)
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), v)
	}
	if err := put(a); err != nil {
		return err
	}
	// Sequence numbers have no holes but at the front, so the count is
	// last - first + 1.
	c := b.Cursor()
	first, _ := c.First()
	last, _ := c.Last()
	if n := binary.BigEndian.Uint64(last) - binary.BigEndian.Uint64(first) + 1; n <= uint64(bound) {
		return nil
	}
	// Drop the oldest tenth at once, so a full log is not trimmed on every
	// write.
	drop := max(1, bound/10)
	var dropped uint64
	for k, _ := c.First(); k != nil && dropped < uint64(drop); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		dropped++
	}
	return put(Activity{Time: a.Time, Type: "gap", Dropped: dropped})
}

// Activities returns up to max entries with a sequence number above after,
// oldest first.
func (s *Store) Activities(after uint64, max int) ([]Activity, error) {
	var out []Activity
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketActivity).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var a Activity
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: activity %x: %v", ErrCorrupt, k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return out, nil
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// ActivitiesSince returns the entries of the given types (all types when
// none is given) logged at or after since, oldest first. It reads the log
// from its newest end and stops at the first entry older than since, so
// the cost is the day's entries, not the log's (entries are logged in time
// order; one logged before a clock step back may be missed).
func (s *Store) ActivitiesSince(since time.Time, types ...string) ([]Activity, error) {
	var out []Activity
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketActivity).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var a Activity
			if err := json.Unmarshal(v, &a); err != nil {
				s.log.Error("skipping damaged activity", "key", fmt.Sprintf("%x", k), "err", fmt.Errorf("%w: %v", ErrCorrupt, err))
				continue
			}
			if a.Time.Before(since) {
				break
			}
			if len(types) == 0 || slices.Contains(types, a.Type) {
				out = append(out, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("activities since %s: %w", since.Format(time.RFC3339), err)
	}
	slices.Reverse(out)
	return out, nil
}
