package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme is Fyne's default theme with a black background. The window's
// clear colour (the theme's background) is then the ground the screen
// needs under its translucent layers (the caption band, the clock's
// panel), so no full-screen rectangle is drawn for it: under software GL
// every full-screen layer costs a crossfade frame tens of milliseconds.
// Everything the screen draws has its own colours; only the background
// comes from the theme.
func Theme() fyne.Theme { return screenTheme{theme.DefaultTheme()} }

type screenTheme struct{ fyne.Theme }

func (t screenTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameBackground {
		return black
	}
	return t.Theme.Color(n, v)
}
