package proto

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func validAdmin() AdminCommand {
	return AdminCommand{V: 1, ID: "a-1", Device: "mum-kitchen", Cmd: AdminSetVolume, Arg: "40",
		Issued: t0, Expires: t0.Add(5 * time.Minute), Sig: []byte{1}}
}

// utc writes t as a set_dnd argument.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestDecodeAdmin(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	if _, err := DecodeAdmin("mum-kitchen", encode(t, validAdmin())); err != nil {
		t.Fatalf("DecodeAdmin(valid) = %v", err)
	}
	for name, tc := range map[string]struct {
		f    func(*AdminCommand)
		want error
	}{
		"version":         {func(a *AdminCommand) { a.V = 2 }, ErrVersion},
		"device":          {func(a *AdminCommand) { a.Device = "dad-hall" }, ErrWrongDevice},
		"id":              {func(a *AdminCommand) { a.ID = "a/1" }, ErrInvalid},
		"unsigned":        {func(a *AdminCommand) { a.Sig = nil }, ErrInvalid},
		"no issued":       {func(a *AdminCommand) { a.Issued = time.Time{} }, ErrInvalid},
		"expires first":   {func(a *AdminCommand) { a.Expires = a.Issued }, ErrInvalid},
		"lives too long":  {func(a *AdminCommand) { a.Expires = a.Issued.Add(11 * time.Minute) }, ErrInvalid},
		"unknown command": {func(a *AdminCommand) { a.Cmd = "format_disk" }, ErrInvalid},
		"volume too high": {func(a *AdminCommand) { a.Arg = "101" }, ErrInvalid},
		"volume negative": {func(a *AdminCommand) { a.Arg = "-1" }, ErrInvalid},
		"volume padded":   {func(a *AdminCommand) { a.Arg = "040" }, ErrInvalid},
		"volume missing":  {func(a *AdminCommand) { a.Arg = "" }, ErrInvalid},
		"reboot with arg": {func(a *AdminCommand) { a.Cmd, a.Arg = AdminReboot, "now" }, ErrInvalid},
		"night malformed": {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "22-07" }, ErrInvalid},
		"night same":      {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "07:00-07:00" }, ErrInvalid},
		"night whole day": {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "00:00-24:00" }, ErrInvalid},
		"night hour 24":   {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "24:00-07:00" }, ErrInvalid},
		"night spaces":    {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "22:00 - 07:00" }, ErrInvalid},
		"night empty":     {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetNight, "" }, ErrInvalid},
		"dnd empty":       {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, "" }, ErrInvalid},
		"dnd duration":    {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, "2h" }, ErrInvalid},
		"dnd not utc":     {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, t0.Add(time.Hour).In(cet).Format(time.RFC3339) }, ErrInvalid},
		"dnd fraction": {func(a *AdminCommand) {
			a.Cmd, a.Arg = AdminSetDND, t0.Add(1500*time.Millisecond).Format(time.RFC3339Nano)
		}, ErrInvalid},
		"dnd no zone":     {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, t0.Add(time.Hour).Format("2006-01-02T15:04:05") }, ErrInvalid},
		"dnd at issued":   {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, utc(t0) }, ErrInvalid},
		"dnd in the past": {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, utc(t0.Add(-time.Hour)) }, ErrInvalid},
		"dnd past 7 days": {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, utc(t0.Add(MaxDND+time.Second)) }, ErrInvalid},
		"dnd on":          {func(a *AdminCommand) { a.Cmd, a.Arg = AdminSetDND, "on" }, ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			a := validAdmin()
			tc.f(&a)
			if _, err := DecodeAdmin("mum-kitchen", encode(t, a)); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeAdmin = %v, want %v", err, tc.want)
			}
		})
	}
	for _, arg := range []string{"off", "22:00-07:00", "21:30-24:00", "00:00-06:00"} {
		a := validAdmin()
		a.Cmd, a.Arg = AdminSetNight, arg
		if _, err := DecodeAdmin("mum-kitchen", encode(t, a)); err != nil {
			t.Errorf("DecodeAdmin(set_night %q) = %v, want ok", arg, err)
		}
	}
	for _, arg := range []string{"off", utc(t0.Add(time.Second)), utc(t0.Add(150 * time.Minute)), utc(t0.Add(MaxDND))} {
		a := validAdmin()
		a.Cmd, a.Arg = AdminSetDND, arg
		got, err := DecodeAdmin("mum-kitchen", encode(t, a))
		if err != nil {
			t.Errorf("DecodeAdmin(set_dnd %q) = %v, want ok", arg, err)
			continue
		}
		want := time.Time{}
		if arg != "off" {
			want, _ = time.Parse(time.RFC3339, arg)
		}
		if !got.DNDUntil().Equal(want) {
			t.Errorf("set_dnd %q: DNDUntil() = %v, want %v", arg, got.DNDUntil(), want)
		}
	}
	if _, err := DecodeAdmin("mum-kitchen", []byte(`{"v":1,"id":"a","extra":1}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeAdmin(unknown field) = %v, want %v", err, ErrMalformed)
	}
}

func TestAdminSigningBytes(t *testing.T) {
	a := validAdmin()
	a.Issued = a.Issued.In(time.FixedZone("CET", 3600))
	want := "hearth-admin-v1\na-1\nmum-kitchen\nset_volume\n40\n" +
		t0.UTC().Format(time.RFC3339Nano) + "\n" + t0.Add(5*time.Minute).UTC().Format(time.RFC3339Nano)
	if got := string(a.SigningBytes()); got != want {
		t.Fatalf("SigningBytes = %q, want %q", got, want)
	}
}

func FuzzDecodeAdmin(f *testing.F) {
	b, _ := json.Marshal(validAdmin())
	f.Add(b)
	f.Add([]byte(`{"v":1,"id":"a","device":"mum-kitchen","cmd":"set_night","arg":"22:00-07:00","issued":"2026-11-23T09:00:00Z","expires":"2026-11-23T09:05:00Z","sig":"AQ=="}`))
	f.Add([]byte(`{"v":1,"id":"a","device":"mum-kitchen","cmd":"reboot","issued":"2026-11-23T09:00:00Z","expires":"2026-11-23T09:05:00Z","sig":"AQ=="}`))
	f.Add([]byte(`{"v":1,"id":"a","device":"mum-kitchen","cmd":"set_dnd","arg":"2026-11-23T14:30:00Z","issued":"2026-11-23T09:00:00Z","expires":"2026-11-23T09:05:00Z","sig":"AQ=="}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := DecodeAdmin("mum-kitchen", payload)
		if err != nil {
			return
		}
		if a.Device != "mum-kitchen" || !ValidID(a.ID) || !a.Expires.After(a.Issued) ||
			a.Expires.Sub(a.Issued) > MaxAdminLife || len(a.Sig) == 0 || a.CheckArg() != nil {
			t.Fatalf("accepted %+v", a)
		}
		if u := a.DNDUntil(); a.Cmd == AdminSetDND && a.Arg != "off" && (!u.After(a.Issued) || u.Sub(a.Issued) > MaxDND) {
			t.Fatalf("accepted do-not-disturb until %v for %+v", u, a)
		}
	})
}
