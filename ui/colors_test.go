package ui

import (
	"fmt"
	"image/color"
	"testing"
)

// TestContrast checks every text colour against everything that can be
// behind it; over photos the worst case is a white (or yellow) photo under
// the shade.
func TestContrast(t *testing.T) {
	white := color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	yellow := color.NRGBA{R: 0xFF, G: 0xF0, B: 0x40, A: 0xFF}
	type pair struct {
		name   string
		fg, bg color.Color
	}
	var pairs []pair
	for i, c := range cards {
		pairs = append(pairs,
			pair{fmt.Sprintf("text on card %d", i), textMain, c},
			pair{fmt.Sprintf("sender on card %d", i), textSoft, c})
	}
	for _, photo := range []color.NRGBA{white, yellow, black} {
		bg := over(shade, photo)
		pairs = append(pairs,
			pair{fmt.Sprintf("caption and clock over shaded %v", photo), textMain, bg},
			pair{fmt.Sprintf("sender over shaded %v", photo), textSoft, bg})
	}
	pairs = append(pairs,
		pair{"empty state", textMain, emptyBG},
		pair{"night clock on its panel", textNight, black})
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if got := contrast(p.fg, p.bg); got < 7 {
				t.Errorf("contrast(%v, %v) = %.2f, want >= 7", p.fg, p.bg, got)
			}
		})
	}
}

func TestContrastFormula(t *testing.T) {
	if got := contrast(color.White, color.Black); got < 20.99 || got > 21.01 {
		t.Errorf("contrast(white, black) = %.3f, want 21", got)
	}
	if got := contrast(textMain, textMain); got != 1 {
		t.Errorf("contrast(x, x) = %.3f, want 1", got)
	}
	// #767676 on white is the well-known 4.54:1.
	if got := contrast(color.NRGBA{R: 0x76, G: 0x76, B: 0x76, A: 0xFF}, color.White); got < 4.5 || got > 4.6 {
		t.Errorf("contrast(#767676, white) = %.3f, want 4.54", got)
	}
}

// TestNightDimDarkens checks that night-dim really darkens: a white photo
// under the night shade is darker than 15 % grey.
func TestNightDimDarkens(t *testing.T) {
	got := over(nightShade, color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF})
	if got.R > 0x26 {
		t.Errorf("white under the night shade = %v, want R <= 0x26", got)
	}
}
