package photo

import "errors"

// Every refusal from Prepare and FitInline wraps exactly one of these, so a
// caller can tell with errors.Is why a photo was not shown, and the message
// around it says what was found (sizes, the decoder's complaint) for the log.
var (
	// ErrFormat: the bytes are not a JPEG, PNG or WebP file (judged by their
	// leading signature, not a file name), or they use a feature of the format
	// that the decoder does not support (12-bit JPEG, for example).
	ErrFormat = errors.New("not a supported photo format (JPEG, PNG, WebP)")

	// ErrDimensions: the header declares a zero size, a side longer than
	// Limits.MaxSide or more pixels than Limits.MaxPixels, or a picture that
	// its decoder would hold whole in more than Limits.MaxDecodedBytes (a
	// large WebP, interlaced PNG or progressive JPEG). Decoding such a file
	// would allocate memory in proportion to the declared size, which a few
	// hundred bytes can set to gigabytes (a decompression bomb), so it is
	// refused from the header alone, before any pixel is decoded.
	ErrDimensions = errors.New("dimensions refused")

	// ErrTooLarge: the file is longer than Limits.MaxBytes, or FitInline could
	// not bring the photo under its byte budget even at the lowest quality and
	// size it tries.
	ErrTooLarge = errors.New("too large")

	// ErrCorrupt: the header looked right but the file is truncated or its
	// data cannot be decoded.
	ErrCorrupt = errors.New("corrupt or truncated")
)
