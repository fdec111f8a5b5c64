// Package store is the device's durable memory: every item and tombstone
// that arrived over MQTT, what became of it, and the photo files.
//
// Metadata lives in a bbolt database (DIR/hearth.db); photo bytes live as
// files named by their sha256 under DIR/blobs/, written to a temporary
// file, fsynced, renamed and the directory fsynced. A record is committed
// only after the blobs it names are on disk, so a crash leaves at worst an
// unreferenced blob, which GC removes later. Every method that changes
// something has committed (bbolt fsyncs on commit) when it returns nil: the
// sync client acknowledges an MQTT message only after that.
//
// The store keeps two views of each item id:
//
//   - "items": the newest revision received (pending, ready, refused or a
//     tombstone), which decides whether another revision is newer;
//   - "live": the last ready revision, the one that may be shown.
//
// A refused revision therefore never takes a shown one off the screen:
// nothing already stored is lost because of bad input.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hearth-home/hearth/internal/atomicfile"
)

// schemaVersion is the layout this build writes. Bump it (and add a
// migration in initSchema) when buckets or record encodings change
// incompatibly.
const schemaVersion = 1

// batchDelay is how long a commit waits for concurrent Apply calls to join.
const batchDelay = 2 * time.Millisecond

var (
	bucketMeta     = []byte("meta")
	bucketItems    = []byte("items")    // id -> Record (newest revision)
	bucketLive     = []byte("live")     // id -> Record (last ready revision)
	bucketRefusals = []byte("refusals") // 8-byte sequence -> proto.Refusal
	bucketActivity = []byte("activity") // 8-byte sequence -> Activity
	bucketCallIDs  = []byte("call_ids") // call id -> when it may be forgotten
	keySchema      = []byte("schema")
)

// Defaults for Options.
const (
	DefaultTimeout        = 2 * time.Second
	DefaultMaxRefusals    = 100
	DefaultKeepTombstones = 30 * 24 * time.Hour
	DefaultBlobGrace      = 15 * time.Minute
)

// Options configures Open. The zero value is usable.
type Options struct {
	// Timeout bounds the wait for the database's file lock, so a second
	// daemon on the same directory fails with ErrLocked instead of hanging.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Logger receives warnings about damaged records and GC; default slog.Default().
	Logger *slog.Logger
	// MaxRefusals bounds the list of refused payloads; the oldest are
	// dropped. Default DefaultMaxRefusals.
	MaxRefusals int
	// MaxActivity bounds the activity log; default DefaultMaxActivity.
	MaxActivity int
	// KeepTombstones is how long Expire keeps a tombstone after it arrived,
	// so a late, older revision of a deleted item stays dead. Default
	// DefaultKeepTombstones.
	KeepTombstones time.Duration
	// BlobGrace protects a blob written by this process from GC for this
	// long (wall time), so a caller can write a blob and then commit the
	// record naming it (WriteBlob, then Resolve). Default DefaultBlobGrace.
	BlobGrace time.Duration
}

// Store is the device's item database and photo files. Its methods are safe
// for concurrent use.
type Store struct {
	db *bolt.DB
	// created: this Open made the database (see Created).
	created bool
	dir     string
	blobs   string
	log     *slog.Logger
	opt     Options

	// logID names this database's activity log, so event ids stay unique
	// after a factory reset starts the numbering again.
	logID string

	mu         sync.Mutex
	changed    chan struct{}
	actChanged chan struct{}

	// blobMu guards fresh and writers, which keep GC away from blobs that
	// are being written or were just written and are not yet referenced.
	blobMu  sync.Mutex
	fresh   map[string]time.Time
	writers int
	// wallNow reads the wall clock for BlobGrace; tests replace it.
	wallNow func() time.Time
}

