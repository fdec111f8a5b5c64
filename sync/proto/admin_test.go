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

func TestDecodeAdmin(t *testing.T) {
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
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := DecodeAdmin("mum-kitchen", payload)
		if err != nil {
			return
		}
		if a.Device != "mum-kitchen" || !ValidID(a.ID) || !a.Expires.After(a.Issued) ||
			a.Expires.Sub(a.Issued) > MaxAdminLife || len(a.Sig) == 0 || a.CheckArg() != nil {
			t.Fatalf("accepted %+v", a)
		}
	})
}
