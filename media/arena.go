package media

/*
#include <malloc.h>
*/
import "C"

// glibc gives each thread that mallocs its own arena; cgo calls into
// libvpx and libopus from many Go threads, and each call's encoder and
// decoder buffers land in a different arena. Over a hundred calls the
// process grew by ~0.7 MB a call that it never returned, though nothing
// leaked: with one arena RSS stayed flat (two still drifted on a busy
// machine). A device makes few large allocations per call, so one arena
// costs nothing that matters.
func init() { C.mallopt(C.M_ARENA_MAX, 1) }

// trim hands memory freed by a call's codecs back to the system.
func trim() { C.malloc_trim(0) }
