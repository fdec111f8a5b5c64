package store

import "errors"

// Sentinel errors of the store. Each error returned by a Store method wraps
// at most one of them (test with errors.Is); other errors are I/O or bbolt
// failures, wrapped with the operation.
var (
	// ErrLocked: another process (a second hearthd, or a tool) holds the
	// database; Open gave up after Options.Timeout.
	ErrLocked = errors.New("store is in use by another process")

	// ErrNewerSchema: the database was written by a newer Hearth whose
	// layout this build does not know. Open refuses it rather than risk
	// damaging it; a downgrade needs the data directory moved aside.
	ErrNewerSchema = errors.New("store schema is newer than this build")

	// ErrInvalid: an argument the store cannot keep: an item without a
	// valid id or revision, a photo item without a photo or sha256, a blob
	// hash that is not 64 lowercase hex digits, an empty screen image, or an
	// original whose hash does not match its item.
	ErrInvalid = errors.New("invalid")

	// ErrBlobMissing: Resolve was given an original photo that is not on
	// disk. A record never refers to a blob that is not fully written.
	ErrBlobMissing = errors.New("blob not on disk")

	// ErrUnreadable: the database file itself cannot be opened: not a
	// bbolt file, a damaged meta page or checksum, a schema record that is
	// not one (an SD card's failure, say). SetAside moves it away so a
	// fresh one can take its place; content comes again from the broker.
	ErrUnreadable = errors.New("store database is unreadable")

	// ErrCorrupt: a stored value could not be decoded. Reads log and skip
	// such a record instead of failing, so one damaged entry cannot blank
	// the screen; it is only seen in logs.
	ErrCorrupt = errors.New("corrupt record")
)
