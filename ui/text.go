package ui

import (
	"strings"
	"unicode/utf8"
)

// canvas.Text draws one line and never wraps; these helpers break text into
// lines that fit a width, given a function that measures a line's width at
// the size and style it will be drawn with (fyne.MeasureText on screen).

const ellipsis = "…"

// wrap breaks text into lines no wider than width: at spaces, keeping the
// sender's line breaks (runs of blank lines become one), and inside words
// that are wider than a line on their own (long links, compounds).
func wrap(text string, width float32, measure func(string) float32) []string {
	var lines []string
	blank := true // drop leading blank lines and collapse runs of them
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			if !blank {
				lines = append(lines, "")
				blank = true
			}
			continue
		}
		blank = false
		line := ""
		for _, w := range words {
			if line != "" && measure(line+" "+w) <= width {
				line += " " + w
				continue
			}
			if line != "" {
				lines = append(lines, line)
			}
			line = w
			for measure(line) > width {
				head, tail := splitToFit(line, width, measure)
				lines = append(lines, head)
				line = tail
			}
		}
		lines = append(lines, line)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// splitToFit cuts the longest prefix of s (at least one rune) that fits.
func splitToFit(s string, width float32, measure func(string) float32) (head, tail string) {
	_, first := utf8.DecodeRuneInString(s)
	cut := first
	for i := range s {
		if i <= cut {
			continue
		}
		if measure(s[:i]) > width {
			break
		}
		cut = i
	}
	return s[:cut], s[cut:]
}

// clip keeps at most max lines; when it cuts, the last kept line ends in an
// ellipsis that still fits the width.
func clip(lines []string, max int, width float32, measure func(string) float32) []string {
	if len(lines) <= max {
		return lines
	}
	if max <= 0 {
		return nil
	}
	out := append([]string(nil), lines[:max]...)
	out[max-1] = withEllipsis(out[max-1], width, measure)
	return out
}

// fitLine returns s if it fits the width, else s shortened with an ellipsis.
func fitLine(s string, width float32, measure func(string) float32) string {
	if measure(s) <= width {
		return s
	}
	return withEllipsis(s, width, measure)
}

// withEllipsis shortens s (by words, or by runes within a single word)
// until s+"…" fits.
func withEllipsis(s string, width float32, measure func(string) float32) string {
	s = strings.TrimRight(s, " ")
	for s != "" {
		if c := strings.TrimRight(s, " .,;:!?-–—"); measure(c+ellipsis) <= width {
			return c + ellipsis
		}
		if i := strings.LastIndexByte(s, ' '); i > 0 {
			s = s[:i] // drop the last word
			continue
		}
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return ellipsis
}
