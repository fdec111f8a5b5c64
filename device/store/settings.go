package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Settings an admin changed on the device; they outlive restarts and win
// over the configuration until a new bundle or a factory reset.
const (
	SettingNight  = "night"
	SettingVolume = "volume"
	// SettingDND is do-not-disturb's end (RFC 3339) or "off".
	SettingDND = "dnd"
	// SettingLastTrusted is the last time (RFC 3339) the scheduler could
	// trust the wall clock, written now and then, so a restart on a clock
	// that cannot be trusted judges display windows by it.
	SettingLastTrusted = "last_trusted_time"
)

func settingKey(name string) []byte { return []byte("setting:" + name) }

// SetSetting stores an admin's setting.
func (s *Store) SetSetting(name, value string) error {
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(settingKey(name), []byte(value)) })
	if err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	return nil
}

// Setting returns an admin's setting, if there is one.
func (s *Store) Setting(name string) (string, bool) {
	var v []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		v = tx.Bucket(bucketMeta).Get(settingKey(name))
		if v != nil {
			v = append([]byte(nil), v...)
		}
		return nil
	})
	return string(v), v != nil
}
