package device

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/internal/backoff"
)

// Defaults and limits of the photo worker.
const (
	DefaultFetchTimeout = 2 * time.Minute
	// firstRetry and maxRetry bound the backoff after a transient failure
	// (network error, HTTP error status): the first wait is up to
	// firstRetry, the ceiling doubling up to maxRetry, with full jitter so
	// that devices sharing a photo server do not all come back at once.
	firstRetry = 5 * time.Second
	maxRetry   = 5 * time.Minute
	// maxFetches URL photos download at once (each up to
	// proto.MaxURLPhoto in memory); one more slot serves photos already on
	// disk, so a slow server never holds them up.
	maxFetches = 2
	maxLocal   = 1
)

// Photos turns pending photo revisions into ready ones: it takes the
// original (from its blob, or fetched from its URL and checked against the
// item's size and sha256), makes the screen-sized JPEG with Prepare and
// resolves the revision in the store, or refuses it with a reason. Bad
// bytes are refused; network trouble is retried with backoff. It wakes on
// store changes and on its retry timer.
type Photos struct {
	Store *store.Store
	// Prepare makes the screen image from the original bytes (the lead
	// wires media/photo.Prepare here). An error refuses the revision with
	// err.Error() as the reason. Calls are serialised: decoding is
	// memory-hungry on a small device.
	Prepare func(orig []byte) (screenJPEG []byte, err error)
	HTTP    *http.Client // for URL photos; default http.DefaultClient
	Clock   clock.Clock  // default clock.Real()
	Logger  *slog.Logger // default slog.Default()
	// OnRefuse, if set, is called after a revision was refused (to report
	// it upward), from the worker's goroutines, possibly concurrently.
	OnRefuse func(id string, rev uint64, reason string)
	// FetchTimeout bounds one download; default DefaultFetchTimeout.
	FetchTimeout time.Duration
}

type photoKey struct {
	id  string
	rev uint64
}

type photoResult struct {
	key   photoKey
	fetch bool
	err   error // transient; refusals and successes are nil
}

// photoRetry is the backoff after a transient failure, and after a failed
// listing of the store.
var photoRetry = backoff.Policy{Base: firstRetry, Cap: maxRetry}

// retryState is one revision's backoff.
type retryState struct {
	next  time.Time
	fails int // transient failures in a row
}

// Run works until ctx ends, then waits for the photos in hand (a Prepare
// call is not interruptible). Cancellation is not an error.
func (p *Photos) Run(ctx context.Context) error {
	if p.Store == nil || p.Prepare == nil {
		return errors.New("photos: Store and Prepare are required")
	}
	clk := p.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	w := &photoWork{p: p, clk: clk, log: log.With("component", "photos"), prep: make(chan struct{}, 1)}
	w.client = p.HTTP
	if w.client == nil {
		w.client = http.DefaultClient
	}
	w.timeout = p.FetchTimeout
	if w.timeout <= 0 {
		w.timeout = DefaultFetchTimeout
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	done := make(chan photoResult)
	busy := map[photoKey]bool{}
	retry := map[photoKey]*retryState{}
	fetching, local := 0, 0
	alarm := clock.Alarm{Clock: clk}
	defer alarm.Stop()
	listFails := 0
	for {
		changed := p.Store.Changed()
		pending, err := p.Store.Pending()
		now := clk.Now()
		var wake time.Time
		if err != nil {
			wait := photoRetry.Delay(listFails)
			listFails++
			w.log.Error("list pending photos", "err", err, "retry_in", wait)
			wake = now.Add(wait)
		} else {
			listFails = 0
			// Soonest shown first.
			slices.SortStableFunc(pending, func(a, b store.Record) int { return a.Item.Start.Compare(b.Item.Start) })
			inStore := map[photoKey]bool{}
			for _, rec := range pending {
				k := photoKey{rec.Item.ID, rec.Item.Rev}
				inStore[k] = true
				if busy[k] || rec.Item.Photo == nil {
					continue
				}
				if !rec.Item.End.After(now) {
					continue // never shown again: don't download it
				}
				if b := retry[k]; b != nil && now.Before(b.next) {
					if wake.IsZero() || b.next.Before(wake) {
						wake = b.next
					}
					continue
				}
				fetch := rec.Orig == ""
				if fetch && fetching >= maxFetches || !fetch && local >= maxLocal {
					continue // a slot frees up with a result, which wakes us
				}
				if fetch {
					fetching++
				} else {
					local++
				}
				busy[k] = true
				wg.Go(func() {
					r := photoResult{key: k, fetch: fetch, err: w.process(ctx, rec)}
					select {
					case done <- r:
					case <-ctx.Done():
					}
				})
			}
			for k := range retry {
				if !inStore[k] {
					delete(retry, k) // resolved, refused, replaced or expired
				}
			}
		}
		fire := alarm.At(now, wake)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-fire:
		case r := <-done:
			delete(busy, r.key)
			if r.fetch {
				fetching--
			} else {
				local--
			}
			if r.err == nil {
				delete(retry, r.key)
				continue
			}
			b := retry[r.key]
			if b == nil {
				b = &retryState{}
				retry[r.key] = b
			}
			wait := photoRetry.Delay(b.fails)
			b.fails++
			b.next = clk.Now().Add(wait)
			w.log.Warn("photo not ready, will retry", "id", r.key.id, "rev", r.key.rev, "err", r.err, "retry_in", wait)
		}
	}
}

