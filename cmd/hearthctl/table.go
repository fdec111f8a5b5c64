package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// defaultWidth is the table width when the terminal's is unknown (output
// to a pipe or a file, no $COLUMNS).
const defaultWidth = 100

// termWidth is the width tables are fitted to: $COLUMNS, else the
// terminal's, else defaultWidth.
func termWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	if f, ok := w.(*os.File); ok {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n >= 40 {
			return n
		}
	}
	return defaultWidth
}

// column is one column of a fitted table. Min is how narrow it may be cut
// (0: never cut); columns are cut in the order of their Cut rank (lowest
// first) until the table fits: first down to Want (when larger than Min),
// then, if that is not enough, down to Min.
type column struct {
	Head      string
	Min, Want int
	Cut       int
}

// writeTable prints rows under cols, two spaces apart, each line at most
// width characters when the columns can be cut that far: cut cells end in
// "…". The last column is not padded.
func writeTable(w io.Writer, width int, cols []column, rows [][]string) error {
	n := len(cols)
	widths := make([]int, n)
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.Head)
	}
	for _, r := range rows {
		for i := range n {
			widths[i] = max(widths[i], utf8.RuneCountInString(oneLine(r[i])))
		}
	}
	total := 2 * (n - 1)
	for _, wd := range widths {
		total += wd
	}
	for pass := range 2 {
		for rank := 1; total > width && rank <= n; rank++ {
			for i, c := range cols {
				floor := c.Min
				if pass == 0 {
					floor = max(c.Min, c.Want)
				}
				if c.Cut != rank || c.Min == 0 || widths[i] <= floor {
					continue
				}
				cut := min(total-width, widths[i]-floor)
				widths[i] -= cut
				total -= cut
			}
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i := range n {
			cell := clip(cells[i], widths[i])
			if i == n-1 {
				b.WriteString(cell)
				break
			}
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
		}
		return strings.TrimRight(b.String(), " ")
	}
	heads := make([]string, n)
	for i, c := range cols {
		heads[i] = c.Head
	}
	if _, err := fmt.Fprintln(w, line(heads)); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintln(w, line(r)); err != nil {
			return err
		}
	}
	return nil
}

// oneLine puts s on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// wrap breaks s into lines of at most width characters at spaces (a word
// longer than a line is cut), each line after the first indented by
// indent spaces.
func wrap(s string, width, indent int) string {
	width = max(width, indent+10)
	var lines []string
	var cur []rune
	room := func() int {
		if len(lines) == 0 {
			return width
		}
		return width - indent
	}
	for _, word := range strings.Fields(oneLine(s)) {
		w := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(w) <= room() {
			cur = append(append(cur, ' '), w...)
			continue
		}
		if len(cur) > 0 {
			lines, cur = append(lines, string(cur)), nil
		}
		for len(w) > room() {
			k := room()
			lines, w = append(lines, string(w[:k])), w[k:]
		}
		cur = w
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return strings.Join(lines, "\n"+strings.Repeat(" ", indent))
}
