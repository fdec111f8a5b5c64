package fyneenv

import (
	"slices"
	"testing"
)

func TestSees(t *testing.T) {
	for _, tc := range []struct {
		k, v string
		want bool
	}{
		{"LANG", "", false}, {"LANG", "C", false}, {"LANG", "C.UTF-8", false}, {"LANG", "POSIX", false},
		{"LANG", "sv_SE.UTF-8", true}, {"FYNE_CACHE", "", false}, {"FYNE_CACHE", "1m", true},
	} {
		if got := Sees(tc.k, tc.v); got != tc.want {
			t.Errorf("Sees(%s, %q) = %v, want %v", tc.k, tc.v, got, tc.want)
		}
	}
}

func TestLocaleParses(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{[]string{"LANG=C"}, true},
		{[]string{"LANG=en_GB.UTF-8"}, true},
		{[]string{"LANG=C.UTF-8"}, false},
		{[]string{"LC_ALL=C.UTF-8", "LANG=en_GB.UTF-8"}, false},
		{[]string{"LC_MESSAGES=POSIX.UTF-8", "LANG=en_GB.UTF-8"}, false},
		{[]string{"LC_ALL=C.UTF-8", "LANG=en_GB.UTF-8", "LANGUAGE=en_GB"}, true},
		{[]string{"LC_ALL=C", "LANGUAGE=C.UTF-8"}, true}, // exactly C: LANGUAGE is not read
		{[]string{"LANG=sv_SE.UTF-8", "LANGUAGE=sv:en"}, true},
	} {
		if got := LocaleParses(lookup(tc.env)); got != tc.want {
			t.Errorf("LocaleParses(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// Whatever the environment, one fix is enough: hearthd never executes
// itself again and again.
func TestFixedOnce(t *testing.T) {
	for _, env := range [][]string{
		nil, {"LANG=C.UTF-8"}, {"LC_ALL=C.UTF-8"}, {"LC_MESSAGES=C.UTF-8", "LANG=sv_SE.UTF-8", "FYNE_CACHE=1m"},
		{"LANGUAGE=C.UTF-8", "LANG=C.UTF-8"}, {"LANG=sv_SE.UTF-8", "FYNE_CACHE=5s"},
	} {
		once, _ := Fixed(env)
		if again, changed := Fixed(once); changed || !slices.Equal(again, once) {
			t.Errorf("Fixed(%v) = %v, and again %v: not settled", env, once, again)
		}
		if !LocaleParses(lookup(once)) {
			t.Errorf("Fixed(%v) = %v: Fyne still cannot parse the locale", env, once)
		}
	}
	if _, changed := Fixed([]string{"LANG=sv_SE.UTF-8", "FYNE_CACHE=5s", "MALLOC_MMAP_THRESHOLD_=131072"}); changed {
		t.Error("a fine environment was changed")
	}
}
