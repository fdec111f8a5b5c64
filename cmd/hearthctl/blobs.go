package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
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
	"strings"
	"time"

	"github.com/hearth-home/hearth/internal/atomicfile"
	"github.com/hearth-home/hearth/sync/proto"
)

var sumRE = regexp.MustCompile(`^/([0-9a-f]{64})$`)

// minBlobToken is the shortest upload token blobs serve takes: a guessable
// token on a reachable store is no lock.
const minBlobToken = 16

// blobsServe runs a small content-addressed photo store: PUT /SHA256 stores
// a photo (refused unless the body hashes to SHA256), GET /SHA256 returns it.
// Devices fetch photos sent by reference from here.
//
// Uploads need the shared token (--token, $HEARTH_BLOB_TOKEN) as a bearer
// token; only on a loopback address may the store run without one. Fetching
// stays open: the name is the photo's SHA-256, which a device learns only
// from the item it was sent, and the device checks what it fetches against it.
func (e *env) blobsServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("blobs serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("dir", "", "`dir` to keep photos in")
	addr := fs.String("addr", "127.0.0.1:8089", "listen `address`")
	token := fs.String("token", "", "the upload `token` senders give (send photo --upload with $HEARTH_BLOB_TOKEN); "+
		"default $HEARTH_BLOB_TOKEN, which is better: a flag shows in ps. Required unless --addr is loopback")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("HEARTH_BLOB_TOKEN") // not the flag's default: -h would print it
	}
	if *dir == "" {
		return errors.New("blobs serve: --dir is required")
	}
	loopback, err := isLoopbackAddr(*addr)
	if err != nil {
		return fmt.Errorf("blobs serve: --addr: %w", err)
	}
	switch {
	case *token == "" && !loopback:
		return fmt.Errorf("blobs serve: --addr %s is reachable from other machines, and without a token anyone there could "+
			"upload; set HEARTH_BLOB_TOKEN (or --token) to a secret of at least %d characters (openssl rand -hex 16) "+
			"and give senders the same HEARTH_BLOB_TOKEN, or listen on 127.0.0.1", *addr, minBlobToken)
	case *token != "" && len(*token) < minBlobToken:
		return fmt.Errorf("blobs serve: the upload token is %d characters, want at least %d (openssl rand -hex 16)", len(*token), minBlobToken)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("blobs serve: %w", err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("blobs serve: %w", err)
	}
	who := "uploads with the token"
	if *token == "" {
		who = "uploads from this machine only, without a token"
	}
	fmt.Fprintf(e.stdout, "serving photos from %s at http://%s/ (%s)\n", *dir, l.Addr(), who)
	srv := &http.Server{Handler: blobStore{dir: *dir, token: *token, max: proto.MaxURLPhoto}, ReadHeaderTimeout: 10 * time.Second}
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

// blobStore is the HTTP side of blobs serve.
type blobStore struct {
	dir string
	// token, when set, is the bearer token a PUT needs.
	token string
	// max is the largest photo taken, in bytes.
	max int64
}

// photoTypes are the only bodies the store takes and serves: what a device
// shows. Anything else (HTML, say) would be served from the store's origin.
var photoTypes = []string{"image/jpeg", "image/png", "image/webp"}

func (s blobStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := sumRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.Error(w, "want /SHA256 (64 lowercase hex)", http.StatusNotFound)
		return
	}
	path := filepath.Join(s.dir, m[1])
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, "no such photo", http.StatusNotFound)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			http.Error(w, "no such photo", http.StatusNotFound)
			return
		}
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		h := w.Header()
		h.Set("Content-Type", sniffPhoto(head[:n]))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "public, max-age=31536000, immutable") // the name is the content
		http.ServeContent(w, r, "", fi.ModTime(), f)
	case http.MethodPut:
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hearth photos"`)
			http.Error(w, "uploads need the store's token (HEARTH_BLOB_TOKEN)", http.StatusUnauthorized)
			return
		}
		if r.ContentLength > s.max {
			http.Error(w, fmt.Sprintf("larger than %d MiB", s.max>>20), http.StatusRequestEntityTooLarge)
			return
		}
		code, err := putBlob(s.dir, m[1], http.MaxBytesReader(w, r.Body, s.max))
		if err != nil {
			http.Error(w, err.Error(), code)
			return
		}
		w.WriteHeader(http.StatusCreated)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		http.Error(w, "GET, HEAD or PUT", http.StatusMethodNotAllowed)
	}
}

// authorized says whether r may upload: with the token as a bearer token,
// compared in constant time, or any request when the store has no token
// (it then listens on loopback only).
func (s blobStore) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Hashes, so that the comparison takes as long whatever the length.
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(s.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// sniffPhoto is the content type of a stored photo, from its first bytes.
func sniffPhoto(head []byte) string {
	if t := http.DetectContentType(head); strings.HasPrefix(t, "image/") {
		for _, p := range photoTypes {
			if t == p {
				return t
			}
		}
	}
	return "application/octet-stream"
}

// putBlob stores body as dir/sum when it is a photo that hashes to sum, and
// says with the HTTP status why not otherwise. A half-received or refused
// body leaves nothing behind.
func putBlob(dir, sum string, body io.Reader) (int, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return receiveStatus(err), fmt.Errorf("receive: %w", err)
	}
	head = head[:n]
	if t := sniffPhoto(head); t == "application/octet-stream" {
		return http.StatusUnsupportedMediaType, fmt.Errorf("not a JPEG, PNG or WebP photo (%s)", http.DetectContentType(head))
	}
	tmp, err := atomicfile.Create(filepath.Join(dir, sum), 0o600)
	if err != nil {
		return http.StatusInternalServerError, errors.New("cannot store photos now")
	}
	defer tmp.Abort()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), io.MultiReader(bytes.NewReader(head), body)); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return http.StatusInternalServerError, errors.New("cannot store photos now")
		}
		return receiveStatus(err), fmt.Errorf("receive: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return http.StatusBadRequest, fmt.Errorf("body hashes to %s, not %s", got, sum)
	}
	if err := tmp.Commit(); err != nil {
		return http.StatusInternalServerError, errors.New("cannot store photos now")
	}
	return http.StatusCreated, nil
}

// receiveStatus is the status for a body that could not be read: too large,
// or cut off.
func receiveStatus(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// blobTokenHint is said when a store refuses an upload for want of the token.
const blobTokenHint = "set HEARTH_BLOB_TOKEN (or --upload-token) to the store's token"
