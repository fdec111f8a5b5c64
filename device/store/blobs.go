package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-home/hearth/internal/atomicfile"
)

// tmpPrefix starts the names of blob files being written; GC and Open
// remove leftovers.
const tmpPrefix = atomicfile.TempPrefix

// WriteBlob stores data as a file named by its sha256 and returns the hash.
// When WriteBlob returns, the file is complete and durable. Writing the same
// bytes again is cheap. A blob that no record names is removed by a GC after
// Options.BlobGrace.
func (s *Store) WriteBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if err := s.writeBlob(h, data); err != nil {
		return "", err
	}
	return h, nil
}

// writeBlob writes data, whose sha256 is h: temporary file, fsync, rename,
// fsync of the directory.
func (s *Store) writeBlob(h string, data []byte) error {
	s.blobMu.Lock()
	s.fresh[h] = s.wallNow()
	s.writers++
	s.blobMu.Unlock()
	defer func() {
		s.blobMu.Lock()
		s.writers--
		s.blobMu.Unlock()
	}()
	path := s.BlobPath(h)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
		return nil
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	return nil
}

// BlobPath returns the file of a blob, or "" if hash is not a sha256 in hex.
func (s *Store) BlobPath(hash string) string {
	if !isHash(hash) {
		return ""
	}
	return filepath.Join(s.blobs, hash)
}

// GC removes blob files that no record (newest or live revision) names,
// except those written by this process within Options.BlobGrace, and
// leftover temporary files. It returns how many files it removed.
func (s *Store) GC() (int, error) {
	refs := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketLive} {
			err := tx.Bucket(b).ForEach(func(_, v []byte) error {
				var r Record
				if err := json.Unmarshal(v, &r); err != nil {
					// A damaged record may still name blobs: keep everything.
					return fmt.Errorf("%w: %v", ErrCorrupt, err)
				}
				refs[r.Orig], refs[r.Screen] = true, true
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gc: %w", err)
	}
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		return 0, fmt.Errorf("gc: %w", err)
	}
	now := s.wallNow()
	n := 0
	var errs []error
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	for h, t := range s.fresh {
		if now.Sub(t) >= s.opt.BlobGrace {
			delete(s.fresh, h)
		}
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if s.writers > 0 {
				continue // may be a write in progress
			}
		case !isHash(name) || refs[name]:
			continue
		default:
			if _, ok := s.fresh[name]; ok {
				continue
			}
		}
		if err := os.Remove(filepath.Join(s.blobs, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		s.log.Info("gc: removed unreferenced blobs", "count", n)
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("gc: %w", err)
	}
	return n, nil
}

// removeTemps deletes every temporary blob file; only safe while no blob
// is being written (at Open).
func (s *Store) removeTemps() (int, error) {
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(s.blobs, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
