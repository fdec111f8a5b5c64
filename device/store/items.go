package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

// Record is one stored revision of an item and what became of it.
type Record struct {
	// Item is the item as received, with Photo.Data emptied (the bytes
	// live in blob Orig).
	Item  proto.Item      `json:"item"`
	State proto.ItemState `json:"state"`
	// Reason says why a revision was refused.
	Reason string `json:"reason,omitempty"`
	// Orig is the sha256 (hex) of the original photo once it is on disk;
	// "" while a URL photo is not fetched yet.
	Orig string `json:"orig,omitempty"`
	// Screen is the sha256 (hex) of the screen-sized JPEG of a ready photo.
	Screen   string    `json:"screen,omitempty"`
	Received time.Time `json:"received"`
	// Shown is when the item was first on screen (the sender's receipt).
	Shown time.Time `json:"shown,omitzero"`
}

// Outcome is what Apply did with an item.
type Outcome int

// The outcomes of Apply. The zero value means nothing was decided (an error).
const (
	Added     Outcome = iota + 1 // a new item id
	Updated                      // a higher revision replaced the stored one
	Deleted                      // a tombstone was stored
	Stale                        // a lower revision than the stored one; ignored
	Duplicate                    // the stored revision again; ignored
)

func (o Outcome) String() string {
	switch o {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	case Stale:
		return "stale"
	case Duplicate:
		return "duplicate"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Apply stores an item or tombstone idempotently: a higher Rev replaces the
// stored one, an equal Rev is a Duplicate and a lower one is Stale (both
// ignored, nothing written). Messages are ready at once. Photos are pending
// until Resolve or Refuse; inline bytes are written as blob Orig before the
// record is committed, and inline bytes whose sha256 differs from the item's
// make the revision refused at once. A photo revision whose sha256 equals the
// live one's (an edit of its window or caption) is ready at once and reuses
// the screen image. A tombstone is kept (see Expire) and takes the item off
// the live view. A refused revision is listed (Refusals) and reported (an
// input_refused event) with the record, with an empty Topic: the link
// names the content topic. Apply has committed when it returns nil;
// concurrent calls share commits.
func (s *Store) Apply(it proto.Item, now time.Time) (Outcome, error) {
	if err := checkItem(it); err != nil {
		return 0, fmt.Errorf("apply %s rev %d: %w", it.ID, it.Rev, err)
	}
	// Redeliveries are common (retained messages after a reconnect); answer
	// them with a read, before writing any photo bytes.
	if out, err := s.precheck(it); err != nil || out != 0 {
		if err != nil {
			return 0, fmt.Errorf("apply %s rev %d: %w", it.ID, it.Rev, err)
		}
		return out, nil
	}
	rec := Record{Item: it, Received: now}
	var orig, bad string
	if it.Photo != nil {
		p := *it.Photo
		p.Data = nil
		rec.Item.Photo = &p
		if len(it.Photo.Data) > 0 && !it.Deleted {
			sum := sha256.Sum256(it.Photo.Data)
			h := hex.EncodeToString(sum[:])
			if h != it.Photo.SHA256 {
				bad = fmt.Sprintf("inline photo has sha256 %s, item says %s", h, it.Photo.SHA256)
			} else if err := s.writeBlob(h, it.Photo.Data); err != nil {
				return 0, fmt.Errorf("apply %s rev %d: %w", it.ID, it.Rev, err)
			} else {
				orig = h
			}
		}
	}
	var out Outcome
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may call this more than once: derive everything afresh.
		out = 0
		items, live := tx.Bucket(bucketItems), tx.Bucket(bucketLive)
		key := []byte(it.ID)
		cur, have := s.get(items, key)
		if have {
			switch {
			case it.Rev < cur.Item.Rev:
				out = Stale
				return nil
			case it.Rev == cur.Item.Rev:
				out = Duplicate
				return nil
			}
		}
		r := rec
		switch {
		case it.Deleted:
			r.State = proto.StateDeleted
			if err := live.Delete(key); err != nil {
				return err
			}
		case it.Kind == proto.KindMessage:
			r.State = proto.StateReady
			if err := s.put(live, key, r); err != nil {
				return err
			}
		case bad != "":
			r.State, r.Reason = proto.StateRefused, bad
			if err := s.putRefusal(tx, proto.Refusal{Time: now, ID: it.ID, Rev: it.Rev, Reason: bad}, Of{Kind: it.Kind, Text: it.Text}); err != nil {
				return err
			}
		default:
			r.State, r.Orig = proto.StatePending, orig
			sha := it.Photo.SHA256
			if r.Orig == "" && have && cur.Orig == sha {
				// The same photo as the stored revision, already on disk.
				r.Orig = cur.Orig
			}
			if lv, ok := s.get(live, key); ok && lv.Orig == sha && lv.Screen != "" {
				r.State, r.Orig, r.Screen = proto.StateReady, lv.Orig, lv.Screen
				if err := s.put(live, key, r); err != nil {
					return err
				}
			}
		}
		if err := s.put(items, key, r); err != nil {
			return err
		}
		out = stored(it.Deleted, have)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("apply %s rev %d: %w", it.ID, it.Rev, err)
	}
	if out.changed() {
		s.notify()
	}
	if bad != "" && out.changed() {
		s.notifyActivity()
	}
	return out, nil
}

// stored is the outcome of writing a new revision: Deleted for a
// tombstone (or a cancellation), Updated over a stored one, else Added.
func stored(deleted, had bool) Outcome {
	switch {
	case deleted:
		return Deleted
	case had:
		return Updated
	}
	return Added
}

// changed reports whether the outcome wrote something.
func (o Outcome) changed() bool { return o == Added || o == Updated || o == Deleted }

// precheck returns Stale or Duplicate when the stored revision makes it
// unnecessary to write anything, else 0.
func (s *Store) precheck(it proto.Item) (Outcome, error) {
	var out Outcome
	err := s.db.View(func(tx *bolt.Tx) error {
		cur, ok := s.get(tx.Bucket(bucketItems), []byte(it.ID))
		switch {
		case !ok:
		case it.Rev < cur.Item.Rev:
			out = Stale
		case it.Rev == cur.Item.Rev:
			out = Duplicate
		}
		return nil
	})
	return out, err
}

func checkItem(it proto.Item) error {
	switch {
	case !proto.ValidID(it.ID):
		return fmt.Errorf("%w: item id %q", ErrInvalid, it.ID)
	case it.Rev == 0:
		return fmt.Errorf("%w: revision 0", ErrInvalid)
	case it.Deleted:
		return nil
	case it.Kind == proto.KindMessage:
		return nil
	case it.Kind != proto.KindPhoto:
		return fmt.Errorf("%w: kind %q", ErrInvalid, it.Kind)
	case it.Photo == nil:
		return fmt.Errorf("%w: photo item without photo", ErrInvalid)
	case !isHash(it.Photo.SHA256):
		return fmt.Errorf("%w: photo sha256 %q", ErrInvalid, it.Photo.SHA256)
	}
	return nil
}

// Resolve makes a pending photo revision ready: orig is the sha256 of its
// original bytes, already on disk (Apply wrote inline photos; WriteBlob the
// fetched ones), and screenJPEG the screen-sized image, which Resolve writes
// as a blob. The revision replaces the live one. Resolve does nothing and
// returns nil when rev is no longer the current, pending revision of id.
func (s *Store) Resolve(id string, rev uint64, orig string, screenJPEG []byte) error {
	if !isHash(orig) {
		return fmt.Errorf("resolve %s rev %d: %w: original hash %q", id, rev, ErrInvalid, orig)
	}
	if len(screenJPEG) == 0 {
		return fmt.Errorf("resolve %s rev %d: %w: empty screen image", id, rev, ErrInvalid)
	}
	if cur, ok, err := s.current(id); err != nil {
		return fmt.Errorf("resolve %s rev %d: %w", id, rev, err)
	} else if !ok || cur.Item.Rev != rev || cur.State != proto.StatePending {
		return nil
	}
	if _, err := os.Stat(s.BlobPath(orig)); err != nil {
		return fmt.Errorf("resolve %s rev %d: %w: original %s: %v", id, rev, ErrBlobMissing, orig, err)
	}
	screen, err := s.WriteBlob(screenJPEG)
	if err != nil {
		return fmt.Errorf("resolve %s rev %d: %w", id, rev, err)
	}
	applied := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		items, live := tx.Bucket(bucketItems), tx.Bucket(bucketLive)
		key := []byte(id)
		cur, ok := s.get(items, key)
		if !ok || cur.Item.Rev != rev || cur.State != proto.StatePending {
			return nil
		}
		if cur.Item.Photo == nil || cur.Item.Photo.SHA256 != orig {
			return fmt.Errorf("%w: original %s is not the item's photo", ErrInvalid, orig)
		}
		cur.State, cur.Reason, cur.Orig, cur.Screen = proto.StateReady, "", orig, screen
		if err := s.put(items, key, cur); err != nil {
			return err
		}
		applied = true
		return s.put(live, key, cur)
	})
	if err != nil {
		return fmt.Errorf("resolve %s rev %d: %w", id, rev, err)
	}
	if applied {
		s.notify()
	}
	return nil
}

