package main

import "testing"

func TestOffsetName(t *testing.T) {
	for _, c := range []struct {
		s    int
		want string
	}{{0, "UTC+0"}, {7200, "UTC+2"}, {-3 * 3600, "UTC-3"}, {-(3*3600 + 1800), "UTC-3:30"}, {5*3600 + 2700, "UTC+5:45"}, {19800, "UTC+5:30"}} {
		if got := offsetName(c.s); got != c.want {
			t.Errorf("offsetName(%d) = %q, want %q", c.s, got, c.want)
		}
	}
}
