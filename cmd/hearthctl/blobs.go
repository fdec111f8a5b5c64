package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

var sumRE = regexp.MustCompile(`^/([0-9a-f]{64})$`)

// blobsServe runs a small content-addressed photo store: PUT /SHA256 stores
// a photo (refused unless the body hashes to SHA256), GET /SHA256 returns it.
// Devices fetch photos sent by reference from here.
func (e *env) blobsServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("blobs serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("dir", "", "`dir` to keep photos in")
	addr := fs.String("addr", "127.0.0.1:8089", "listen `address`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("blobs serve: --dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("blobs serve: %w", err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("blobs serve: %w", err)
	}
	fmt.Fprintf(e.stdout, "serving photos from %s at http://%s/\n", *dir, l.Addr())
	srv := &http.Server{Handler: blobHandler(*dir), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func blobHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sumRE.FindStringSubmatch(r.URL.Path)
		if m == nil {
			http.Error(w, "want /SHA256", http.StatusNotFound)
			return
		}
		path := filepath.Join(dir, m[1])
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			http.ServeFile(w, r, path)
		case http.MethodPut:
			if err := putBlob(dir, m[1], http.MaxBytesReader(w, r.Body, proto.MaxURLPhoto)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
		}
	})
}

func putBlob(dir, sum string, body io.Reader) error {
	tmp, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), body); err != nil {
		tmp.Close()
		return fmt.Errorf("receive: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		tmp.Close()
		return fmt.Errorf("body hashes to %s, not %s", got, sum)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, sum))
}
