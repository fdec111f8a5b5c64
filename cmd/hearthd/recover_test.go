package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnreadableDatabaseIsSetAside: a database file an SD card has damaged
// does not keep the screen dark. hearthd keeps it aside, starts a fresh
// one, reports store_recovered upward, and the broker's retained content
// fills it again.
func TestUnreadableDatabaseIsSetAside(t *testing.T) {
	b, data, args := headlessSetup(t)
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "1", "--id", "m-kept", "Still here after the card's trouble")
	d := startConnected(t, args)
	waitReady(t, b.URL(), "mum-kitchen", 1, 15*time.Second)
	d.stop()

	if err := os.WriteFile(filepath.Join(data, "hearth.db"), []byte(strings.Repeat("not a database ", 5000)), 0o600); err != nil {
		t.Fatal(err)
	}
	d = startConnected(t, args)
	if !strings.Contains(d.log.String(), "setting it aside") {
		t.Fatalf("the log does not say the database was set aside:\n%s", d.log)
	}
	waitActivity(t, b.URL(), "mum-kitchen", "store_recovered", "unreadable", 15*time.Second)
	// On screen again, from the fresh database (this process's log; the
	// retained inventory upward could still be the old one's).
	d.waitLog("slides=1 ids=[m-kept]", 15*time.Second)
	aside, _ := filepath.Glob(filepath.Join(data, "hearth.db.unreadable-*"))
	if len(aside) != 1 {
		t.Fatalf("the damaged database is not kept aside: %v", aside)
	}
	d.stop()
}
