// Package admin carries out the organisation's signed admin commands on a
// device: reboot, factory reset, night hours, volume and do-not-disturb. A command is
// obeyed only when the organisation's key signed it, it is inside its
// lifetime, it names this device and its id was never used before; every
// refusal is logged and reported upward with its reason (PRODUCT.md:
// "unsigned or stale ones refused and logged").
package admin

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/signed"
	"github.com/hearth-home/hearth/sync/proto"
)

// The reasons a command is refused, besides proto's decoding errors.
var (
	// ErrBadSignature: not signed with the organisation's key. The same
	// error as signed.ErrBadSignature.
	ErrBadSignature = signed.ErrBadSignature
	// ErrExpired: outside its lifetime (or issued too far in the future).
	// The same error as signed.ErrExpired.
	ErrExpired = signed.ErrExpired
	// ErrReplayed: this command id was used before.
	ErrReplayed = errors.New("replayed command id")
	// ErrNoOrgKey: the device has no organisation key (not provisioned).
	ErrNoOrgKey = errors.New("no organisation key")
)

// Activity types reported for every command.
const (
	ActivityApplied = "admin_applied"
	ActivityRefused = "admin_refused"
)

// Checker decides whether a command may be obeyed: the checks of package
// signed, with the organisation's key. Safe for concurrent use.
type Checker struct {
	OrgKey ed25519.PublicKey
	Clock  clock.Clock
	// Spent, when set, records used ids on disk so that a restart (a
	// reboot command!) does not forget them; it reports whether id was
	// fresh. An error refuses the command. Set it before the first Check.
	Spent func(id string, until, now time.Time) (fresh bool, err error)

	once  sync.Once
	spent signed.Spent
}

// Check verifies a decoded command. On success its id is spent.
func (c *Checker) Check(cmd proto.AdminCommand) error {
	refuse := func(err error) error { return fmt.Errorf("admin command %s (%s): %w", cmd.ID, cmd.Cmd, err) }
	if len(c.OrgKey) != ed25519.PublicKeySize {
		return refuse(ErrNoOrgKey)
	}
	if err := signed.Verify(c.OrgKey, cmd.SigningBytes(), cmd.Sig); err != nil {
		return refuse(err)
	}
	now := c.Clock.Now()
	if err := signed.Lifetime(now, cmd.Issued, cmd.Expires); err != nil {
		return refuse(err)
	}
	c.once.Do(func() { c.spent.Replayed, c.spent.Durable = ErrReplayed, c.Spent })
	if err := c.spent.Spend(cmd.ID, cmd.Expires, now); err != nil {
		return refuse(err)
	}
	return nil
}

// Reason is the short reason reported upward for a refusal.
func Reason(err error) string {
	for _, r := range []error{ErrBadSignature, ErrExpired, ErrReplayed, ErrNoOrgKey,
		proto.ErrWrongDevice, proto.ErrVersion, proto.ErrTooLarge, proto.ErrMalformed, proto.ErrInvalid} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "refused"
}

// Actions is what a device can be told to do.
type Actions interface {
	Reboot(ctx context.Context) error
	// FactoryReset wipes the data (store and provisioning) and ends the
	// process so that it starts again unprovisioned.
	FactoryReset(ctx context.Context) error
	// SetNight persists night hours ("HH:MM-HH:MM" or "off") and applies them.
	SetNight(hours string) error
	// SetVolume persists the speaker's volume (0-100) and applies it.
	SetVolume(percent int) error
	// SetDND persists do-not-disturb until a time (zero: off) and applies
	// it. An end already past turns it off.
	SetDND(until time.Time) error
}

// Handler takes the payloads of the device's admin topic.
type Handler struct {
	Device  string
	Checker *Checker
	Actions Actions
	Log     *slog.Logger
	// Activity reports each command upward (typ: ActivityApplied or
	// ActivityRefused; reason: what was done, or why not). Optional.
	Activity func(typ, reason string)
}

// Handle decodes, checks and carries out one payload from the admin topic.
// It returns the refusal or the action's error, already logged and
// reported; the link acknowledges the message either way (sending it again
// would not help).
func (h *Handler) Handle(ctx context.Context, payload []byte) error {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(payload) == 0 {
		return nil // a cleared retained message: nothing was sent
	}
	cmd, err := proto.DecodeAdmin(h.Device, payload)
	if err == nil {
		err = h.Checker.Check(cmd)
	}
	log = log.With("admin_id", cmd.ID, "cmd", string(cmd.Cmd), "arg", cmd.Arg)
	if err != nil {
		log.Warn("admin command refused", "reason", Reason(err), "err", err)
		h.report(ActivityRefused, Reason(err))
		return err
	}
	desc := string(cmd.Cmd)
	if cmd.Arg != "" {
		desc += " " + cmd.Arg
	}
	// Reported before acting: a reboot or a reset does not come back to say so.
	if cmd.Cmd == proto.AdminReboot || cmd.Cmd == proto.AdminFactoryReset {
		log.Info("admin command applied")
		h.report(ActivityApplied, desc)
	}
	switch cmd.Cmd {
	case proto.AdminReboot:
		err = h.Actions.Reboot(ctx)
	case proto.AdminFactoryReset:
		err = h.Actions.FactoryReset(ctx)
	case proto.AdminSetNight:
		err = h.Actions.SetNight(cmd.Arg)
	case proto.AdminSetVolume:
		err = h.Actions.SetVolume(cmd.Volume())
	case proto.AdminSetDND:
		err = h.Actions.SetDND(cmd.DNDUntil())
	}
	if err != nil {
		log.Error("admin command failed", "err", err)
		h.report(ActivityRefused, "failed: "+err.Error())
		return fmt.Errorf("admin command %s (%s): %w", cmd.ID, cmd.Cmd, err)
	}
	if cmd.Cmd != proto.AdminReboot && cmd.Cmd != proto.AdminFactoryReset {
		log.Info("admin command applied")
		h.report(ActivityApplied, desc)
	}
	return nil
}

func (h *Handler) report(typ, reason string) {
	if h.Activity != nil {
		h.Activity(typ, reason)
	}
}
