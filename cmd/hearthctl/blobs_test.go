package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/sync/mqtttest"
)

const testBlobToken = "0123456789abcdef-test"

// startBlobs runs hearthctl blobs serve ARGS on a real socket until the
// test ends and returns its URL on 127.0.0.1.
func startBlobs(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runEnv(ctx, append([]string{"blobs", "serve"}, args...), pw, io.Discard, nil)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("blobs serve: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err != nil {
		t.Fatalf("blobs serve said %q: %v", line, err)
	}
	// "serving photos from DIR at http://HOST:PORT/ (...)"
	_, rest, _ := strings.Cut(line, "http://")
	hostPort, _, _ := strings.Cut(rest, "/")
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("blobs serve said %q: no address", line)
	}
	return "http://127.0.0.1:" + port
}

func putPhoto(t *testing.T, url, auth string, data []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// On an address other machines reach, uploads need the token; fetching by
// hash stays open; send photo --upload gives the token from
// HEARTH_BLOB_TOKEN.
func TestBlobsServeNeedsTokenForUploads(t *testing.T) {
	t.Setenv("HEARTH_BLOB_TOKEN", "")
	dir := t.TempDir()
	base := startBlobs(t, "--dir", dir, "--addr", "0.0.0.0:0", "--token", testBlobToken)
	data := photo.GenerateTestJPEG(64, 48, 80)
	url := base + "/" + sha(data)
	for name, auth := range map[string]string{
		"no token":    "",
		"wrong token": "Bearer 0123456789abcdef-TEST",
		"prefix":      "Bearer " + testBlobToken[:len(testBlobToken)-1],
		"basic":       "Basic " + testBlobToken,
	} {
		if resp := putPhoto(t, url, auth, data); resp.StatusCode != http.StatusUnauthorized ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("PUT with %s = %s, want 401 Unauthorized with WWW-Authenticate: Bearer", name, resp.Status)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, sha(data))); err == nil {
		t.Fatal("a PUT without the token stored the photo")
	}
	if resp := putPhoto(t, url, "bearer "+testBlobToken, data); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with the token = %s, want 201 Created", resp.Status)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET without a token = %s, %d bytes, %s; want 200 and the photo as image/jpeg", resp.Status, len(got), resp.Header.Get("Content-Type"))
	}

	b := mqtttest.Start(t)
	pic := filepath.Join(t.TempDir(), "p.jpg")
	big := photo.GenerateTestJPEG(320, 240, 85)
	if err := os.WriteFile(pic, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "up", "--upload", base, pic); err == nil ||
		!strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "HEARTH_BLOB_TOKEN") {
		t.Fatalf("send photo --upload without the token = %v, want 401 and a hint about HEARTH_BLOB_TOKEN\n%s", err, out)
	}
	t.Setenv("HEARTH_BLOB_TOKEN", testBlobToken)
	if out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "up", "--upload", base, pic); err != nil {
		t.Fatalf("send photo --upload with HEARTH_BLOB_TOKEN: %v\n%s", err, out)
	}
	if it := retained(t, b.URL(), "mum-kitchen")["up"]; it.Photo == nil || it.Photo.URL != base+"/"+sha(big) {
		t.Fatalf("item = %+v, want a reference to %s/%s", it, base, sha(big))
	}
}

// On loopback the store runs without a token, for development.
func TestBlobsServeLoopbackWithoutToken(t *testing.T) {
	t.Setenv("HEARTH_BLOB_TOKEN", "")
	dir := t.TempDir()
	base := startBlobs(t, "--dir", dir, "--addr", "127.0.0.1:0")
	data := photo.GenerateTestJPEG(64, 48, 80)
	if resp := putPhoto(t, base+"/"+sha(data), "", data); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT on loopback without a token = %s, want 201 Created", resp.Status)
	}
}

func TestBlobsServeRefusesOpenUploads(t *testing.T) {
	t.Setenv("HEARTH_BLOB_TOKEN", "")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"all interfaces": {[]string{"--addr", "0.0.0.0:0"}, "reachable from other machines"},
		"empty host":     {[]string{"--addr", ":0"}, "set HEARTH_BLOB_TOKEN"},
		"lan address":    {[]string{"--addr", "192.0.2.1:8089"}, "or listen on 127.0.0.1"},
		"short token":    {[]string{"--addr", "0.0.0.0:0", "--token", "secret"}, "want at least 16"},
		"bad address":    {[]string{"--addr", "nowhere"}, "--addr"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "blobs")
			out, err := provCtl(t, append([]string{"blobs", "serve", "--dir", dir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("blobs serve %v = %v, want an error about %q\n%s", tc.args, err, tc.want, out)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("blobs serve %v made its folder before refusing", tc.args)
			}
		})
	}
}

func TestBlobStoreRefuses(t *testing.T) {
	dir := t.TempDir()
	s := blobStore{dir: dir, token: testBlobToken, max: 4 << 10}
	jpeg := photo.GenerateTestJPEG(32, 32, 80)
	big := append(append([]byte{}, jpeg...), make([]byte, 4<<10)...)
	html := []byte("<!DOCTYPE html><script>alert(1)</script>")
	for name, tc := range map[string]struct {
		method, path string
		body         []byte
		want         int
	}{
		"wrong hash":       {http.MethodPut, "/" + sha(html), jpeg, http.StatusBadRequest},
		"not a photo":      {http.MethodPut, "/" + sha(html), html, http.StatusUnsupportedMediaType},
		"too large":        {http.MethodPut, "/" + sha(big), big, http.StatusRequestEntityTooLarge},
		"upper-case hash":  {http.MethodPut, "/" + strings.ToUpper(sha(jpeg)), jpeg, http.StatusNotFound},
		"traversal":        {http.MethodGet, "/../" + sha(jpeg), nil, http.StatusNotFound},
		"missing":          {http.MethodGet, "/" + sha(html), nil, http.StatusNotFound},
		"delete":           {http.MethodDelete, "/" + sha(jpeg), nil, http.StatusMethodNotAllowed},
		"temp file":        {http.MethodGet, "/.put-1", nil, http.StatusNotFound},
		"directory itself": {http.MethodGet, "/", nil, http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://store"+tc.path, bytes.NewReader(tc.body))
			r.Header.Set("Authorization", "Bearer "+testBlobToken)
			if name == "too large" {
				r.ContentLength = -1 // unknown: the limit must hold while reading
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, w.Code, w.Body, tc.want)
			}
		})
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("refused uploads left %d files behind", len(left))
	}
}

// The token is a secret: -h must not print it as a flag's default.
func TestBlobTokenNotInHelp(t *testing.T) {
	t.Setenv("HEARTH_BLOB_TOKEN", testBlobToken)
	for _, args := range [][]string{{"blobs", "serve", "-h"}, {"send", "photo", "-h"}} {
		out, _ := provCtl(t, args...)
		if !strings.Contains(out, "token") || strings.Contains(out, testBlobToken) {
			t.Errorf("hearthctl %s printed the token from HEARTH_BLOB_TOKEN:\n%s", strings.Join(args, " "), out)
		}
	}
}
