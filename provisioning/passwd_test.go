package provisioning

import (
	"strings"
	"testing"
)

// TestPasswordHashMatchesMosquittoPasswd: a hash made by Debian 12's
// mosquitto_passwd checks with CheckPassword, and ours has its form.
func TestPasswordHashMatchesMosquittoPasswd(t *testing.T) {
	// Written by mosquitto_passwd 2.0.11 -b for anna / secret.
	const debian = "$7$101$tPa7thY8W/6VGnun$MOIBILWygL0r+4oJT3Us2vRyEhIx/TUN24+N3jFInw6szQAHmP2IxgPBAxPWANDBeZcEz/lVj+ACTP667fu6xw=="
	for pw, want := range map[string]bool{"secret": true, "Secret": false, "": false} {
		if ok, err := CheckPassword(debian, pw); err != nil || ok != want {
			t.Errorf("CheckPassword(debian, %q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h, err := HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckPassword(h, "secret"); !ok || err != nil {
		t.Fatalf("CheckPassword(own hash) = %v, %v", ok, err)
	}
	if parts := strings.Split(h, "$"); len(parts) != 5 || parts[1] != "7" || parts[2] != "101" || len(parts[3]) != 16 || len(parts[4]) != 88 {
		t.Fatalf("hash %q is not in mosquitto_passwd's form", h)
	}
}

// TestCheckPasswordRefusesOtherForms: what is not Mosquitto's $7$ is an
// error, not a mismatch.
func TestCheckPasswordRefusesOtherForms(t *testing.T) {
	for _, h := range []string{"", "secret", "$6$salt$hash", "$7$0$tPa7thY8W/6VGnun$" + strings.Repeat("A", 88),
		"$7$101$!!$" + strings.Repeat("A", 88), "$7$101$tPa7thY8W/6VGnun$AAAA", "$7$101$tPa7thY8W/6VGnun$x$y"} {
		if ok, err := CheckPassword(h, "secret"); err == nil || ok {
			t.Errorf("CheckPassword(%q) = %v, %v; want an error", h, ok, err)
		}
	}
}