// photoWork is what the goroutines of one Run share.
type photoWork struct {
	p       *Photos
	clk     clock.Clock
	log     *slog.Logger
	client  *http.Client
	timeout time.Duration
	prep    chan struct{} // one Prepare at a time
}

// refusal is a verdict on the bytes of a photo: it will not get better by
// trying again.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

// process readies one revision. It returns an error only for transient
// trouble; a refusal is recorded here.
func (w *photoWork) process(ctx context.Context, rec store.Record) error {
	it := rec.Item
	orig, hash, err := w.original(ctx, rec)
	if err == nil {
		var screen []byte
		screen, err = w.prepare(ctx, orig)
		if err == nil {
			if err := w.p.Store.Resolve(it.ID, it.Rev, hash, screen); err != nil {
				return err
			}
			w.log.Info("photo ready", "id", it.ID, "rev", it.Rev, "bytes", len(orig), "screen_bytes", len(screen))
			return nil
		}
	}
	var ref refusal
	if !errors.As(err, &ref) {
		return err
	}
	if err := w.p.Store.Refuse(it.ID, it.Rev, ref.reason, w.clk.Now()); err != nil {
		return err
	}
	w.log.Warn("photo refused", "id", it.ID, "rev", it.Rev, "reason", ref.reason)
	if w.p.OnRefuse != nil {
		w.p.OnRefuse(it.ID, it.Rev, ref.reason)
	}
	return nil
}

// original returns the photo's original bytes and their sha256, from disk
// or fetched and written to disk.
func (w *photoWork) original(ctx context.Context, rec store.Record) ([]byte, string, error) {
	ph := rec.Item.Photo
	if rec.Orig != "" {
		b, err := os.ReadFile(w.p.Store.BlobPath(rec.Orig))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", refusal{"original photo is missing from the device's storage"}
		}
		if err != nil {
			return nil, "", fmt.Errorf("read original %s: %w", rec.Orig, err)
		}
		if sha(b) != rec.Orig {
			return nil, "", refusal{"original photo on the device's storage is damaged"}
		}
		return b, rec.Orig, nil
	}
	b, err := w.fetch(ctx, ph.URL, ph.Size, ph.SHA256)
	if err != nil {
		return nil, "", err
	}
	h, err := w.p.Store.WriteBlob(b)
	if err != nil {
		return nil, "", err
	}
	return b, h, nil
}

// fetch downloads a URL photo and checks it: more or fewer bytes than size,
// or another sha256, is a refusal; network trouble and HTTP error statuses
// are transient.
func (w *photoWork) fetch(ctx context.Context, url string, size int64, want string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, refusal{fmt.Sprintf("photo url: %v", err)}
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch photo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch photo: %s", resp.Status)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return nil, refusal{fmt.Sprintf("photo at its url is %d bytes, item says %d", resp.ContentLength, size)}
	}
	var buf bytes.Buffer
	if resp.ContentLength == size {
		buf.Grow(int(size))
	}
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, size+1)); err != nil {
		return nil, fmt.Errorf("fetch photo: %w", err)
	}
	b := buf.Bytes()
	switch n := int64(len(b)); {
	case n > size:
		return nil, refusal{fmt.Sprintf("photo at its url is more than %d bytes, the size the item says", size)}
	case n < size:
		return nil, refusal{fmt.Sprintf("photo at its url is %d bytes, item says %d", n, size)}
	}
	if got := sha(b); got != want {
		return nil, refusal{fmt.Sprintf("photo at its url has sha256 %s, item says %s", got, want)}
	}
	return b, nil
}

// prepare runs Prepare, one call at a time; a panic on hostile bytes is a
// refusal, not a crash loop.
func (w *photoWork) prepare(ctx context.Context, orig []byte) (screen []byte, err error) {
	select {
	case w.prep <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-w.prep }()
	defer func() {
		if r := recover(); r != nil {
			screen, err = nil, refusal{fmt.Sprintf("photo could not be prepared: %v", r)}
		}
	}()
	screen, err = w.p.Prepare(orig)
	switch {
	case err != nil:
		return nil, refusal{err.Error()}
	case len(screen) == 0:
		return nil, refusal{"photo preparation gave no image"}
	}
	return screen, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
