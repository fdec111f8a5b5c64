package main

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// unsignedWarning is printed when an item goes out without a sender's key:
// a screen whose organisation requires signed items refuses it.
const unsignedWarning = "warning: sending unsigned (no --caller or $HEARTH_CALLER): screens that require signed items will refuse it"

// senderFlag adds --caller, the sender's key folder (hearthctl caller new),
// defaulting to $HEARTH_CALLER.
func senderFlag(fs *flag.FlagSet) *string {
	return fs.String("caller", os.Getenv("HEARTH_CALLER"),
		"sign with the key in this `folder` (caller new; default $HEARTH_CALLER); the screen shows the name the organisation listed for it")
}

// loadSender loads the sender's key, nil when dir is empty (unsigned).
func loadSender(dir string) (*provisioning.Caller, error) {
	if dir == "" {
		return nil, nil
	}
	c, err := provisioning.LoadCaller(dir)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// signItem makes it a signed item of who (sync/proto/sender.go): days
// turned into end, text and from trimmed, from set to the sender's name
// (the device shows the allowlist's name for it anyway), times in UTC,
// then Sender and Sig. it must already be checked by Normalize, and its
// rev final: the signature covers it.
func signItem(it *proto.Item, who provisioning.Caller) error {
	if it.Days != 0 {
		it.End, it.Days = it.Start.AddDate(0, 0, it.Days), 0
	}
	if !it.Deleted {
		it.Text = strings.TrimSpace(it.Text)
		it.From = strings.TrimSpace(who.Name)
		it.Start, it.End = it.Start.UTC(), it.End.UTC()
		if !it.Created.IsZero() {
			it.Created = it.Created.UTC()
		}
	}
	it.Sender, it.Sig = who.ID, nil
	it.Sig = ed25519.Sign(who.Key, it.SigningBytes())
	if err := it.Normalize(); err != nil {
		return fmt.Errorf("sign item %s: %w", it.ID, err)
	}
	return nil
}
