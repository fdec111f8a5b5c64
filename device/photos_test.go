package device

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/internal/backoff"
	"github.com/hearth-home/hearth/sync/proto"
)

var pt0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakePrepare "scales" a photo by prefixing it; bytes starting with "bad"
// fail and "panic" panics, as a decoder might on hostile input.
func fakePrepare(orig []byte) ([]byte, error) {
	switch {
	case strings.HasPrefix(string(orig), "bad"):
		return nil, errors.New("photo: not a JPEG, PNG or WebP image")
	case strings.HasPrefix(string(orig), "panic"):
		panic("index out of range")
	}
	return append([]byte("screen:"), orig...), nil
}

type photoFixture struct {
	st      *store.Store
	clk     *clock.Fake
	srv     *httptest.Server
	hits    sync.Map // path -> *atomic.Int64
	refused chan string
	release chan struct{} // unblocks /slow/ handlers
}

// photo server paths:
//
//	/ok/NAME         200 with body NAME
//	/flaky/N/NAME    404 for the first N requests, then as /ok/NAME
//	/nolength/NAME   200 with body NAME, chunked (no Content-Length)
//	/slow/NAME       waits for release or the client to give up
func newPhotoFixture(t *testing.T) *photoFixture {
	t.Helper()
	f := &photoFixture{st: newStore(t), clk: clock.NewFake(pt0), refused: make(chan string, 10), release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := f.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		count := n.(*atomic.Int64).Add(1)
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
		switch parts[0] {
		case "ok":
			w.Write([]byte(parts[1]))
		case "flaky":
			if fails, _ := strconv.Atoi(parts[1]); count <= int64(fails) {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(parts[2]))
		case "nolength":
			w.Write([]byte(parts[1][:1]))
			w.(http.Flusher).Flush()
			w.Write([]byte(parts[1][1:]))
		case "slow":
			select {
			case <-f.release:
				w.Write([]byte(parts[1]))
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func (f *photoFixture) hitCount(path string) int64 {
	n, ok := f.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func (f *photoFixture) run(t *testing.T, configure func(*Photos)) {
	t.Helper()
	p := &Photos{
		Store: f.st, Prepare: fakePrepare, HTTP: f.srv.Client(), Clock: f.clk, Logger: quietLog(),
		OnRefuse: func(id string, rev uint64, reason string) { f.refused <- id + ": " + reason },
	}
	if configure != nil {
		configure(p)
	}
	runUntilCleanup(t, p.Run)
}

func urlPhoto(id, url string, body []byte) proto.Item {
	return proto.Item{V: 1, ID: id, Device: "dev1", Rev: 1, Kind: proto.KindPhoto, Start: pt0.Add(-time.Hour), End: pt0.Add(24 * time.Hour),
		Photo: &proto.Photo{URL: url, SHA256: sha(body), Size: int64(len(body))}}
}

func inlinePhoto(id string, body []byte) proto.Item {
	it := urlPhoto(id, "", body)
	it.Photo.URL, it.Photo.Data = "", body
	return it
}

func (f *photoFixture) apply(t *testing.T, it proto.Item) {
	t.Helper()
	if _, err := f.st.Apply(it, f.clk.Now()); err != nil {
		t.Fatalf("Apply(%s) = %v", it.ID, err)
	}
}

// waitState waits until item id reaches state.
func waitState(t *testing.T, st *store.Store, id string, state proto.ItemState) store.Record {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		changed := st.Changed()
		r, ok, err := st.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok && r.State == state {
			return r
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s is %s (%s), want %s", id, r.State, r.Reason, state)
		}
	}
}

func TestPhotosInline(t *testing.T) {
	f := newPhotoFixture(t)
	f.apply(t, inlinePhoto("p", []byte("inline photo")))
	f.run(t, nil)
	r := waitState(t, f.st, "p", proto.StateReady)
	b, err := os.ReadFile(f.st.BlobPath(r.Screen))
	if err != nil || string(b) != "screen:inline photo" {
		t.Errorf("screen blob = %q, %v; want %q", b, err, "screen:inline photo")
	}
	if lv, _ := f.st.Live(); len(lv) != 1 {
		t.Errorf("Live() = %d records, want 1", len(lv))
	}
}

func TestPhotosURL(t *testing.T) {
	f := newPhotoFixture(t)
	f.run(t, nil)
	for _, path := range []string{"/ok/fetched", "/nolength/chunked"} {
		body := path[strings.LastIndex(path, "/")+1:]
		f.apply(t, urlPhoto(body, f.srv.URL+path, []byte(body)))
		r := waitState(t, f.st, body, proto.StateReady)
		if r.Orig != sha([]byte(body)) {
			t.Errorf("%s: Orig = %s, want the sha256 of %q", path, r.Orig, body)
		}
		if b, err := os.ReadFile(f.st.BlobPath(r.Orig)); err != nil || string(b) != body {
			t.Errorf("%s: original blob = %q, %v", path, b, err)
		}
	}
}

func TestPhotosRefusals(t *testing.T) {
	tests := []struct {
		name       string
		path, body string // body is what the item promises
		edit       func(*proto.Item)
		wantReason string
	}{
		{"wrong sha256", "/ok/abc", "abc", func(it *proto.Item) { it.Photo.SHA256 = sha([]byte("xyz")) }, "has sha256 " + sha([]byte("abc"))},
		{"longer than size", "/ok/abcdef", "abc", nil, "is 6 bytes, item says 3"},
		{"shorter than size", "/ok/ab", "abc", nil, "is 2 bytes, item says 3"},
		{"longer, no length", "/nolength/abcdef", "abc", nil, "more than 3 bytes"},
		{"shorter, no length", "/nolength/ab", "abc", nil, "is 2 bytes, item says 3"},
		{"prepare fails", "/ok/bad-bytes", "bad-bytes", nil, "photo: not a JPEG, PNG or WebP image"},
		{"prepare panics", "/ok/panic-bytes", "panic-bytes", nil, "could not be prepared: index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPhotoFixture(t)
			// Rev 1 is on screen; the bad rev 2 must not take it off.
			old := inlinePhoto("p", []byte("old photo"))
			f.apply(t, old)
			if err := f.st.Resolve("p", 1, old.Photo.SHA256, []byte("old screen")); err != nil {
				t.Fatal(err)
			}
			it := urlPhoto("p", f.srv.URL+tt.path, []byte(tt.body))
			it.Rev = 2
			if tt.edit != nil {
				tt.edit(&it)
			}
			f.apply(t, it)
			f.run(t, nil)
			r := waitState(t, f.st, "p", proto.StateRefused)
			if !strings.Contains(r.Reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", r.Reason, tt.wantReason)
			}
			if tt.name == "prepare fails" && r.Reason != "photo: not a JPEG, PNG or WebP image" {
				t.Errorf("reason = %q, want Prepare's error text", r.Reason)
			}
			select {
			case got := <-f.refused:
				if got != "p: "+r.Reason {
					t.Errorf("OnRefuse got %q, want %q", got, "p: "+r.Reason)
				}
			case <-time.After(waitLimit):
				t.Error("OnRefuse not called")
			}
			if lv, _ := f.st.Live(); len(lv) != 1 || lv[0].Item.Rev != 1 {
				t.Errorf("Live() = %+v, want rev 1 still live", lv)
			}
			if n := f.hitCount(tt.path); n != 1 {
				t.Errorf("%s fetched %d times, want 1", tt.path, n)
			}
		})
	}
}

// settleRetry waits until the one armed timer is the retry after the
// failure numbered attempt, made at from: jittered, so anywhere between
// the backoff's floor and its ceiling. It returns the retry's time.
func settleRetry(t *testing.T, clk *clock.Fake, from time.Time, attempt int) time.Time {
	t.Helper()
	lo, hi := from.Add(backoff.MinDelay), from.Add(photoRetry.Ceiling(attempt))
	deadline := time.Now().Add(waitLimit)
	for {
		got := clk.Pending()
		if len(got) == 1 && !got[0].Before(lo) && !got[0].After(hi) {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("armed timers = %v, want one retry in [%v, %v]", got, lo, hi)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPhotosRetry(t *testing.T) {
	f := newPhotoFixture(t)
	path := "/flaky/2/later"
	f.apply(t, urlPhoto("p", f.srv.URL+path, []byte("later")))
	f.run(t, nil)
	// 404: not a refusal; retried within 5 s, then within 10 s.
	at := settleRetry(t, f.clk, pt0, 0)
	if r, _, _ := f.st.Get("p"); r.State != proto.StatePending {
		t.Fatalf("after a 404: %s %q, want pending", r.State, r.Reason)
	}
	f.clk.Set(at)
	at = settleRetry(t, f.clk, at, 1)
	f.clk.Set(at)
	waitState(t, f.st, "p", proto.StateReady)
	settle(t, f.clk)
	if n := f.hitCount(path); n != 3 {
		t.Errorf("fetched %d times, want 3", n)
	}
}

func TestPhotosConnectionRefused(t *testing.T) {
	f := newPhotoFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/x.jpg"
	ln.Close()
	f.apply(t, urlPhoto("p", dead, []byte("x")))
	f.run(t, nil)
	at := pt0
	for attempt := range 3 {
		at = settleRetry(t, f.clk, at, attempt)
		if attempt < 2 {
			f.clk.Set(at)
		}
	}
	if r, _, _ := f.st.Get("p"); r.State != proto.StatePending {
		t.Errorf("unreachable server: %s %q, want still pending", r.State, r.Reason)
	}
	// A new revision with a working URL is not held up by the old backoff.
	it := urlPhoto("p", f.srv.URL+"/ok/x", []byte("x"))
	it.Rev = 2
	f.apply(t, it)
	waitState(t, f.st, "p", proto.StateReady)
	settle(t, f.clk)
}

func TestPhotosSlowURLDoesNotBlock(t *testing.T) {
	f := newPhotoFixture(t)
	f.apply(t, urlPhoto("slow1", f.srv.URL+"/slow/one", []byte("one")))
	f.apply(t, urlPhoto("slow2", f.srv.URL+"/slow/two", []byte("two")))
	f.run(t, func(p *Photos) { p.FetchTimeout = time.Minute })
	// Both fetch slots hang; a photo already on the device still gets ready.
	f.apply(t, inlinePhoto("inline", []byte("local")))
	waitState(t, f.st, "inline", proto.StateReady)
	for _, id := range []string{"slow1", "slow2"} {
		if r, _, _ := f.st.Get(id); r.State != proto.StatePending {
			t.Errorf("%s = %s, want pending", id, r.State)
		}
	}
}

func TestPhotosFetchTimeout(t *testing.T) {
	f := newPhotoFixture(t)
	f.apply(t, urlPhoto("slow", f.srv.URL+"/slow/s", []byte("s")))
	f.run(t, func(p *Photos) { p.FetchTimeout = 50 * time.Millisecond })
	// The download gives up (real time) and is retried later (fake time).
	settleRetry(t, f.clk, pt0, 0)
	if r, _, _ := f.st.Get("slow"); r.State != proto.StatePending {
		t.Errorf("after a timeout: %s %q, want pending", r.State, r.Reason)
	}
}

func TestPhotosSkipsEnded(t *testing.T) {
	f := newPhotoFixture(t)
	it := urlPhoto("old", f.srv.URL+"/ok/old", []byte("old"))
	it.Start, it.End = pt0.Add(-48*time.Hour), pt0.Add(-24*time.Hour)
	f.apply(t, it)
	f.apply(t, urlPhoto("new", f.srv.URL+"/ok/new", []byte("new")))
	f.run(t, nil)
	waitState(t, f.st, "new", proto.StateReady)
	if n := f.hitCount("/ok/old"); n != 0 {
		t.Errorf("a photo whose window is over was fetched %d times", n)
	}
	if r, _, _ := f.st.Get("old"); r.State != proto.StatePending {
		t.Errorf("old = %s, want left pending (Expire drops it)", r.State)
	}
}

func TestPhotosNeedsStoreAndPrepare(t *testing.T) {
	if err := (&Photos{}).Run(context.Background()); err == nil {
		t.Error("Run() without Store and Prepare = nil, want an error")
	}
	if err := (&Scheduler{}).Run(context.Background()); err == nil {
		t.Error("Scheduler.Run() without Store and Display = nil, want an error")
	}
}
