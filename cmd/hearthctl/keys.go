package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// caOrgInit: hearthctl provision ca init --out DIR [--name ORG]
func (e *env) caInit(args []string) error {
	fs := flag.NewFlagSet("provision ca init", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "`folder` for the organisation's keys (kept secret, not on devices)")
	name := fs.String("name", "Hearth", "organisation `name`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("provision ca init: --out is required")
	}
	if _, err := provisioning.NewOrg(*out, *name); err != nil {
		return fmt.Errorf("provision ca init: %w", err)
	}
	fmt.Fprintf(e.stdout, "organisation keys in %s; give devices %s/%s (hearthd --org-key)\n", *out, *out, provisioning.OrgPubFile)
	return nil
}

// callerNew: hearthctl caller new --name NAME --out DIR [--id ID]
func (e *env) callerNew(args []string) error {
	fs := flag.NewFlagSet("caller new", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "`folder` for the caller's key")
	name := fs.String("name", "", "the caller's display `name` (\"Anna\")")
	id := fs.String("id", "", "caller `id` (default: made from the name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("caller new: --out is required")
	}
	c, err := provisioning.NewCaller(*out, *id, *name)
	if err != nil {
		return fmt.Errorf("caller new: %w", err)
	}
	fmt.Fprintf(e.stdout, "caller %s (%s) in %s\n", c.ID, c.Name, *out)
	return nil
}

// allow: hearthctl allow --org DIR --device ID --caller DIR --may forced|signalled|none
func (e *env) allow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("allow", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("org", "", "the organisation's key `folder` (provision ca init)")
	device := fs.String("device", "", "device `id`")
	callerDir := fs.String("caller", "", "the caller's key `folder` (caller new)")
	may := fs.String("may", "", "what the caller may do: forced, signalled, both (forced,signalled) or none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !proto.ValidID(*device) {
		return fmt.Errorf("allow: --device: %q is not a device id", *device)
	}
	modes, err := parseModes(*may)
	if err != nil {
		return fmt.Errorf("allow: --may: %w", err)
	}
	org, err := provisioning.LoadOrg(*orgDir)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	caller, err := provisioning.LoadCaller(*callerDir)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	picture, greeting, err := callerExtras(*callerDir)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	topic := proto.AllowlistTopic(*device)
	msgs, err := conn.Retained(ctx, topic, 300*time.Millisecond)
	if err != nil {
		return fmt.Errorf("allow: read current list: %w", err)
	}
	var cur proto.Allowlist
	if b, ok := msgs[topic]; ok {
		cur, err = proto.DecodeAllowlist(b)
		if err == nil && !ed25519.Verify(org.Public(), cur.SigningBytes(), cur.Sig) {
			err = fmt.Errorf("not signed by this organisation")
		}
		if err != nil {
			// Start over, above its serial, so the device takes the new one.
			fmt.Fprintf(e.stderr, "hearthctl: replacing the device's current allowlist: %v\n", err)
			cur = proto.Allowlist{Serial: cur.Serial}
		}
	}
	next := org.Allow(cur, proto.AllowedCaller{ID: caller.ID, Name: caller.Name, Key: caller.Public(), Mode: modes,
		Picture: picture, Greeting: greeting}, e.now())
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	if len(b) > proto.MaxPayload {
		return fmt.Errorf("allow: the allowlist would be %d bytes, over the device's %d: remove some callers' pictures or greetings", len(b), proto.MaxPayload)
	}
	if err := conn.Publish(ctx, topic, b, true); err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s may call %s: %s (allowlist %d, %d callers)\n", caller.ID, *device, *may, next.Serial, len(next.Callers))
	return nil
}

func parseModes(s string) ([]proto.CallMode, error) {
	switch s {
	case "none":
		return nil, nil
	case "both":
		return []proto.CallMode{proto.ModeForced, proto.ModeSignalled}, nil
	case "":
		return nil, fmt.Errorf("say forced, signalled, both or none")
	}
	var out []proto.CallMode
	for _, m := range strings.Split(s, ",") {
		switch cm := proto.CallMode(m); cm {
		case proto.ModeForced, proto.ModeSignalled:
			out = append(out, cm)
		default:
			return nil, fmt.Errorf("%q is not forced, signalled, both or none", m)
		}
	}
	return out, nil
}