// Refuse marks a pending revision refused with a reason and lets GC reclaim
// its original. The live revision, if any, stays live. The refusal is
// listed (Refusals, at now) and reported (an input_refused event) like
// one of a payload. Refuse does nothing and returns nil when rev is no
// longer the current, pending revision of id.
func (s *Store) Refuse(id string, rev uint64, reason string, now time.Time) error {
	applied := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		key := []byte(id)
		cur, ok := s.get(items, key)
		if !ok || cur.Item.Rev != rev || cur.State != proto.StatePending {
			return nil
		}
		// The original of a refused photo is of no use; let GC reclaim it.
		cur.State, cur.Reason, cur.Orig = proto.StateRefused, reason, ""
		applied = true
		if err := s.put(items, key, cur); err != nil {
			return err
		}
		return s.putRefusal(tx, proto.Refusal{Time: now, ID: id, Rev: rev, Reason: reason}, Of{Kind: cur.Item.Kind, Text: cur.Item.Text})
	})
	if err != nil {
		return fmt.Errorf("refuse %s rev %d: %w", id, rev, err)
	}
	if applied {
		s.notify()
		s.notifyActivity()
	}
	return nil
}

// Pending returns the pending photo revisions, by id.
func (s *Store) Pending() ([]Record, error) {
	recs, err := s.scan(bucketItems, func(r Record) bool { return r.State == proto.StatePending })
	if err != nil {
		return nil, fmt.Errorf("pending: %w", err)
	}
	return recs, nil
}

