package ui

import (
	"image/color"
	"math"
)

// The palette. Every text colour is checked against what can be behind it
// in colors_test.go (WCAG contrast at least 7:1, worst case over any photo).
var (
	// textMain is a warm near-white for the clock, captions and messages.
	textMain = color.NRGBA{R: 0xFF, G: 0xFB, B: 0xF0, A: 0xFF}
	// textSoft is a pale gold for who sent something and when.
	textSoft = color.NRGBA{R: 0xF6, G: 0xDE, B: 0xAE, A: 0xFF}
	// textNight is the clock at night: readable, but not a lamp.
	textNight = color.NRGBA{R: 0xAC, G: 0xA8, B: 0xA0, A: 0xFF}

	// shade is laid over photos under text (the caption band, the clock
	// panel): dark enough that text keeps 7:1 even over a white photo.
	shade = color.NRGBA{R: 0x06, G: 0x08, B: 0x0C, A: 0xCC}
	// nightShade darkens the whole screen in ModeNightDim.
	nightShade = color.NRGBA{A: 0xDE}
	black      = color.NRGBA{A: 0xFF}

	// cards are the calm, deep backgrounds of message cards, picked per
	// message so a run of messages does not look like one.
	cards = [...]color.NRGBA{
		{R: 0x15, G: 0x29, B: 0x4A, A: 0xFF}, // deep blue
		{R: 0x16, G: 0x3A, B: 0x30, A: 0xFF}, // deep green
		{R: 0x3B, G: 0x21, B: 0x40, A: 0xFF}, // plum
	}
	// emptyBG is the background of the empty state.
	emptyBG = cards[0]

	// callBG is behind the call notices ("Anna is calling"): the calm
	// blue of the empty state, so a call does not startle.
	callBG = cards[0]
	// tileBG is a participant's tile until their first picture.
	tileBG = color.NRGBA{R: 0x22, G: 0x28, B: 0x33, A: 0xFF}
	// hangupRed is the hang-up button; its light ring (textMain) sets it
	// off from dark pictures and from callBG.
	hangupRed = color.NRGBA{R: 0xA3, G: 0x1C, B: 0x1C, A: 0xFF}
	// bannerBG and bannerText are the "call ends in 5 minutes" warning:
	// amber, unmistakable, not alarming.
	bannerBG   = color.NRGBA{R: 0xF6, G: 0xC4, B: 0x5A, A: 0xFF}
	bannerText = color.NRGBA{R: 0x1A, G: 0x14, B: 0x08, A: 0xFF}
)

// fillDarken scales the blurred letterbox fill so it stays in the
// background.
const fillDarken = 0.42

// luminance is the WCAG relative luminance of c (alpha ignored).
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG contrast ratio of two opaque colours (1 to 21).
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over composites fg over an opaque bg the way the renderers do (in sRGB).
func over(fg color.NRGBA, bg color.Color) color.NRGBA {
	b := color.NRGBAModel.Convert(bg).(color.NRGBA)
	a := float64(fg.A) / 255
	mix := func(f, g uint8) uint8 { return uint8(math.Round(float64(f)*a + float64(g)*(1-a))) }
	return color.NRGBA{R: mix(fg.R, b.R), G: mix(fg.G, b.G), B: mix(fg.B, b.B), A: 0xFF}
}

// withAlpha scales c's alpha by f (0 to 1).
func withAlpha(c color.NRGBA, f float32) color.NRGBA {
	c.A = uint8(math.Round(float64(c.A) * float64(min(max(f, 0), 1))))
	return c
}

// cardColour picks a card background for a slide id, stable across runs.
func cardColour(id string) color.NRGBA {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return cards[h%uint32(len(cards))]
}