// Open opens (or creates) the store in dir: dir/hearth.db and dir/blobs/.
func Open(dir string, opt Options) (*Store, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxActivity <= 0 {
		opt.MaxActivity = DefaultMaxActivity
	}
	if opt.MaxRefusals <= 0 {
		opt.MaxRefusals = DefaultMaxRefusals
	}
	if opt.KeepTombstones <= 0 {
		opt.KeepTombstones = DefaultKeepTombstones
	}
	if opt.BlobGrace <= 0 {
		opt.BlobGrace = DefaultBlobGrace
	}
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	path := filepath.Join(dir, dbFile)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	db, err := openBolt(path, opt.Timeout)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w (waited %s; is another hearthd running?)", path, ErrLocked, opt.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Make the names of a new database and blob directory durable.
	for _, d := range []string{dir, blobs} {
		if err := atomicfile.SyncDir(d); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	// Batch's default 10 ms wait for company caps throughput at (callers in
	// flight)/10ms; the broker's in-flight window (Mosquitto: 20 QoS 1
	// messages) keeps callers few. A commit's fsync already lets later
	// callers gather, more so on an SD card.
	db.MaxBatchDelay = batchDelay
	if err := db.Update(initSchema); err != nil {
		db.Close()
		if errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w: %w", ErrUnreadable, err)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	logID, err := ensureLogID(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{
		logID: logID, created: created,
		db: db, dir: dir, blobs: blobs, log: opt.Logger.With("component", "store"), opt: opt,
		changed: make(chan struct{}), actChanged: make(chan struct{}),
		fresh:   map[string]time.Time{},
		wallNow: time.Now,
	}
	// We hold the database lock, so no other writer is alive: temporary
	// blob files are leftovers of a crash.
	if n, err := s.removeTemps(); err != nil {
		s.log.Warn("remove leftover temporary files", "err", err)
	} else if n > 0 {
		s.log.Info("removed leftover temporary files", "count", n)
	}
	return s, nil
}

// initSchema creates the buckets once and checks the schema version.
// dbFile is the database's name in the store's folder.
const dbFile = "hearth.db"

// openBolt opens the database file; a file that is not a usable bbolt
// database is ErrUnreadable (bbolt may also panic on a damaged one).
func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: bbolt: %v", ErrUnreadable, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case err == nil, errors.Is(err, bolterrors.ErrTimeout):
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum), strings.Contains(err.Error(), "file size too small"):
		err = fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	return db, err
}

// SetAside moves the unreadable database in dir out of the way, to
// hearth.db.unreadable-TIME beside it (kept for a person to look at), so
// that Open makes a fresh one. Photo files stay; those nothing refers to
// are collected later. It returns the new name.
func SetAside(dir string, now time.Time) (string, error) {
	path := filepath.Join(dir, dbFile)
	aside := path + ".unreadable-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("set aside %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return "", fmt.Errorf("set aside %s: %w", path, err)
	}
	return aside, nil
}

// Created reports whether this Open made the database (a first start, a
// factory reset, or one set aside): it then holds nothing the broker
// delivered before, whatever the broker's session says.
func (s *Store) Created() bool { return s.created }

func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta != nil {
		v := meta.Get(keySchema)
		n, err := strconv.Atoi(string(v))
		switch {
		case err != nil:
			return fmt.Errorf("%w: schema version %q", ErrCorrupt, v)
		case n > schemaVersion:
			return fmt.Errorf("%w: database has schema %d, this build knows %d", ErrNewerSchema, n, schemaVersion)
		case n < schemaVersion:
			// No older layouts exist yet; migrations go here.
			return fmt.Errorf("%w: unknown old schema %d", ErrCorrupt, n)
		}
	}
	var err error
	if meta == nil {
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return err
		}
	}
	for _, b := range [][]byte{bucketItems, bucketLive, bucketRefusals, bucketActivity} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

// Close closes the database. Pending Changed channels stay open.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Changed returns a channel that is closed at the next committed change
// (an item stored, resolved, refused or expired; a refusal recorded).
// Take the channel before reading the store so no change is missed.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Store) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}