// Live returns what may be shown: the last ready revision of each item that
// is not deleted, by id, whatever its display window.
func (s *Store) Live() ([]Record, error) {
	recs, err := s.scan(bucketLive, nil)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	return recs, nil
}

// All returns the newest revision of every item, tombstones and refused
// ones included, by id (for the inventory).
func (s *Store) All() ([]Record, error) {
	recs, err := s.scan(bucketItems, nil)
	if err != nil {
		return nil, fmt.Errorf("all: %w", err)
	}
	return recs, nil
}

// Get returns the newest revision of one item.
func (s *Store) Get(id string) (Record, bool, error) {
	r, ok, err := s.current(id)
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", id, err)
	}
	return r, ok, nil
}

func (s *Store) current(id string) (Record, bool, error) {
	var r Record
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		r, ok = s.get(tx.Bucket(bucketItems), []byte(id))
		return nil
	})
	return r, ok, err
}

func (s *Store) scan(bucket []byte, keep func(Record) bool) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				s.log.Error("skipping damaged record", "bucket", string(bucket), "id", string(k), "err", fmt.Errorf("%w: %v", ErrCorrupt, err))
				return nil
			}
			if keep == nil || keep(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// get decodes one record; a damaged one counts as absent (and is logged),
// so a new revision can replace it.
func (s *Store) get(b *bolt.Bucket, key []byte) (Record, bool) {
	v := b.Get(key)
	if v == nil {
		return Record{}, false
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		s.log.Error("damaged record treated as absent", "id", string(key), "err", fmt.Errorf("%w: %v", ErrCorrupt, err))
		return Record{}, false
	}
	return r, true
}

func (s *Store) put(b *bolt.Bucket, key []byte, r Record) error {
	v, err := encode(r)
	if err != nil {
		return err
	}
	return b.Put(key, v)
}
