package ui

import "errors"

// ErrUnknownLocale is returned by New for a locale the screen cannot speak.
var ErrUnknownLocale = errors.New("unknown locale")
