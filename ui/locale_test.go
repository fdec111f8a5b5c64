package ui

import (
	"errors"
	"testing"
	"time"
)

func TestLocaleDateLine(t *testing.T) {
	now := testNow(t) // Sunday 22 November 2026
	for _, tc := range []struct{ tag, want string }{
		{"en", "Sunday 22 November"},
		{"sv", "söndag 22 november"},
		{"fi", "sunnuntai 22. marraskuuta"},
		{"de", "Sonntag, 22. November"},
		{"", "Sunday 22 November"},
		{"SV", "söndag 22 november"},
	} {
		l, err := lookupLocale(tc.tag)
		if err != nil {
			t.Fatalf("lookupLocale(%q): %v", tc.tag, err)
		}
		if got := l.dateLine(now); got != tc.want {
			t.Errorf("dateLine(%q) = %q, want %q", tc.tag, got, tc.want)
		}
		if got := l.clock(now); got != "14:05" {
			t.Errorf("clock(%q) = %q, want 14:05", tc.tag, got)
		}
	}
}

// TestLocaleTables checks every weekday and month of every language
// against a spot list, so a shifted table shows.
func TestLocaleTables(t *testing.T) {
	loc := testNow(t).Location()
	for _, tc := range []struct {
		tag  string
		at   time.Time
		want string
	}{
		{"en", time.Date(2026, 1, 5, 9, 0, 0, 0, loc), "Monday 5 January"},
		{"sv", time.Date(2026, 3, 18, 9, 0, 0, 0, loc), "onsdag 18 mars"},
		{"fi", time.Date(2026, 7, 4, 9, 0, 0, 0, loc), "lauantai 4. heinäkuuta"},
		{"fi", time.Date(2026, 6, 30, 9, 0, 0, 0, loc), "tiistai 30. kesäkuuta"},
		{"de", time.Date(2026, 3, 6, 9, 0, 0, 0, loc), "Freitag, 6. März"},
		{"de", time.Date(2026, 12, 24, 9, 0, 0, 0, loc), "Donnerstag, 24. Dezember"},
	} {
		l, _ := lookupLocale(tc.tag)
		if got := l.dateLine(tc.at); got != tc.want {
			t.Errorf("%s dateLine(%s) = %q, want %q", tc.tag, tc.at.Format(time.DateOnly), got, tc.want)
		}
	}
	for _, tag := range []string{"en", "sv", "fi", "de"} {
		l, _ := lookupLocale(tag)
		for i, s := range append(l.weekdays[:], l.months[:]...) {
			if s == "" {
				t.Errorf("%s: name %d is empty", tag, i)
			}
		}
	}
}

func TestLocaleSent(t *testing.T) {
	now := testNow(t) // Sunday 22 November 2026 14:05
	loc := now.Location()
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	for _, tc := range []struct {
		tag  string
		sent time.Time
		want string
	}{
		{"en", at(2026, 11, 22, 11, 30), "Today 11:30"},
		{"en", at(2026, 11, 21, 23, 59), "Yesterday 23:59"},
		{"en", at(2026, 11, 19, 18, 40), "Thursday 18:40"},
		{"en", at(2026, 11, 15, 8, 0), "15 November 08:00"},
		{"en", at(2025, 12, 24, 8, 0), "24 December 2025 08:00"},
		{"en", at(2026, 11, 22, 14, 7), "Today 14:07"}, // sender's clock a little ahead
		{"sv", at(2026, 11, 22, 11, 30), "i dag 11:30"},
		{"sv", at(2026, 11, 19, 18, 40), "torsdag 18:40"},
		{"fi", at(2026, 11, 21, 9, 5), "eilen klo 09:05"},
		{"fi", at(2026, 11, 19, 18, 40), "torstaina klo 18:40"},
		{"fi", at(2026, 10, 2, 18, 40), "2. lokakuuta klo 18:40"},
		{"de", at(2026, 11, 22, 11, 30), "Heute, 11:30 Uhr"},
		{"de", at(2026, 11, 19, 18, 40), "Donnerstag, 18:40 Uhr"},
	} {
		l, _ := lookupLocale(tc.tag)
		if got := l.sent(tc.sent, now); got != tc.want {
			t.Errorf("%s sent(%s) = %q, want %q", tc.tag, tc.sent.Format(time.DateTime), got, tc.want)
		}
	}
}

func TestLocaleFrom(t *testing.T) {
	for tag, want := range map[string]string{
		"en": "From Anna", "sv": "Från Anna", "fi": "Terveisin Anna", "de": "Von Anna",
	} {
		l, _ := lookupLocale(tag)
		if got := l.from("Anna"); got != want {
			t.Errorf("%s from(Anna) = %q, want %q", tag, got, want)
		}
	}
}

func TestUnknownLocale(t *testing.T) {
	for _, tag := range []string{"fr", "en_US", "x"} {
		if _, err := New(Options{Locale: tag}); !errors.Is(err, ErrUnknownLocale) {
			t.Errorf("New(Locale %q) error = %v, want ErrUnknownLocale", tag, err)
		}
	}
}

// TestCalendarDaysAcrossDST: the night the clocks go back is still one day.
func TestCalendarDaysAcrossDST(t *testing.T) {
	loc := testNow(t).Location()
	a := time.Date(2026, 10, 24, 23, 30, 0, 0, loc)
	b := time.Date(2026, 10, 25, 0, 30, 0, 0, loc)
	if got := calendarDays(a, b); got != 1 {
		t.Errorf("calendarDays(%v, %v) = %d, want 1", a, b, got)
	}
}
