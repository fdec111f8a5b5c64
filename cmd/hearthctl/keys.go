package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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

// allow: hearthctl allow --org DIR --device ID (--caller DIR | --person ID)
// --may RIGHTS, or hearthctl allow --org DIR --publish [--device ID].
//
// It records the list it signs in ORG/allowlists/DEVICE.json before it
// publishes it, and takes as the next serial 1 + the highest of the
// recorded list's, the broker's retained list's and the serial the device
// reports in its heartbeat: a broker that lost its retained list, or a
// list signed elsewhere, never makes the device ignore the new one.
func (e *env) allow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("allow", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("org", "", "the organisation's key `folder` (provision ca init)")
	device := fs.String("device", "", "device `id` (with --publish: only this device's list)")
	callerDir := fs.String("caller", "", "the caller's key `folder` (caller new, provision person)")
	person := fs.String("person", "", "the person's `id` in the organisation's registry (provision person), instead of --caller")
	may := fs.String("may", "", "what they may do: a comma list of forced, signalled, send, book, admin; both (forced,signalled); none (off the list)")
	publish := fs.Bool("publish", false, "publish the recorded lists (after provision revoke without --publish), re-signed above what the broker and device hold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *publish {
		if *may != "" || *callerDir != "" || *person != "" || fs.NArg() > 0 {
			return errors.New("allow --publish: takes only --org and --device")
		}
		return e.allowPublish(ctx, *orgDir, *device)
	}
	if !proto.ValidID(*device) {
		return fmt.Errorf("allow: --device: %q is not a device id", *device)
	}
	if (*callerDir == "") == (*person == "") {
		return errors.New("allow: give one of --caller DIR or --person ID")
	}
	modes, err := parseModes(*may)
	if err != nil {
		return fmt.Errorf("allow: --may: %w", err)
	}
	org, err := provisioning.LoadOrg(*orgDir)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	reg, err := provisioning.ReadRegistry(*orgDir)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	var entry proto.AllowedCaller
	if *person != "" {
		p, ok := reg.Find(*person)
		if !ok {
			return fmt.Errorf("allow: %q is not in %s (provision person makes them)", *person, filepath.Join(*orgDir, provisioning.PeopleDir, provisioning.RegistryFile))
		}
		entry = proto.AllowedCaller{ID: p.ID, Name: p.Name, Key: p.Key}
	} else {
		caller, err := provisioning.LoadCaller(*callerDir)
		if err != nil {
			return fmt.Errorf("allow: %w", err)
		}
		picture, greeting, err := callerExtras(*callerDir)
		if err != nil {
			return fmt.Errorf("allow: %w", err)
		}
		entry = proto.AllowedCaller{ID: caller.ID, Name: caller.Name, Key: caller.Public(), Picture: picture, Greeting: greeting}
	}
	entry.Mode = modes
	if reg.Revoked(entry.ID) && len(modes) > 0 {
		return fmt.Errorf("allow: %s was revoked (provision revoke): make them again under a new id", entry.ID)
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	held, err := e.heldAllowlist(ctx, conn, org, *orgDir, *device)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	next := org.Allow(held.base, entry, e.now())
	next = org.Resign(next, held.floor()+1, e.now())
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	if len(b) > proto.MaxPayload {
		return fmt.Errorf("allow: the allowlist would be %d bytes, over the device's %d: remove some callers' pictures or greetings", len(b), proto.MaxPayload)
	}
	if err := provisioning.WriteAllowlist(*orgDir, *device, next); err != nil {
		return fmt.Errorf("allow: %w", err)
	}
	if err := conn.Publish(ctx, proto.AllowlistTopic(*device), b, true); err != nil {
		return fmt.Errorf("allow: %w (recorded in %s; hearthctl allow --publish sends it)", err, *orgDir)
	}
	fmt.Fprintf(e.stdout, "%s may %s on %s: published allowlist %d (%d callers)%s\n", entry.ID, modesText(modes), *device, next.Serial, len(next.Callers), held.why())
	fmt.Fprintf(e.stdout, "then make the broker's files again (hearthctl provision broker-files --ca %s) and install them, so the broker lets %s reach %s\n", *orgDir, entry.ID, *device)
	return nil
}

// held is what is known of a device's allowlist: the organisation's record,
// the broker's retained list and the serial the device reports.
type held struct {
	base                      proto.Allowlist // the newest list signed by the organisation, to change
	local, retained, reported uint64
}

func (h held) floor() uint64 { return max(h.local, h.retained, h.reported) }

// why says where the serial came from when the record alone would not
// have given it.
func (h held) why() string {
	if h.floor() == h.local {
		return ""
	}
	return fmt.Sprintf(" [recorded %d, broker %d, device %d]", h.local, h.retained, h.reported)
}

// heldAllowlist reads what the organisation's record, the broker's retained
// allowlist and the device's retained heartbeat say of device's list.
func (e *env) heldAllowlist(ctx context.Context, conn *hsync.Conn, org provisioning.Org, orgDir, device string) (held, error) {
	var h held
	local, ok, err := provisioning.ReadAllowlist(orgDir, device)
	if err != nil {
		return h, err
	}
	if ok {
		h.local, h.base = local.Serial, local
	}
	topic := proto.AllowlistTopic(device)
	msgs, err := conn.Retained(ctx, topic, 300*time.Millisecond)
	if err != nil {
		return h, fmt.Errorf("read current list: %w", err)
	}
	if b, ok := msgs[topic]; ok {
		cur, err := proto.DecodeAllowlist(b)
		if err == nil && !ed25519.Verify(org.Public(), cur.SigningBytes(), cur.Sig) {
			err = errors.New("not signed by this organisation")
		}
		h.retained = cur.Serial
		switch {
		case err != nil:
			// Start over above it, so the device takes the new one.
			fmt.Fprintf(e.stderr, "hearthctl: replacing the allowlist the broker holds for %s: %v\n", device, err)
		case cur.Serial > h.local:
			h.base = cur // signed by us elsewhere, newer than the record
		}
	}
	hb := proto.HeartbeatTopic(device)
	msgs, err = conn.Retained(ctx, hb, 300*time.Millisecond)
	if err != nil {
		return h, fmt.Errorf("read heartbeat: %w", err)
	}
	if b, ok := msgs[hb]; ok {
		var beat struct {
			AllowlistSerial uint64 `json:"allowlist_serial"`
		}
		if json.Unmarshal(b, &beat) == nil {
			h.reported = beat.AllowlistSerial
		}
	}
	return h, nil
}

// allowPublish publishes the recorded allowlists (one device's, or all):
// as recorded when its serial is above what the broker and the device
// hold, else signed again above them (and recorded). A list the broker
// already holds is left alone.
func (e *env) allowPublish(ctx context.Context, orgDir, device string) error {
	org, err := provisioning.LoadOrg(orgDir)
	if err != nil {
		return fmt.Errorf("allow --publish: %w", err)
	}
	lists, err := provisioning.ReadAllowlists(orgDir)
	if err != nil {
		return fmt.Errorf("allow --publish: %w", err)
	}
	if device != "" {
		a, ok := lists[device]
		if !ok {
			return fmt.Errorf("allow --publish: no allowlist recorded for %s in %s", device, filepath.Join(orgDir, provisioning.AllowlistsDir))
		}
		lists = map[string]proto.Allowlist{device: a}
	}
	if len(lists) == 0 {
		fmt.Fprintln(e.stdout, "no allowlists recorded")
		return nil
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	return e.publishRecorded(ctx, conn, org, orgDir, lists)
}

// publishRecorded publishes each list in lists (device -> recorded list).
func (e *env) publishRecorded(ctx context.Context, conn *hsync.Conn, org provisioning.Org, orgDir string, lists map[string]proto.Allowlist) error {
	for _, dev := range slices.Sorted(maps.Keys(lists)) {
		a := lists[dev]
		h, err := e.heldAllowlist(ctx, conn, org, orgDir, dev)
		if err != nil {
			return fmt.Errorf("allow --publish %s: %w", dev, err)
		}
		if h.retained == a.Serial && h.reported <= a.Serial && h.base.Serial == a.Serial && slices.Equal(h.base.Sig, a.Sig) {
			fmt.Fprintf(e.stdout, "%s: allowlist %d is already on the broker\n", dev, a.Serial)
			continue
		}
		if h.retained >= a.Serial || h.reported >= a.Serial {
			a = org.Resign(a, h.floor()+1, e.now())
			if err := provisioning.WriteAllowlist(orgDir, dev, a); err != nil {
				return fmt.Errorf("allow --publish %s: %w", dev, err)
			}
		}
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("allow --publish %s: %w", dev, err)
		}
		if err := conn.Publish(ctx, proto.AllowlistTopic(dev), b, true); err != nil {
			return fmt.Errorf("allow --publish %s: %w", dev, err)
		}
		fmt.Fprintf(e.stdout, "%s: published allowlist %d (%d callers)%s\n", dev, a.Serial, len(a.Callers), h.why())
	}
	return nil
}

// modesText is the rights as --may takes them ("none" for none).
func modesText(modes []proto.CallMode) string {
	if len(modes) == 0 {
		return "nothing (removed)"
	}
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

// parseModes reads --may: a comma list of rights (forced, signalled, send,
// book, admin), "both" (forced,signalled, as before the other rights
// existed) or "none".
func parseModes(s string) ([]proto.CallMode, error) {
	switch s {
	case "none":
		return nil, nil
	case "both":
		return []proto.CallMode{proto.ModeForced, proto.ModeSignalled}, nil
	case "":
		return nil, fmt.Errorf("say forced, signalled, send, book, admin (a comma list), both or none")
	}
	var out []proto.CallMode
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m == "both" {
			out = append(out, proto.ModeForced, proto.ModeSignalled)
			continue
		}
		cm := proto.CallMode(m)
		if !proto.KnownMode(cm) {
			return nil, fmt.Errorf("%q is not forced, signalled, send, book, admin, both or none", m)
		}
		out = append(out, cm)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
