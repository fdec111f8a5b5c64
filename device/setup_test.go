package device

import (
	"regexp"
	"testing"
)

func TestSetupCode(t *testing.T) {
	shape := regexp.MustCompile(`^HRTH-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]string{}
	for _, serial := range []string{"10000000abcdef01", "10000000abcdef02", "00000000deadbeef", "x", "serial with spaces"} {
		code := SetupCode(serial)
		if !shape.MatchString(code) {
			t.Errorf("SetupCode(%q) = %q, want HRTH-XXXX-XXXX in Crockford base32", serial, code)
		}
		if other, dup := seen[code]; dup {
			t.Errorf("SetupCode(%q) = SetupCode(%q) = %q", serial, other, code)
		}
		seen[code] = serial
	}
	// Pinned: a code printed on a label or in an installer's list must not
	// change with a new release.
	if got, want := SetupCode("10000000abcdef01"), pinned; got != want {
		t.Errorf("SetupCode(10000000abcdef01) = %q, want %q", got, want)
	}
	for _, same := range []string{"10000000ABCDEF01", " 10000000abcdef01\n", "10000000abcdef01\x00"} {
		if got := SetupCode(same); got != pinned {
			t.Errorf("SetupCode(%q) = %q, want %q", same, got, pinned)
		}
	}
	for _, blank := range []string{"", "  ", "\x00"} {
		if got := SetupCode(blank); got != "" {
			t.Errorf("SetupCode(%q) = %q, want \"\"", blank, got)
		}
	}
}

// pinned is SetupCode("10000000abcdef01"), checked with another implementation.
const pinned = "HRTH-G1VC-WBZV"
