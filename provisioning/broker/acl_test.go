package broker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	"github.com/hearth-home/hearth/sync/proto"
)

// TestPeopleACL: one block per person, only their screens, by right; a
// fleet admin's block; revoked people and people with no rights left out;
// the password file only for people with a password who are not revoked.
func TestPeopleACL(t *testing.T) {
	k := make([]byte, 32)
	reg := provisioning.Registry{V: 1, People: []provisioning.Person{
		{ID: "eva", Key: k, Admin: true, Password: "$7$101$a$b"},
		{ID: "anna", Key: k, Password: "$7$101$c$d"},
		{ID: "carl", Key: k, Password: "$7$101$e$f", Revoked: time.Now()},
	}}
	lists := map[string]proto.Allowlist{
		"mum": {Callers: []proto.AllowedCaller{
			{ID: "anna", Mode: []proto.CallMode{proto.ModeForced, proto.RightSend}},
			{ID: "carl", Mode: []proto.CallMode{proto.RightAdmin}},
			{ID: "gone", Mode: nil},
		}},
		"dad": {Callers: []proto.AllowedCaller{{ID: "anna", Mode: []proto.CallMode{proto.ModeSignalled}}}},
	}
	got := string(broker.PeopleACL(reg, lists))
	want := `
user anna
topic read hearth/v1/dev/dad/availability
topic read hearth/v1/dev/dad/state
topic read hearth/v1/dev/dad/heartbeat
topic read hearth/v1/dev/dad/allowlist
topic read hearth/v1/dev/dad/call/out/anna
topic write hearth/v1/dev/dad/call/in
topic read hearth/v1/dev/mum/availability
topic read hearth/v1/dev/mum/state
topic read hearth/v1/dev/mum/heartbeat
topic read hearth/v1/dev/mum/allowlist
topic read hearth/v1/dev/mum/call/out/anna
topic write hearth/v1/dev/mum/call/in
topic write hearth/v1/dev/mum/booking
topic readwrite hearth/v1/dev/mum/content/+
topic read hearth/v1/dev/mum/inventory
topic read hearth/v1/dev/mum/activity/+

user eva
topic read hearth/v1/dev/#
topic readwrite hearth/v1/dev/+/content/+
topic readwrite hearth/v1/dev/+/allowlist
topic write hearth/v1/dev/+/admin
`
	if body := got[strings.Index(got, "\nuser "):]; body != want {
		t.Errorf("PeopleACL =\n%s\nwant\n%s", body, want)
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "pattern") {
			t.Errorf("people.acl has a pattern, which applies to everyone: %q", line)
		}
	}
	if pw := string(broker.PeoplePasswd(reg)); pw != "eva:$7$101$a$b\nanna:$7$101$c$d\n" {
		t.Errorf("PeoplePasswd = %q", pw)
	}
}
