package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/provisioning"
)

// fuzzRequest makes the request a server would hand its handler for these
// bytes on the wire, or nil where the server would answer 400 itself.
func fuzzRequest(method, target, host, headers string, body []byte) *http.Request {
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for _, h := range strings.Split(headers, "\n") {
		if h != "" {
			raw.WriteString(strings.TrimSuffix(h, "\r") + "\r\n")
		}
	}
	fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
	raw.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&raw))
	if err != nil {
		return nil
	}
	r.RemoteAddr = "192.0.2.7:40000"
	return r
}

// FuzzWebHandler: hearthctl web's page never panics, never fails inside,
// never hands out the caller's private key (it is not the server's to
// give: the person imports it into the browser), and tells who uses it
// (/config.json) only to a loopback host name (any host name with
// --public).
func FuzzWebHandler(f *testing.F) {
	dir, c := newTestCaller(f)
	cfg := webConfig{ID: c.ID, Name: c.Name, WS: "ws://127.0.0.1:9001"}
	key := base64.StdEncoding.EncodeToString(provisioning.PKCS8(c.Key))
	pem, err := os.ReadFile(filepath.Join(dir, provisioning.CallerKeyFile))
	if err != nil {
		f.Fatal(err)
	}
	pemBody := strings.Split(string(pem), "\n")[1]
	handlers := map[bool]http.Handler{}
	for _, public := range []bool{false, true} {
		h, err := newWebHandler(cfg, public)
		if err != nil {
			f.Fatal(err)
		}
		handlers[public] = h
	}
	f.Add("GET", "/config.json", "127.0.0.1:8080", "", []byte(nil), false)
	f.Add("GET", "/config.json", "evil.example:8080", "", []byte(nil), false)
	f.Add("GET", "/%2e%2e/%2e%2e/etc/passwd", "localhost", "", []byte(nil), false)
	f.Add("HEAD", "/vendor/", "[::1]:8080", "Range: bytes=0-10", []byte(nil), true)
	f.Add("POST", "/config.json", "localhost", "Content-Type: application/json", []byte("{}"), false)
	f.Add("GET", "http://localhost/index.html", "127.0.0.1", "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT", []byte(nil), true)
	f.Add("OPTIONS", "*", "", "", []byte(nil), false)
	f.Fuzz(func(t *testing.T, method, target, host, headers string, body []byte, public bool) {
		r := fuzzRequest(method, target, host, headers, body)
		if r == nil {
			return
		}
		w := httptest.NewRecorder()
		handlers[public].ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusPartialContent, http.StatusMovedPermanently, http.StatusNotModified,
			http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusPreconditionFailed,
			http.StatusRequestedRangeNotSatisfiable, http.StatusMisdirectedRequest:
		default:
			t.Fatalf("%s %s (Host %q) = %d, want a success, a redirect or a refusal", method, target, host, w.Code)
		}
		if strings.Contains(w.Body.String(), key) || strings.Contains(w.Body.String(), pemBody) {
			t.Fatalf("%s %s (Host %q, public %v) = %d with the caller's private key", method, target, host, public, w.Code)
		}
		if strings.Contains(w.Body.String(), `"id":"nurse-eva"`) {
			name := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				name = h
			}
			if r.URL.Path != "/config.json" || (!public && !isLoopbackHost(name)) {
				t.Fatalf("%s %s (Host %q, public %v) = %d with the config", method, target, host, public, w.Code)
			}
		}
		if w.Code != http.StatusMisdirectedRequest && w.Code != http.StatusMethodNotAllowed &&
			!strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("%s %s = %d without the page's Content-Security-Policy", method, target, w.Code)
		}
	})
}

var blobName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzBlobStore: blobs serve never panics, never writes outside its folder
// or a file that is not a photo named by its own hash, keeps to its size
// limit, stores nothing without the token, and serves only what it holds.
func FuzzBlobStore(f *testing.F) {
	jpeg := photo.GenerateTestJPEG(16, 16, 50)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	f.Add("PUT", "/"+sha(jpeg), "Authorization: Bearer "+testBlobToken, jpeg, true)
	f.Add("PUT", "/"+sha(jpeg), "", jpeg, false)
	f.Add("PUT", "/"+sha(png), "Authorization: bearer  "+testBlobToken+" ", png, true)
	f.Add("PUT", "/"+sha(jpeg), "Authorization: Bearer wrong", jpeg, true)
	f.Add("PUT", "/../"+sha(jpeg), "", jpeg, false)
	f.Add("PUT", "/%2e%2e%2f"+sha(jpeg), "", jpeg, false)
	f.Add("GET", "/"+sha(jpeg), "Range: bytes=1-3", []byte(nil), false)
	f.Add("GET", "/"+sha(jpeg), "If-None-Match: *", []byte(nil), true)
	f.Add("DELETE", "/"+sha(jpeg), "", []byte(nil), true)
	f.Add("PUT", "/"+sha(append(append([]byte{}, jpeg...), make([]byte, 4096)...)), "",
		append(append([]byte{}, jpeg...), make([]byte, 4096)...), false)
	const max = 2048
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte, withToken bool) {
		r := fuzzRequest(method, target, "photos.example:8089", headers, body)
		if r == nil {
			return
		}
		root := t.TempDir()
		dir := filepath.Join(root, "blobs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sha(jpeg)), jpeg, 0o644); err != nil {
			t.Fatal(err)
		}
		s := blobStore{dir: dir, max: max}
		if withToken {
			s.token = testBlobToken
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusCreated, http.StatusPartialContent, http.StatusNotModified,
			http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusRequestedRangeNotSatisfiable:
		default:
			t.Fatalf("%s %s = %d %s, want a success or a refusal", method, target, w.Code, w.Body)
		}
		if top, _ := os.ReadDir(root); len(top) != 1 {
			t.Fatalf("%s %s left %d entries beside the store's folder", method, target, len(top)-1)
		}
		held, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range held {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || !blobName.MatchString(e.Name()) || sha(b) != e.Name() || len(b) > max || sniffPhoto(b) == "application/octet-stream" {
				t.Fatalf("%s %s left %q (%d bytes, %v): want only photos named by their hash, at most %d bytes",
					method, target, e.Name(), len(b), err, max)
			}
		}
		if w.Code == http.StatusCreated {
			auth := strings.Fields(r.Header.Get("Authorization"))
			if got, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(r.URL.Path, "/"))); r.Method != http.MethodPut || err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s %s = 201, but the store does not hold the body under that name (%v)", method, target, err)
			}
			if withToken && (len(auth) != 2 || !strings.EqualFold(auth[0], "bearer") || auth[1] != testBlobToken) {
				t.Fatalf("%s %s with Authorization %q = 201, want 401", method, target, r.Header.Get("Authorization"))
			}
		} else if len(held) != 1 || held[0].Name() != sha(jpeg) {
			t.Fatalf("%s %s = %d, but the store holds %d photos", method, target, w.Code, len(held))
		}
		if w.Code == http.StatusOK && r.Method == http.MethodGet && sha(w.Body.Bytes()) != strings.TrimPrefix(r.URL.Path, "/") {
			t.Fatalf("GET %s = 200 with %d bytes that do not hash to the name", target, w.Body.Len())
		}
	})
}
