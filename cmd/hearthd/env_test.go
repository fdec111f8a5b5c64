package main

import "testing"

func TestFyneSees(t *testing.T) {
	for _, tc := range []struct {
		k, v string
		want bool
	}{
		{"LANG", "", false}, {"LANG", "C", false}, {"LANG", "C.UTF-8", false}, {"LANG", "POSIX", false},
		{"LANG", "sv_SE.UTF-8", true}, {"FYNE_CACHE", "", false}, {"FYNE_CACHE", "1m", true},
	} {
		if got := fyneSees(tc.k, tc.v); got != tc.want {
			t.Errorf("fyneSees(%s, %q) = %v, want %v", tc.k, tc.v, got, tc.want)
		}
	}
	// After the values fyneEnv sets, nothing is left to do: no exec loop.
	for k, v := range fyneEnv {
		if !fyneSees(k, v) {
			t.Errorf("fyneSees(%s, %q) = false: hearthd would execute itself forever", k, v)
		}
	}
}
