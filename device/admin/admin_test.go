package admin

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fakeActions records what the handler asked for.
type fakeActions struct {
	did []string
	err error
}

func (f *fakeActions) Reboot(context.Context) error {
	f.did = append(f.did, "reboot")
	return f.err
}

func (f *fakeActions) FactoryReset(context.Context) error {
	f.did = append(f.did, "factory_reset")
	return f.err
}

func (f *fakeActions) SetNight(h string) error {
	f.did = append(f.did, "night "+h)
	return f.err
}

func (f *fakeActions) SetVolume(v int) error {
	f.did = append(f.did, fmt.Sprintf("volume %d", v))
	return f.err
}

func (f *fakeActions) SetDND(until time.Time) error {
	if until.IsZero() {
		f.did = append(f.did, "dnd off")
	} else {
		f.did = append(f.did, "dnd until "+until.UTC().Format(time.RFC3339))
	}
	return f.err
}

type rig struct {
	key     ed25519.PrivateKey
	clk     *clock.Fake
	acts    *fakeActions
	h       *Handler
	reports []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{key: key, clk: clock.NewFake(t0), acts: &fakeActions{}}
	r.h = &Handler{Device: "mum-kitchen", Checker: &Checker{OrgKey: pub, Clock: r.clk}, Actions: r.acts,
		Activity: func(typ, reason string) { r.reports = append(r.reports, typ+": "+reason) }}
	return r
}

func (r *rig) cmd(id string, c proto.AdminCmd, arg string) proto.AdminCommand {
	a := proto.AdminCommand{V: 1, ID: id, Device: "mum-kitchen", Cmd: c, Arg: arg, Issued: t0, Expires: t0.Add(5 * time.Minute)}
	a.Sig = ed25519.Sign(r.key, a.SigningBytes())
	return a
}

func payload(t *testing.T, a proto.AdminCommand) []byte {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleEachCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd  proto.AdminCmd
		arg  string
		want string
	}{
		{proto.AdminReboot, "", "reboot"},
		{proto.AdminFactoryReset, "", "factory_reset"},
		{proto.AdminSetNight, "22:00-07:00", "night 22:00-07:00"},
		{proto.AdminSetNight, "off", "night off"},
		{proto.AdminSetVolume, "35", "volume 35"},
		{proto.AdminSetDND, "2026-11-23T11:30:00Z", "dnd until 2026-11-23T11:30:00Z"},
		{proto.AdminSetDND, "off", "dnd off"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			r := newRig(t)
			if err := r.h.Handle(context.Background(), payload(t, r.cmd("a-1", tc.cmd, tc.arg))); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if len(r.acts.did) != 1 || r.acts.did[0] != tc.want {
				t.Fatalf("actions = %q, want [%q]", r.acts.did, tc.want)
			}
			if len(r.reports) != 1 || !strings.HasPrefix(r.reports[0], ActivityApplied+": "+string(tc.cmd)) {
				t.Fatalf("reports = %q, want one %s", r.reports, ActivityApplied)
			}
		})
	}
}

func TestHandleRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(r *rig) []byte
		want   error
		reason string
	}{
		{"unsigned", func(r *rig) []byte {
			a := r.cmd("a-1", proto.AdminReboot, "")
			a.Sig = nil
			return payload(t, a)
		}, proto.ErrInvalid, "invalid"},
		{"signed by another key", func(r *rig) []byte {
			_, other, _ := ed25519.GenerateKey(nil)
			a := r.cmd("a-1", proto.AdminReboot, "")
			a.Sig = ed25519.Sign(other, a.SigningBytes())
			return payload(t, a)
		}, ErrBadSignature, "bad signature"},
		{"changed after signing", func(r *rig) []byte {
			a := r.cmd("a-1", proto.AdminSetVolume, "10")
			a.Arg = "100"
			return payload(t, a)
		}, ErrBadSignature, "bad signature"},
		{"expired", func(r *rig) []byte {
			r.clk.Advance(5 * time.Minute)
			return payload(t, r.cmd("a-1", proto.AdminReboot, ""))
		}, ErrExpired, "expired"},
		{"from the future", func(r *rig) []byte {
			a := r.cmd("a-1", proto.AdminReboot, "")
			a.Issued, a.Expires = t0.Add(time.Minute), t0.Add(2*time.Minute)
			a.Sig = ed25519.Sign(r.key, a.SigningBytes())
			return payload(t, a)
		}, ErrExpired, "expired"},
		{"wrong device", func(r *rig) []byte {
			a := r.cmd("a-1", proto.AdminReboot, "")
			a.Device = "dad-hall"
			a.Sig = ed25519.Sign(r.key, a.SigningBytes())
			return payload(t, a)
		}, proto.ErrWrongDevice, "wrong device"},
		{"bad argument", func(r *rig) []byte {
			return payload(t, r.cmd("a-1", proto.AdminSetVolume, "loud"))
		}, proto.ErrInvalid, "invalid"},
		{"not JSON", func(r *rig) []byte { return []byte("reboot") }, proto.ErrMalformed, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			err := r.h.Handle(context.Background(), tc.mutate(r))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Handle = %v, want %v", err, tc.want)
			}
			if len(r.acts.did) != 0 {
				t.Fatalf("actions = %q, want none", r.acts.did)
			}
			if want := ActivityRefused + ": " + tc.reason; len(r.reports) != 1 || r.reports[0] != want {
				t.Fatalf("reports = %q, want [%q]", r.reports, want)
			}
		})
	}
}

func TestHandleReplayed(t *testing.T) {
	r := newRig(t)
	p := payload(t, r.cmd("a-1", proto.AdminSetVolume, "20"))
	if err := r.h.Handle(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	if err := r.h.Handle(context.Background(), p); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Handle = %v, want %v", err, ErrReplayed)
	}
	if len(r.acts.did) != 1 {
		t.Fatalf("actions = %q, want one", r.acts.did)
	}
	if r.reports[1] != ActivityRefused+": replayed command id" {
		t.Fatalf("reports = %q", r.reports)
	}
}

// TestSpentSurvivesRestart: a new Checker (after a reboot) asks Spent, which
// remembers on disk.
func TestSpentSurvivesRestart(t *testing.T) {
	r := newRig(t)
	disk := map[string]time.Time{}
	spent := func(id string, until, now time.Time) (bool, error) {
		if _, ok := disk[id]; ok {
			return false, nil
		}
		disk[id] = until
		return true, nil
	}
	r.h.Checker.Spent = spent
	p := payload(t, r.cmd("a-1", proto.AdminReboot, ""))
	if err := r.h.Handle(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r.h.Checker = &Checker{OrgKey: r.h.Checker.OrgKey, Clock: r.clk, Spent: spent}
	if err := r.h.Handle(context.Background(), p); !errors.Is(err, ErrReplayed) {
		t.Fatalf("Handle after restart = %v, want %v", err, ErrReplayed)
	}
	r.h.Checker = &Checker{OrgKey: r.h.Checker.OrgKey, Clock: r.clk,
		Spent: func(string, time.Time, time.Time) (bool, error) { return false, errors.New("disk full") }}
	if err := r.h.Handle(context.Background(), payload(t, r.cmd("a-2", proto.AdminReboot, ""))); err == nil {
		t.Fatal("Handle with a failing Spent = nil, want a refusal")
	}
	if len(r.acts.did) != 1 {
		t.Fatalf("actions = %q, want one reboot", r.acts.did)
	}
}

func TestHandleActionFails(t *testing.T) {
	r := newRig(t)
	r.acts.err = errors.New("no speaker")
	if err := r.h.Handle(context.Background(), payload(t, r.cmd("a-1", proto.AdminSetVolume, "50"))); err == nil {
		t.Fatal("Handle = nil, want the action's error")
	}
	if len(r.reports) != 1 || r.reports[0] != ActivityRefused+": failed: no speaker" {
		t.Fatalf("reports = %q", r.reports)
	}
}

func TestNoOrgKey(t *testing.T) {
	r := newRig(t)
	r.h.Checker.OrgKey = nil
	if err := r.h.Handle(context.Background(), payload(t, r.cmd("a-1", proto.AdminReboot, ""))); !errors.Is(err, ErrNoOrgKey) {
		t.Fatalf("Handle = %v, want %v", err, ErrNoOrgKey)
	}
}
