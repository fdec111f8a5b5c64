// Package atomicfile is the one way Hearth writes a file: a temporary file
// in the same directory, fsync, rename over the name, fsync of the
// directory. A reader sees the old file or the new one, and after a power
// cut so does the device, never a part of either.
//
// The rename alone is atomic but not durable: until the directory is
// synced, a power cut can bring back the old name (or none). That is the
// step many helpers leave out (github.com/google/renameio does), and why
// this package has SyncDir.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// TempPrefix starts the name of every temporary file (and symlink) this
// package makes, so that a directory's owner can remove what a crash left
// behind.
const TempPrefix = ".tmp-"

// WriteFile writes data to path atomically and durably, with exactly the
// permissions perm (no umask).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// File is a temporary file that becomes path on Commit. Abort it (a
// deferred Abort after Commit does nothing) to leave nothing behind.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts a file that will replace path, with the permissions perm
// (no umask).
func Create(path string, perm fs.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), TempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: tmp, path: path}, nil
}

// Commit syncs and closes the file, renames it to its path and syncs the
// directory.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.path)
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := SyncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file unless it was committed.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Symlink points the symlink path at target atomically (a new symlink
// renamed over it) and durably.
func Symlink(target, path string) error {
	dir := filepath.Dir(path)
	var tmp string
	for {
		var r [8]byte
		_, _ = rand.Read(r[:])
		tmp = filepath.Join(dir, TempPrefix+hex.EncodeToString(r[:]))
		err := os.Symlink(target, tmp)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("symlink %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("symlink %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("symlink %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs a directory, so that the names created, renamed or
// removed in it survive a power cut. A file system that cannot sync a
// directory (EINVAL, as some FUSE and network ones answer) offers nothing
// more to wait for: that is not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
