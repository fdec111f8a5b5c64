package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// adminCmd: hearthctl admin DEVICE --org DIR reboot|factory-reset|night HH:MM-HH:MM|volume N
// builds a command, signs it with the organisation's key and publishes it
// (QoS 1, not retained) on the device's admin topic. The device reports
// admin_applied or admin_refused in its activity log (hearthctl activity).
func (e *env) adminCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("org", "", "the organisation's `folder` (provision ca init)")
	life := fs.Duration("valid", 5*time.Minute, "how long the device may take the command (at most 10m)")
	device, rest := "", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		device, rest = args[0], args[1:]
	}
	// Flags may come before or after the command.
	var words []string
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if device == "" && len(words) > 0 {
		device, words = words[0], words[1:]
	}
	if !proto.ValidID(device) {
		return fmt.Errorf("admin: %q is not a device id", device)
	}
	if *orgDir == "" {
		return fmt.Errorf("admin: --org is required")
	}
	if *life <= 0 || *life > proto.MaxAdminLife {
		return fmt.Errorf("admin: --valid %s: between 1s and %s", *life, proto.MaxAdminLife)
	}
	cmd, arg, err := adminWords(words)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	org, err := provisioning.LoadOrg(*orgDir)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	now := e.now().UTC().Truncate(time.Second)
	a := proto.AdminCommand{V: proto.Version, ID: "adm-" + hex.EncodeToString(rnd[:]), Device: device,
		Cmd: cmd, Arg: arg, Issued: now, Expires: now.Add(*life)}
	if err := a.CheckArg(); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	a.Sig = ed25519.Sign(org.Key, a.SigningBytes())
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Publish(ctx, proto.AdminTopic(device), b, false); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(e.stdout, "sent %s to %s (id %s, valid until %s); see hearthctl activity %s\n",
		adminDesc(a), device, a.ID, a.Expires.In(e.loc).Format("15:04:05"), device)
	return nil
}

// adminWords reads the command words: reboot, factory-reset, night HOURS,
// volume N.
func adminWords(w []string) (proto.AdminCmd, string, error) {
	usage := fmt.Errorf("want reboot, factory-reset, night HH:MM-HH:MM|off or volume 0-100, got %q", w)
	switch {
	case len(w) == 1 && w[0] == "reboot":
		return proto.AdminReboot, "", nil
	case len(w) == 1 && (w[0] == "factory-reset" || w[0] == "factory_reset"):
		return proto.AdminFactoryReset, "", nil
	case len(w) == 2 && w[0] == "night":
		return proto.AdminSetNight, w[1], nil
	case len(w) == 2 && w[0] == "volume":
		if n, err := strconv.Atoi(w[1]); err == nil {
			return proto.AdminSetVolume, strconv.Itoa(n), nil
		}
		return "", "", usage
	}
	return "", "", usage
}

func adminDesc(a proto.AdminCommand) string {
	if a.Arg == "" {
		return string(a.Cmd)
	}
	return string(a.Cmd) + " " + a.Arg
}
