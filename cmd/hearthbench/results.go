package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hearth-home/hearth/internal/atomicfile"
)

// Result is one row of results.json: a measurement of Hearth beside the
// alternative a user would pick instead (the anchor).
type Result struct {
	Name        string   `json:"name"`
	Value       float64  `json:"value"`
	Unit        string   `json:"unit"`
	Anchor      string   `json:"anchor"`
	AnchorValue float64  `json:"anchor_value"`
	Ratio       *float64 `json:"ratio"` // Value/AnchorValue; null when there is no anchor value

	// Goal is shown in the table only; results.json keeps the six fields above.
	Goal goal `json:"-"`
}

// goal is what the project aims for: Value at most Max (when Max > 0) and
// Ratio at most MaxRatio (when MaxRatio > 0). Reported, never asserted.
type goal struct {
	Max      float64
	MaxRatio float64
}

func (g goal) String() string {
	var parts []string
	if g.Max > 0 {
		parts = append(parts, "<= "+fmtNum(g.Max))
	}
	if g.MaxRatio > 0 {
		parts = append(parts, "ratio <= "+fmtNum(g.MaxRatio))
	}
	return strings.Join(parts, ", ")
}

// met says whether r meets its goal: "yes", "no", or "" when there is none.
func (g goal) met(r Result) string {
	if g.Max <= 0 && g.MaxRatio <= 0 {
		return ""
	}
	ok := true
	if g.Max > 0 && r.Value > g.Max {
		ok = false
	}
	if g.MaxRatio > 0 && (r.Ratio == nil || *r.Ratio > g.MaxRatio) {
		ok = false
	}
	if ok {
		return "yes"
	}
	return "no"
}

// newResult fills in the ratio. A missing, zero or non-finite anchor value
// (or value) leaves the ratio null rather than writing Inf or NaN, which JSON
// cannot carry.
func newResult(name string, value float64, unit, anchor string, anchorValue float64, g goal) Result {
	r := Result{Name: name, Value: round(value), Unit: unit, Anchor: anchor, AnchorValue: round(anchorValue), Goal: g}
	if !finite(value) {
		r.Value = 0
	}
	if !finite(anchorValue) {
		r.AnchorValue = 0
	}
	if finite(value) && finite(anchorValue) && anchorValue != 0 {
		q := round(value / anchorValue)
		r.Ratio = &q
	}
	return r
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// round keeps four significant digits: the measurements are not more
// precise than that, and the JSON stays readable.
func round(f float64) float64 {
	if f == 0 || !finite(f) {
		return f
	}
	mag := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(f))))
	return math.Round(f*mag) / mag
}

func fmtNum(f float64) string {
	switch {
	case f == 0:
		return "0"
	case math.Abs(f) >= 100 || f == math.Trunc(f):
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 10:
		return fmt.Sprintf("%.1f", f)
	case math.Abs(f) >= 1:
		return fmt.Sprintf("%.2f", f)
	default:
		return fmt.Sprintf("%.3g", f)
	}
}

// writeJSON writes the rows, indented, to path (making its directory),
// atomically so a reader never sees half a file.
func writeJSON(path string, rows []Result) error {
	if rows == nil {
		rows = []Result{}
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// writeTable prints the rows for people.
func writeTable(w io.Writer, rows []Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tvalue\tunit\tanchor\tanchor value\tratio\tgoal\tmet")
	for _, r := range rows {
		ratio := "-"
		if r.Ratio != nil {
			ratio = fmtNum(*r.Ratio)
		}
		av := "-"
		if r.Anchor != "" {
			av = fmtNum(r.AnchorValue)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, fmtNum(r.Value), r.Unit, r.Anchor, av, ratio,
			r.Goal.String(), r.Goal.met(r))
	}
	tw.Flush()
}
