package proto

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AdminTopic is where the organisation sends a device signed admin
// commands: QoS 1, not retained (a command is for now, and a retained one
// would come back after a factory reset).
func AdminTopic(device string) string { return Root + "/" + device + "/admin" }

// AdminCmd is what an admin command asks of a device.
type AdminCmd string

// The admin commands.
const (
	// AdminReboot restarts the device.
	AdminReboot AdminCmd = "reboot"
	// AdminFactoryReset wipes the device's data and provisioning: it comes
	// back unprovisioned.
	AdminFactoryReset AdminCmd = "factory_reset"
	// AdminSetNight sets the night hours: Arg "HH:MM-HH:MM" or "off".
	AdminSetNight AdminCmd = "set_night"
	// AdminSetVolume sets the speaker's volume: Arg "0" to "100".
	AdminSetVolume AdminCmd = "set_volume"
	// AdminSetDND turns do-not-disturb on until a time (Arg RFC 3339 in
	// UTC, after Issued and at most MaxDND after it) or "off". While it is
	// on, only forced calls are answered.
	AdminSetDND AdminCmd = "set_dnd"
)

// MaxDND bounds how far ahead do-not-disturb may be set: a forgotten one
// must not keep the family away for long.
const MaxDND = 7 * 24 * time.Hour

// MaxAdminLife bounds how far Expires may lie after Issued, so a device
// needs to remember a used command id only that long.
const MaxAdminLife = 10 * time.Minute

// AdminCommand is one command from the device's organisation, signed with
// its Ed25519 key (Sig, over SigningBytes): the same key that signs the
// allowlist, which the device holds as org.pub.
type AdminCommand struct {
	V       int       `json:"v"`
	ID      string    `json:"id"`
	Device  string    `json:"device"`
	Cmd     AdminCmd  `json:"cmd"`
	Arg     string    `json:"arg,omitempty"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Sig     []byte    `json:"sig"`
}

// SigningBytes is what the organisation signs: one field a line, as for
// invites, with the times in UTC as RFC3339Nano writes them.
func (a AdminCommand) SigningBytes() []byte {
	return []byte(strings.Join([]string{
		"hearth-admin-v1",
		a.ID, a.Device, string(a.Cmd), a.Arg,
		a.Issued.UTC().Format(time.RFC3339Nano), a.Expires.UTC().Format(time.RFC3339Nano),
	}, "\n"))
}

var nightRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`)

// CheckArg checks the command and its argument, as the device will.
// Senders call it before signing.
func (a AdminCommand) CheckArg() error {
	switch a.Cmd {
	case AdminReboot, AdminFactoryReset:
		if a.Arg != "" {
			return fmt.Errorf("%w: %s takes no argument", ErrInvalid, a.Cmd)
		}
	case AdminSetNight:
		if a.Arg == "off" {
			return nil
		}
		if !nightRE.MatchString(a.Arg) {
			return fmt.Errorf("%w: night hours %q (want HH:MM-HH:MM or off)", ErrInvalid, a.Arg)
		}
		from, to, _ := strings.Cut(a.Arg, "-")
		if from == to || (from == "00:00" && to == "24:00") {
			return fmt.Errorf("%w: night hours %q start where they end (use off for none)", ErrInvalid, a.Arg)
		}
	case AdminSetVolume:
		n, err := strconv.Atoi(a.Arg)
		if err != nil || n < 0 || n > 100 || strconv.Itoa(n) != a.Arg {
			return fmt.Errorf("%w: volume %q (want 0 to 100)", ErrInvalid, a.Arg)
		}
	case AdminSetDND:
		if a.Arg == "off" {
			return nil
		}
		// One spelling only (UTC, whole seconds), so what is signed and
		// shown is what the device keeps.
		until, err := time.Parse(time.RFC3339, a.Arg)
		if err != nil || until.UTC().Format(time.RFC3339) != a.Arg {
			return fmt.Errorf("%w: do-not-disturb end %q (want off or a UTC time like 2026-11-23T14:30:00Z)", ErrInvalid, a.Arg)
		}
		if !until.After(a.Issued) || until.Sub(a.Issued) > MaxDND {
			return fmt.Errorf("%w: do-not-disturb until %s: must be after the command is issued (%s) and at most 7 days later",
				ErrInvalid, a.Arg, a.Issued.UTC().Format(time.RFC3339))
		}
	default:
		return fmt.Errorf("%w: command %q", ErrInvalid, a.Cmd)
	}
	return nil
}

// DNDUntil is the end of a set_dnd command that passed CheckArg; zero for
// "off".
func (a AdminCommand) DNDUntil() time.Time {
	t, err := time.Parse(time.RFC3339, a.Arg)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Volume is the argument of a set_volume command that passed CheckArg.
func (a AdminCommand) Volume() int {
	n, _ := strconv.Atoi(a.Arg)
	return n
}

// DecodeAdmin parses and checks the form of an admin command for device;
// the signature, its time and whether its id was used before are the
// device's to check (device/admin).
func DecodeAdmin(device string, payload []byte) (AdminCommand, error) {
	var a AdminCommand
	if err := decodeStrict("decode admin command", payload, &a); err != nil {
		return AdminCommand{}, err
	}
	switch {
	case a.Device != device:
		return AdminCommand{}, fmt.Errorf("decode admin command: for %q: %w", a.Device, ErrWrongDevice)
	case !ValidID(a.ID):
		return AdminCommand{}, fmt.Errorf("decode admin command: %w: id %q", ErrInvalid, a.ID)
	case a.Issued.IsZero() || !a.Expires.After(a.Issued):
		return AdminCommand{}, fmt.Errorf("decode admin command: %w: expires must be after issued", ErrInvalid)
	case a.Expires.Sub(a.Issued) > MaxAdminLife:
		return AdminCommand{}, fmt.Errorf("decode admin command: %w: lives %s (limit %s)", ErrInvalid, a.Expires.Sub(a.Issued), MaxAdminLife)
	case len(a.Sig) == 0:
		return AdminCommand{}, fmt.Errorf("decode admin command: %w: not signed", ErrInvalid)
	}
	if err := a.CheckArg(); err != nil {
		return AdminCommand{}, fmt.Errorf("decode admin command %s: %w", a.ID, err)
	}
	return a, nil
}
