package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SpendCallID records that call id was used, until until, and reports
// whether it was fresh. Ids whose time has passed are forgotten. Kept on
// disk so a restart does not reopen the door to a replayed invite.
func (s *Store) SpendCallID(id string, until, now time.Time) (fresh bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCallIDs)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var t time.Time
			if t.UnmarshalBinary(v) != nil || now.After(t) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		if b.Get([]byte(id)) != nil {
			return nil
		}
		v, err := until.MarshalBinary()
		if err != nil {
			return err
		}
		fresh = true
		return b.Put([]byte(id), v)
	})
	if err != nil {
		return false, fmt.Errorf("spend call id: %w", err)
	}
	return fresh, nil
}
