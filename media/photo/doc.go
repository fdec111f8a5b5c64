// Package photo turns a photo that someone sent (untrusted bytes) into the
// copy that the screen shows: a JPEG, upright, no larger than the display.
//
// Why each step is here:
//
//   - Bombs. A photo's header declares its size and a decoder allocates for
//     it before reading a pixel: a 100000×100000 PNG of a few hundred bytes
//     would ask for 40 GB. The header is read first (image.DecodeConfig of
//     the format's decoder) and anything over Limits (pixels, side, bytes) is
//     refused with ErrDimensions or ErrTooLarge before any pixel is decoded.
//   - Orientation. Phones store pixels as the sensor saw them and put the
//     way up in the EXIF Orientation tag; Go's decoders ignore it. All eight
//     values are applied, read from JPEG (APP1), PNG (eXIf) and WebP (EXIF)
//     files, and the copy is written upright with no tag.
//   - The screen copy. A 24 MP photo is 96 MB as RGBA; the screen needs 2 MP.
//     The copy is scaled to fit inside the screen (aspect kept, never
//     upscaled; the UI letterboxes it) and re-encoded, which also drops the
//     original's metadata (GPS position, camera serial). Transparent pixels
//     come out black, the colour around the photo.
//
// Speed and memory (BenchmarkPrepare24MP, one core of the development
// machine): with cgo, JPEGs are decoded by libjpeg-turbo (Debian's
// libturbojpeg0-dev to build, libturbojpeg0 to run), scaled in the DCT domain
// to the smallest of 1/8..8/8 that still covers the screen, straight to YCbCr
// planes, and the copy is encoded by it too: 24 MP to 1920×1080 in about
// 115-135 ms with a 17 MB peak heap (25 MB peak RSS). Without cgo
// (CGO_ENABLED=0) Go's image/jpeg decodes every pixel at full size:
// 485-505 ms and a 50 MB peak heap (the 36 MB decoded image among it). Either way scaling is this
// package's streaming box + Catmull-Rom resampler (resample.go), which holds
// only a few rows beside its source. PNG and WebP always use Go's decoders.
//
// A progressive JPEG keeps all of its DCT coefficients while it decodes:
// about 72 MB of C memory in libjpeg-turbo (peak RSS 88 MB for 24 MP) or
// 184 MB of Go heap in image/jpeg. Callers should prepare one photo at a time.
package photo
