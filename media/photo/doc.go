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
//   - Memory. Inside the pixel limit a decoder that holds the whole picture
//     still costs too much: a 7000×7000 16-bit PNG (a 508 KB file) is 392 MB
//     in image/png. PNGs (not interlaced) are streamed row by row into the
//     scaler (png.go); whatever a decoder must hold whole (an interlaced PNG,
//     a WebP, a progressive JPEG's coefficients, a JPEG that libjpeg-turbo
//     cannot scale) is counted from the header and refused over
//     Limits.MaxDecodedBytes (32 MiB) with ErrDimensions (budget.go).
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
// only a few rows beside its source.
//
// What one Prepare adds to a process's peak RSS (a clean process, one core,
// the file already read, screen 1920×1080, 2026-12-07; cgo / CGO_ENABLED=0):
//
//	7000×7000 PNG, 8-bit RGBA noise (51 MB)   before 199 / 198 MiB, 1.79 / 1.84 s CPU
//	                                          now     12 / 11 MiB,  1.31 / 1.34 s
//	7000×7000 PNG, 16-bit RGBA gradients      before 385 / 385 MiB, 2.77 / 3.05 s
//	                                          now     11 / 11 MiB,  1.50 / 1.49 s
//	4000×3000 PNG, 8-bit RGB (14 MB)          before  65 / 65 MiB,  0.59 / 0.62 s
//	                                          now     19 / 19 MiB,  0.49 / 0.50 s
//	50 MP baseline JPEG (8660×5773, 11 MB)    8 MiB, 0.19 s / refused (72 MiB whole)
//	22 MP baseline JPEG (largest without cgo) 6 / 39 MiB
//	50 MP progressive JPEG                    was 148 / 365 MiB: refused now
//	11 MP progressive JPEG (largest, cgo)     37 MiB / refused (80 MiB)
//	20 MP lossy WebP (largest, 5300×3730)     38 / 38 MiB (33 MP was 60 MiB)
//	4.2 MP lossless WebP (largest)            24 / 23 MiB
//	4.2 MP interlaced RGBA PNG (largest)      38 / 37 MiB
//
// So no accepted photo adds more than about 40 MiB (the decoded budget plus
// some 8 MiB for the screen copy). The peak Go heap, the file aside, is
// within a few MiB of these figures, but for a progressive JPEG with cgo,
// whose coefficients are C memory. A streamed PNG is faster than image/png
// was (one pass, no full-size picture to convert). Measured with a small
// program that reads the file, collects, resets VmHWM, calls Prepare once
// and reads VmHWM (as hearthbench -prepare-child does). Callers should
// prepare one photo at a time.
package photo
