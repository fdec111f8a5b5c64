package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/sync/proto"
)

var bucketBookings = []byte("bookings") // booking id -> BookingRecord (newest revision)

// KeepCancels is how long a cancelled booking is kept after it arrived:
// long enough that the revision it cancelled, replayed later, is over
// before the cancellation is forgotten (bookings are at most
// proto.MaxBookingAhead ahead of their issue and proto.MaxBookingLength
// long).
const KeepCancels = proto.MaxBookingAhead + proto.MaxBookingLength + 24*time.Hour

// BookingRecord is the newest revision of a booking the device took (a
// cancellation included), with when it arrived.
type BookingRecord struct {
	Booking  proto.Booking `json:"booking"`
	Received time.Time     `json:"received"`
}

// PutBooking keeps a checked booking like an item: a higher Rev replaces
// the stored one (Added or Updated; Deleted for a cancellation), an equal
// one is a Duplicate and a lower one Stale (both ignored, nothing
// written). It has committed when it returns nil.
func (s *Store) PutBooking(b proto.Booking, now time.Time) (Outcome, error) {
	if !proto.ValidID(b.ID) || b.Rev == 0 {
		return 0, fmt.Errorf("put booking %q rev %d: %w", b.ID, b.Rev, ErrInvalid)
	}
	var out Outcome
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = 0
		bk, err := tx.CreateBucketIfNotExists(bucketBookings)
		if err != nil {
			return err
		}
		cur, have := s.booking(bk, b.ID)
		switch {
		case have && b.Rev < cur.Booking.Rev:
			out = Stale
			return nil
		case have && b.Rev == cur.Booking.Rev:
			out = Duplicate
			return nil
		}
		v, err := encode(BookingRecord{Booking: b, Received: now})
		if err != nil {
			return err
		}
		if err := bk.Put([]byte(b.ID), v); err != nil {
			return err
		}
		out = stored(b.Cancel, have)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put booking %s rev %d: %w", b.ID, b.Rev, err)
	}
	if out.changed() {
		s.notify()
	}
	return out, nil
}

// Booking returns the newest revision of one booking (a cancellation
// included).
func (s *Store) Booking(id string) (BookingRecord, bool, error) {
	var r BookingRecord
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(bucketBookings); bk != nil {
			r, ok = s.booking(bk, id)
		}
		return nil
	})
	if err != nil {
		return BookingRecord{}, false, fmt.Errorf("booking %s: %w", id, err)
	}
	return r, ok, nil
}

// Bookings returns the bookings in force (not cancelled), by id.
func (s *Store) Bookings() ([]proto.Booking, error) {
	var out []proto.Booking
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBookings)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error {
			r, ok := s.decodeBooking(k, v)
			if ok && !r.Booking.Cancel {
				out = append(out, r.Booking)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bookings: %w", err)
	}
	return out, nil
}

// ExpireBookings drops the bookings whose booked time ended at or before
// `before`, and cancellations that arrived more than KeepCancels before
// it. It returns how many it dropped.
func (s *Store) ExpireBookings(before time.Time) (int, error) {
	over := func(r BookingRecord) bool {
		if r.Booking.Cancel {
			return !r.Received.Add(KeepCancels).After(before)
		}
		return !r.Booking.End().After(before)
	}
	var drop [][]byte
	plan := func(tx *bolt.Tx) {
		drop = nil
		if bk := tx.Bucket(bucketBookings); bk != nil {
			_ = bk.ForEach(func(k, v []byte) error {
				if r, ok := s.decodeBooking(k, v); ok && over(r) {
					drop = append(drop, append([]byte(nil), k...))
				}
				return nil
			})
		}
	}
	// A read first: most calls find nothing, and a write costs an fsync.
	_ = s.db.View(func(tx *bolt.Tx) error { plan(tx); return nil })
	if len(drop) == 0 {
		return 0, nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		plan(tx)
		for _, k := range drop {
			if err := tx.Bucket(bucketBookings).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire bookings: %w", err)
	}
	s.notify()
	return len(drop), nil
}

func (s *Store) booking(bk *bolt.Bucket, id string) (BookingRecord, bool) {
	v := bk.Get([]byte(id))
	if v == nil {
		return BookingRecord{}, false
	}
	return s.decodeBooking([]byte(id), v)
}

// decodeBooking decodes one record; a damaged one counts as absent (and
// is logged), so a new revision can replace it.
func (s *Store) decodeBooking(k, v []byte) (BookingRecord, bool) {
	var r BookingRecord
	if err := json.Unmarshal(v, &r); err != nil {
		s.log.Error("damaged booking treated as absent", "id", string(k), "err", fmt.Errorf("%w: %v", ErrCorrupt, err))
		return BookingRecord{}, false
	}
	return r, true
}
